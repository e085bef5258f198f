#include "tls/openssl_context.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdio>

#include "test_certs.hpp"

namespace postern::tls {
namespace {

using test::ssl_ptr;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;

const policy& named(const char* n) {
  const policy* p = profile(n);
  if (p == nullptr) throw std::runtime_error(n);
  return *p;
}

std::vector<std::string> offered_suites(SSL_CTX* ctx) {
  ssl_ptr ssl{SSL_new(ctx)};
  std::vector<std::string> out;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_get1_supported_ciphers(ssl.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i)
    out.emplace_back(SSL_CIPHER_standard_name(sk_SSL_CIPHER_value(ciphers, i)));
  sk_SSL_CIPHER_free(ciphers);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Context construction

class ContextPerProfile : public ::testing::TestWithParam<const char*> {};

TEST_P(ContextPerProfile, OffersExactlyThePolicysSuitesInOrder) {
  const policy& p = named(GetParam());
  std::string error;
  auto ctx = make_client_context(p, {}, error);
  ASSERT_NE(ctx, nullptr) << error;
  EXPECT_THAT(error, IsEmpty());
  std::vector<std::string> expected = p.tls13_suites;
  expected.insert(expected.end(), p.tls12_suites.begin(), p.tls12_suites.end());
  EXPECT_EQ(offered_suites(ctx.get()), expected);
}

TEST_P(ContextPerProfile, VersionRangeAndVerification) {
  const policy& p = named(GetParam());
  std::string error;
  auto ctx = make_client_context(p, {}, error);
  ASSERT_NE(ctx, nullptr) << error;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()),
            p.min_version == version::tls1_0 ? TLS1_VERSION : TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx.get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER);
  EXPECT_NE(SSL_CTX_get_options(ctx.get()) & SSL_OP_NO_COMPRESSION, 0u);
  EXPECT_NE(SSL_CTX_get_options(ctx.get()) & SSL_OP_NO_RENEGOTIATION, 0u);

  auto insecure = make_client_context(p, {.insecure = true}, error);
  ASSERT_NE(insecure, nullptr) << error;
  EXPECT_EQ(SSL_CTX_get_verify_mode(insecure.get()), SSL_VERIFY_NONE);
}

INSTANTIATE_TEST_SUITE_P(Profiles, ContextPerProfile, ::testing::Values("strict", "compat", "legacy"));

TEST(Context, SecurityLevels) {
  std::string error;
  EXPECT_EQ(SSL_CTX_get_security_level(make_client_context(named("strict"), {}, error).get()), 2);
  // SHA-1 handshake signatures (compat) and TLS < 1.2 (legacy) need level 0 in OpenSSL 3; the
  // policy's own floors are enforced by postern's security callback instead.
  EXPECT_EQ(SSL_CTX_get_security_level(make_client_context(named("compat"), {}, error).get()), 0);
  EXPECT_EQ(SSL_CTX_get_security_level(make_client_context(named("legacy"), {}, error).get()), 0);
}

TEST(Context, StrictHasNoRsaKxNoCbcNoDhe) {
  std::string error;
  auto ctx = make_client_context(named("strict"), {}, error);
  ASSERT_NE(ctx, nullptr) << error;
  for (const auto& s : offered_suites(ctx.get())) {
    EXPECT_THAT(s, Not(HasSubstr("TLS_RSA_"))) << s;
    EXPECT_THAT(s, Not(HasSubstr("_DHE_"))) << s;
    EXPECT_THAT(s, Not(HasSubstr("CBC"))) << s;
  }
}

TEST(Context, CompatOffersRsaKeyExchange) {
  std::string error;
  auto ctx = make_client_context(named("compat"), {}, error);
  ASSERT_NE(ctx, nullptr) << error;
  const auto suites = offered_suites(ctx.get());
  EXPECT_NE(std::find(suites.begin(), suites.end(), "TLS_RSA_WITH_AES_128_GCM_SHA256"), suites.end());
}

TEST(Context, UnknownNamesAreSkippedButNoneLeftIsAnError) {
  policy p = named("strict");
  p.tls12_suites.insert(p.tls12_suites.begin(), "TLS_MADE_UP_WITH_ROT13_SHA1");
  p.groups.push_back("made-up-group");
  p.signature_schemes.push_back("made_up_sha0");
  std::string error;
  auto ctx = make_client_context(p, {}, error);
  ASSERT_NE(ctx, nullptr) << error;
  EXPECT_EQ(offered_suites(ctx.get()).size(), 9u);

  p.tls12_suites = {"TLS_MADE_UP_WITH_ROT13_SHA1"};
  EXPECT_EQ(make_client_context(p, {}, error), nullptr);
  EXPECT_THAT(error, HasSubstr("no TLS 1.2 cipher suite"));

  p = named("strict");
  p.groups = {"made-up-group"};
  EXPECT_EQ(make_client_context(p, {}, error), nullptr);
  EXPECT_THAT(error, HasSubstr("no key-exchange group"));

  p = named("strict");
  p.signature_schemes = {};
  EXPECT_EQ(make_client_context(p, {}, error), nullptr);
  EXPECT_THAT(error, HasSubstr("no signature scheme"));
}

TEST(Context, Tls13OnlyPolicyNeedsNoTls12Suites) {
  policy p = named("strict");
  p.min_version = version::tls1_3;
  p.tls12_suites.clear();
  std::string error;
  auto ctx = make_client_context(p, {}, error);
  ASSERT_NE(ctx, nullptr) << error;
  EXPECT_EQ(offered_suites(ctx.get()), p.tls13_suites);
}

TEST(Context, MissingCaFileIsAnError) {
  std::string error;
  EXPECT_EQ(make_client_context(named("strict"), {.ca_file = "/nonexistent/roots.pem"}, error), nullptr);
  EXPECT_THAT(error, HasSubstr("/nonexistent/roots.pem"));
}

// ---------------------------------------------------------------------------------------------
// In-process handshakes over a memory BIO pair

constexpr const char* host = "mail.example.test";

class Handshake : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::pki; }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override {
    ERR_clear_error();
    roots_ = pki_->root_file();
  }
  void TearDown() override {
    std::remove(roots_.c_str());
    SSL_CTX_free(server_ctx_);
  }

  /** Server with @p leaf (key: the pki's leaf key) and, if asked, the intermediate. */
  SSL_CTX* server(X509* leaf, bool send_intermediate = true, EVP_PKEY* key = nullptr) {
    SSL_CTX_free(server_ctx_);
    std::vector<X509*> chain;
    if (send_intermediate) chain.push_back(pki_->inter.get());
    server_ctx_ = test::make_server_ctx(leaf, key != nullptr ? key : pki_->leaf_key.get(), chain);
    return server_ctx_;
  }

  /** Runs a handshake; the client uses @p profile_name, trusts the pki's root, checks @p name. */
  test::handshake_result connect(const char* profile_name, const std::string& name = host) {
    std::string error;
    client_ctx_ = make_client_context(named(profile_name), {.ca_file = roots_}, error);
    EXPECT_NE(client_ctx_, nullptr) << error;
    client_.reset(SSL_new(client_ctx_.get()));
    server_ssl_.reset(SSL_new(server_ctx_));
    EXPECT_TRUE(prepare_connection(client_.get(), name, false, error)) << error;
    return test::run_handshake(client_.get(), server_ssl_.get());
  }

  handshake_failure failure(const test::handshake_result& r) {
    return classify_handshake_failure(client_.get(), r.client_eof);
  }

  static test::pki* pki_;
  std::string roots_;
  SSL_CTX* server_ctx_ = nullptr;
  ssl_ctx_ptr client_ctx_;
  ssl_ptr client_, server_ssl_;
};
test::pki* Handshake::pki_ = nullptr;

TEST_F(Handshake, HealthyStrictGetsTls13WithX25519) {
  auto leaf = pki_->leaf({host});
  server(leaf.get());
  const auto r = connect("strict");
  ASSERT_TRUE(r.client_ok) << failure(r).detail;
  ASSERT_TRUE(r.server_ok);
  const auto info = describe_handshake(client_.get());
  EXPECT_EQ(info.version, "TLSv1.3");
  EXPECT_EQ(info.cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(info.group, "x25519");
  EXPECT_EQ(info.kx, "");
  EXPECT_EQ(info.peer_subject, "CN=mail.example.test,O=postern tests");
  EXPECT_EQ(info.peer_issuer, "CN=postern test intermediate,O=postern tests");
  EXPECT_THAT(info.peer_not_after, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"));
  EXPECT_THAT(info.peer_key_sha256, MatchesRegex("[0-9a-f]{64}"));
}

TEST_F(Handshake, SpkiHashIsOfTheWholeSubjectPublicKeyInfo) {
  auto leaf = pki_->leaf({host});
  server(leaf.get());
  ASSERT_TRUE(connect("strict").client_ok);
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pki_->leaf_key.get(), &der);
  unsigned char md[32];
  unsigned int md_len = 0;
  ASSERT_EQ(EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  char hex[65];
  for (unsigned i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
  EXPECT_EQ(describe_handshake(client_.get()).peer_key_sha256, std::string(hex));
}

TEST_F(Handshake, Tls12EcdheUnderStrict) {
  auto leaf = pki_->leaf({host});
  SSL_CTX* s = server(leaf.get());
  SSL_CTX_set_max_proto_version(s, TLS1_2_VERSION);
  SSL_CTX_set1_groups_list(s, "P-256");
  const auto r = connect("strict");
  ASSERT_TRUE(r.client_ok) << failure(r).detail;
  const auto info = describe_handshake(client_.get());
  EXPECT_EQ(info.version, "TLSv1.2");
  EXPECT_EQ(info.cipher, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(info.kx, "ECDHE");
  EXPECT_EQ(info.group, "secp256r1");
}

// (a) the cloud relay case: TLS 1.2, RSA key exchange only.
TEST_F(Handshake, RsaKxOnlyServerFailsStrictWithHandshakeFailureAlert) {
  auto leaf = pki_->leaf({host});
  SSL_CTX* s = server(leaf.get());
  SSL_CTX_set_max_proto_version(s, TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(s, "AES128-GCM-SHA256"), 1);
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.handshake-failed");
  EXPECT_THAT(f.summary, HasSubstr("handshake failure"));
  EXPECT_THAT(f.detail, HasSubstr("alert received: handshake failure (40)"));
  EXPECT_EQ(ERR_peek_error(), 0u) << "classify must clear the error queue";
}

TEST_F(Handshake, RsaKxOnlyServerWorksUnderCompat) {
  auto leaf = pki_->leaf({host});
  SSL_CTX* s = server(leaf.get());
  SSL_CTX_set_max_proto_version(s, TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(s, "AES128-GCM-SHA256"), 1);
  const auto r = connect("compat");
  ASSERT_TRUE(r.client_ok) << failure(r).detail;
  const auto info = describe_handshake(client_.get());
  EXPECT_EQ(info.version, "TLSv1.2");
  EXPECT_EQ(info.kx, "RSA");
  EXPECT_EQ(info.cipher, "TLS_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(info.group, "");
}

TEST_F(Handshake, DheServerWorksUnderCompatWithFfdhe) {
  auto leaf = pki_->leaf({host});
  SSL_CTX* s = server(leaf.get());
  SSL_CTX_set_max_proto_version(s, TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(s, "DHE-RSA-AES128-GCM-SHA256"), 1);
  SSL_CTX_set_dh_auto(s, 1);
  EXPECT_FALSE(connect("strict").client_ok);
  const auto r = connect("compat");
  ASSERT_TRUE(r.client_ok) << failure(r).detail;
  const auto info = describe_handshake(client_.get());
  EXPECT_EQ(info.kx, "DHE");
  EXPECT_EQ(info.cipher, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_THAT(info.group, AllOf(Not(IsEmpty()), Not(HasSubstr("1536"))));
}

TEST_F(Handshake, SmallDhIsRefusedByCompatAcceptedByLegacy) {
  auto leaf = pki_->leaf({host});
  SSL_CTX* s = server(leaf.get());
  SSL_CTX_set_max_proto_version(s, TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(s, "DHE-RSA-AES128-GCM-SHA256"), 1);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
  ASSERT_NE(pctx, nullptr);
  EVP_PKEY* dh = nullptr;
  ASSERT_EQ(EVP_PKEY_paramgen_init(pctx), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_group_name(pctx, "modp_1536"), 1);
  ASSERT_EQ(EVP_PKEY_paramgen(pctx, &dh), 1);
  EVP_PKEY_CTX_free(pctx);
  ASSERT_EQ(SSL_CTX_set0_tmp_dh_pkey(s, dh), 1);

  auto r = connect("compat");
  ASSERT_FALSE(r.client_ok);
  auto f = failure(r);
  EXPECT_EQ(f.code, "tls.handshake-failed");
  EXPECT_THAT(f.detail, HasSubstr("dh key too small"));

  r = connect("legacy");
  ASSERT_TRUE(r.client_ok) << failure(r).detail;
  EXPECT_EQ(describe_handshake(client_.get()).group, "dh1536");
}

TEST_F(Handshake, Tls10ServerNeedsLegacy) {
  auto leaf = pki_->leaf({host});
  SSL_CTX* s = server(leaf.get());
  SSL_CTX_set_max_proto_version(s, TLS1_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(s, "ECDHE-RSA-AES128-SHA"), 1);
  auto r = connect("compat");
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(failure(r).code, "tls.handshake-failed");
  r = connect("legacy");
  ASSERT_TRUE(r.client_ok) << failure(r).detail;
  const auto info = describe_handshake(client_.get());
  EXPECT_EQ(info.version, "TLSv1.0");
  EXPECT_EQ(info.cipher, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
}

TEST_F(Handshake, Sha1OnlySignaturesNeedCompat) {
  auto leaf = pki_->leaf({host});
  SSL_CTX* s = server(leaf.get());
  SSL_CTX_set_max_proto_version(s, TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(s, "ECDHE-RSA-AES128-GCM-SHA256"), 1);
  ASSERT_EQ(SSL_CTX_set1_sigalgs_list(s, "RSA+SHA1"), 1);
  auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(failure(r).code, "tls.handshake-failed");
  r = connect("compat");
  EXPECT_TRUE(r.client_ok) << failure(r).detail;
}

// (b)
TEST_F(Handshake, ExpiredCertificate) {
  auto leaf = pki_->leaf({host}, true, -3600, -86400 * 10);
  server(leaf.get());
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.cert.expired");
  char year[8];
  const time_t now = time(nullptr) - 3600;
  std::strftime(year, sizeof year, "%Y-", gmtime(&now));
  EXPECT_THAT(f.summary, AllOf(HasSubstr("expired on "), HasSubstr(year)));
  EXPECT_THAT(f.detail, HasSubstr("certificate has expired"));
}

TEST_F(Handshake, NotYetValidCertificate) {
  auto leaf = pki_->leaf({host}, true, 86400 * 30, 86400);
  server(leaf.get());
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(failure(r).code, "tls.cert.not-yet-valid");
}

// (c)
TEST_F(Handshake, HostnameMismatchNamesTheCertificatesNames) {
  auto leaf = pki_->leaf({"smtp.other.test", "alt.other.test"});
  server(leaf.get());
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.cert.hostname-mismatch");
  EXPECT_THAT(f.summary,
              AllOf(HasSubstr("\"mail.example.test\""), HasSubstr("smtp.other.test, alt.other.test")));
}

TEST_F(Handshake, IpLiteralIsCheckedAgainstIpSans) {
  test::cert_spec spec{.common_name = "mail", .ip_names = {"192.0.2.7"}};
  auto leaf = test::make_cert(spec, pki_->leaf_key.get(), pki_->inter.get(), pki_->inter_key.get());
  server(leaf.get());
  auto r = connect("strict", "192.0.2.7");
  ASSERT_TRUE(r.client_ok) << failure(r).detail;
  EXPECT_EQ(SSL_get_servername(client_.get(), TLSEXT_NAMETYPE_host_name), nullptr)
      << "no SNI for IP literals";
  r = connect("strict", "192.0.2.8");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.cert.hostname-mismatch");
  EXPECT_THAT(f.summary, AllOf(HasSubstr("192.0.2.8"), HasSubstr("valid for: 192.0.2.7")));
}

// (d)
TEST_F(Handshake, SelfSignedLeaf) {
  auto key = test::make_rsa_key();
  auto leaf = test::make_cert({.common_name = host, .dns_names = {host}}, key.get(), nullptr, nullptr);
  server(leaf.get(), false, key.get());
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(failure(r).code, "tls.cert.self-signed");
}

// (e)
TEST_F(Handshake, MissingIntermediate) {
  auto leaf = pki_->leaf({host});
  server(leaf.get(), /*send_intermediate=*/false);
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.cert.incomplete-chain");
  EXPECT_THAT(f.summary, HasSubstr("CN=postern test intermediate"));
}

// The same without an issuer URL (AIA): a lone leaf that is not self-signed is still an
// incomplete chain.
TEST_F(Handshake, MissingIntermediateWithoutAiaIsIncompleteChain) {
  auto leaf = test::make_cert({.common_name = host, .dns_names = {host}}, pki_->leaf_key.get(),
                              pki_->inter.get(), pki_->inter_key.get());
  server(leaf.get(), /*send_intermediate=*/false);
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.cert.incomplete-chain");
  EXPECT_THAT(f.summary, AllOf(HasSubstr("CN=postern test intermediate"), HasSubstr("lacks the intermediate"),
                               HasSubstr("private CA")));
}

// A leaf straight from a private root that the client was not given, sent alone. The rule changed:
// this was tls.cert.untrusted (no AIA URL); a lone leaf is now tls.cert.incomplete-chain, whose
// summary names the private CA as the other possibility.
TEST_F(Handshake, LeafFromUnknownPrivateRootAloneIsIncompleteChain) {
  test::pki other;
  auto leaf = other.leaf({host}, /*by_intermediate=*/false);
  server(leaf.get(), /*send_intermediate=*/false, other.leaf_key.get());
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.cert.incomplete-chain");
  EXPECT_THAT(f.summary, AllOf(HasSubstr("private CA"), HasSubstr("--ca-file")));
}

TEST_F(Handshake, UnknownRootIsUntrusted) {
  test::pki other;
  auto leaf = other.leaf({host});
  SSL_CTX_free(server_ctx_);
  server_ctx_ = test::make_server_ctx(leaf.get(), other.leaf_key.get(), {other.inter.get()});
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.cert.untrusted");
  EXPECT_THAT(f.summary, HasSubstr("postern test root"));
}

TEST_F(Handshake, SmallRsaKeyIsRefusedInEveryProfile) {
  auto small = test::make_rsa_key(1024);
  auto leaf = test::make_cert({.common_name = host, .dns_names = {host}}, small.get(), pki_->inter.get(),
                              pki_->inter_key.get());
  server(leaf.get(), true, small.get());
  for (const char* p : {"strict", "compat", "legacy"}) {
    const auto r = connect(p);
    ASSERT_FALSE(r.client_ok) << p;
    const auto f = failure(r);
    EXPECT_EQ(f.code, "tls.cert.untrusted") << p;
    EXPECT_THAT(f.summary, HasSubstr("too small")) << p;
  }
}

TEST_F(Handshake, InsecureSkipsChainAndName) {
  auto key = test::make_rsa_key();
  auto leaf = test::make_cert({.common_name = "whatever"}, key.get(), nullptr, nullptr);
  server(leaf.get(), false, key.get());
  std::string error;
  client_ctx_ = make_client_context(named("strict"), {.insecure = true}, error);
  ASSERT_NE(client_ctx_, nullptr) << error;
  client_.reset(SSL_new(client_ctx_.get()));
  server_ssl_.reset(SSL_new(server_ctx_));
  ASSERT_TRUE(prepare_connection(client_.get(), host, true, error)) << error;
  EXPECT_STREQ(SSL_get_servername(client_.get(), TLSEXT_NAMETYPE_host_name), host);
  EXPECT_TRUE(test::run_handshake(client_.get(), server_ssl_.get()).client_ok);
}

TEST_F(Handshake, ClientCertificateRequired) {
  auto leaf = pki_->leaf({host});
  SSL_CTX* s = server(leaf.get());
  SSL_CTX_set_max_proto_version(s, TLS1_2_VERSION);
  SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  const auto r = connect("strict");
  ASSERT_FALSE(r.client_ok);
  EXPECT_EQ(failure(r).code, "tls.client-cert-required");
}

TEST_F(Handshake, PlainTextGreetingMeansTlsOnPlaintextPort) {
  std::string error;
  client_ctx_ = make_client_context(named("strict"), {.ca_file = roots_}, error);
  client_.reset(SSL_new(client_ctx_.get()));
  ASSERT_TRUE(prepare_connection(client_.get(), host, false, error));
  const auto r = test::run_against_bytes(client_.get(), "220 mail.example.test ESMTP ready\r\n");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "mode.tls-on-plaintext-port");
  EXPECT_EQ(f.summary, "the server answered in plain text, not TLS: the port expects STARTTLS or plain SMTP");
  EXPECT_THAT(f.detail, HasSubstr("wrong version number"));
}

TEST_F(Handshake, ServerClosingWithoutAlert) {
  std::string error;
  client_ctx_ = make_client_context(named("strict"), {.ca_file = roots_}, error);
  client_.reset(SSL_new(client_ctx_.get()));
  ASSERT_TRUE(prepare_connection(client_.get(), host, false, error));
  const auto r = test::run_against_bytes(client_.get(), "");
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.handshake-failed");
  EXPECT_THAT(f.summary, HasSubstr("closed the connection during the TLS handshake"));
}

// ---------------------------------------------------------------------------------------------
// Client certificates

std::string write_key(EVP_PKEY* key) {
  const std::string path = test::write_pem({});
  FILE* f = std::fopen(path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  return path;
}

std::string append(const std::string& a, const std::string& b) {
  const std::string path = test::write_pem({});
  FILE* out = std::fopen(path.c_str(), "w");
  for (const auto& in_path : {a, b}) {
    FILE* in = std::fopen(in_path.c_str(), "r");
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, in)) > 0;) std::fwrite(buf, 1, n, out);
    std::fclose(in);
  }
  std::fclose(out);
  return path;
}

TEST(ClassifyClientCertificate, Rules) {
  // TLS 1.3: certificate_required after the handshake, no certificate given.
  auto f = classify_client_certificate({.request_seen = true, .alert = TLS13_AD_CERTIFICATE_REQUIRED});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "tls.client-cert-required");
  EXPECT_THAT(f->summary, AllOf(HasSubstr("requires a client certificate"), HasSubstr("--client-cert")));
  // 116 is unambiguous even if the CertificateRequest was not seen.
  EXPECT_TRUE(classify_client_certificate({.alert = TLS13_AD_CERTIFICATE_REQUIRED}));
  // TLS 1.2: handshake_failure after a CertificateRequest answered with nothing.
  EXPECT_TRUE(classify_client_certificate({.request_seen = true, .alert = SSL_AD_HANDSHAKE_FAILURE}));
  // ...or a close without an alert (asyncio servers).
  EXPECT_TRUE(classify_client_certificate({.request_seen = true, .closed = true}));
  // Without a CertificateRequest these say nothing about client certificates.
  EXPECT_FALSE(classify_client_certificate({.alert = SSL_AD_HANDSHAKE_FAILURE}));
  EXPECT_FALSE(classify_client_certificate({.closed = true}));
  EXPECT_FALSE(classify_client_certificate({.request_seen = true, .alert = SSL_AD_PROTOCOL_VERSION}));
  EXPECT_FALSE(classify_client_certificate({.request_seen = true, .alert = 0}));  // close_notify
  // A certificate was sent and refused: say so, naming the file.
  for (int a : {SSL_AD_BAD_CERTIFICATE, SSL_AD_CERTIFICATE_UNKNOWN, SSL_AD_UNKNOWN_CA, SSL_AD_ACCESS_DENIED,
                TLS13_AD_CERTIFICATE_REQUIRED}) {
    auto g = classify_client_certificate({true, true, a, false, "/etc/me.pem"});
    ASSERT_TRUE(g) << a;
    EXPECT_EQ(g->code, "tls.client-cert-required");
    EXPECT_THAT(g->summary,
                AllOf(HasSubstr("refused the given client certificate"), HasSubstr("/etc/me.pem")));
  }
  // With a certificate sent, handshake_failure may be about anything else.
  EXPECT_FALSE(classify_client_certificate({true, true, SSL_AD_HANDSHAKE_FAILURE, false, "me.pem"}));
  // A bare close right after sending it (asyncio servers send no alert) is most likely the refusal.
  auto bare = classify_client_certificate({true, true, -1, true, "me.pem"});
  ASSERT_TRUE(bare);
  EXPECT_THAT(bare->summary,
              AllOf(HasSubstr("refused the given client certificate"), HasSubstr("most likely")));
}

class ClientCertificate : public Handshake {
 protected:
  void SetUp() override {
    Handshake::SetUp();
    client_key_ = test::make_rsa_key();
    cert_ = test::make_cert({.common_name = "client.example.test", .extended_key_usage = "clientAuth"},
                            client_key_.get(), pki_->root.get(), pki_->root_key.get());
    cert_file_ = test::write_pem({cert_.get()});
    key_file_ = write_key(client_key_.get());
  }
  void TearDown() override {
    std::remove(cert_file_.c_str());
    std::remove(key_file_.c_str());
    Handshake::TearDown();
  }
  /** A server that requires a client certificate issued by the pki's root. */
  SSL_CTX* demanding_server(int max_version) {
    auto leaf = pki_->leaf({host});
    SSL_CTX* s = server(leaf.get());
    SSL_CTX_set_max_proto_version(s, max_version);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(s), pki_->root.get());
    return s;
  }
  test::handshake_result connect_with(const client_identity& id) {
    std::string error;
    client_ctx_ = make_client_context(named("strict"), {.ca_file = roots_}, error, id);
    EXPECT_NE(client_ctx_, nullptr) << error;
    client_.reset(SSL_new(client_ctx_.get()));
    server_ssl_.reset(SSL_new(server_ctx_));
    EXPECT_TRUE(prepare_connection(client_.get(), host, false, error)) << error;
    return test::run_handshake(client_.get(), server_ssl_.get());
  }
  /** TLS 1.3: the client's first read gets the server's verdict on its certificate. */
  std::optional<handshake_failure> first_read() {
    char buf[64];
    EXPECT_LE(SSL_read(client_.get(), buf, sizeof buf), 0);
    return classify_after_handshake(client_.get(), true);
  }
  test::pkey_ptr client_key_;
  test::x509_ptr cert_;
  std::string cert_file_, key_file_;
};

TEST_F(ClientCertificate, Tls13RequiredShowsOnTheFirstReadAfterTheHandshake) {
  demanding_server(TLS1_3_VERSION);
  const auto r = connect_with({});
  ASSERT_TRUE(r.client_ok);  // TLS 1.3: the client's side of the handshake is done
  EXPECT_TRUE(certificate_requested(client_.get()));
  const auto f = first_read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "tls.client-cert-required");
  EXPECT_EQ(f->alert_received, TLS13_AD_CERTIFICATE_REQUIRED);
  EXPECT_THAT(f->summary, HasSubstr("--client-cert"));
}

TEST_F(ClientCertificate, Tls13CertificateFromAnotherCaIsRefused) {
  demanding_server(TLS1_3_VERSION);
  test::pki other;
  auto foreign = test::make_cert({.common_name = "stranger", .extended_key_usage = "clientAuth"},
                                 client_key_.get(), other.root.get(), other.root_key.get());
  const std::string foreign_file = test::write_pem({foreign.get()});
  const auto r = connect_with({foreign_file, key_file_});
  ASSERT_TRUE(r.client_ok);
  const auto f = first_read();
  std::remove(foreign_file.c_str());
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "tls.client-cert-required");
  EXPECT_THAT(f->summary, AllOf(HasSubstr("refused the given client certificate"), HasSubstr(foreign_file)));
}

TEST_F(ClientCertificate, Tls12CertificateFromAnotherCaIsRefusedInTheHandshake) {
  demanding_server(TLS1_2_VERSION);
  test::pki other;
  auto foreign = test::make_cert({.common_name = "stranger", .extended_key_usage = "clientAuth"},
                                 client_key_.get(), other.root.get(), other.root_key.get());
  const std::string foreign_file = test::write_pem({foreign.get()});
  const auto r = connect_with({foreign_file, key_file_});
  std::remove(foreign_file.c_str());
  ASSERT_FALSE(r.client_ok);
  const auto f = failure(r);
  EXPECT_EQ(f.code, "tls.client-cert-required");
  EXPECT_THAT(f.summary, HasSubstr("refused the given client certificate"));
}

TEST_F(ClientCertificate, AcceptedCertificateConnects) {
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    demanding_server(v);
    const auto r = connect_with({cert_file_, key_file_});
    ASSERT_TRUE(r.client_ok) << v << ": " << failure(r).summary << " / " << failure(r).detail;
    EXPECT_TRUE(r.server_ok) << v;
    EXPECT_TRUE(certificate_requested(client_.get())) << v;
    // Data flows: the server accepted the certificate (TLS 1.3 would refuse it on this read).
    ASSERT_EQ(SSL_write(server_ssl_.get(), "220 ok\r\n", 8), 8) << v;
    char buf[16];
    EXPECT_EQ(SSL_read(client_.get(), buf, sizeof buf), 8) << v;
  }
}

TEST_F(ClientCertificate, KeyMayBeInTheCertificateFile) {
  const std::string both = append(cert_file_, key_file_);
  EXPECT_FALSE(check_client_identity({both, ""}));
  demanding_server(TLS1_2_VERSION);
  EXPECT_TRUE(connect_with({both, ""}).client_ok);
  std::remove(both.c_str());
}

TEST_F(ClientCertificate, ProblemsAreFoundBeforeConnecting) {
  EXPECT_FALSE(check_client_identity({}));
  EXPECT_FALSE(check_client_identity({cert_file_, key_file_}));

  auto p = check_client_identity({"/nonexistent/me.pem", key_file_});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, identity_error::unreadable);
  EXPECT_EQ(p->file, "/nonexistent/me.pem");
  EXPECT_THAT(p->summary, HasSubstr("/nonexistent/me.pem"));

  p = check_client_identity({"", key_file_});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, identity_error::key_without_cert);

  p = check_client_identity({key_file_, key_file_});  // a key where the certificate should be
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, identity_error::bad_certificate);
  EXPECT_THAT(p->summary, HasSubstr(key_file_));

  p = check_client_identity({cert_file_, cert_file_});  // no key in there
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, identity_error::bad_key);

  p = check_client_identity({cert_file_, ""});  // key "in the certificate file", but it is not
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, identity_error::bad_key);
  EXPECT_THAT(p->summary, HasSubstr("--client-key"));

  auto other_key = test::make_rsa_key();
  const std::string other_key_file = write_key(other_key.get());
  p = check_client_identity({cert_file_, other_key_file});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, identity_error::key_mismatch);
  EXPECT_THAT(p->summary, AllOf(HasSubstr(other_key_file), HasSubstr(cert_file_)));
  // make_client_context refuses the same, with the same words.
  std::string error;
  EXPECT_EQ(make_client_context(named("strict"), {}, error, {cert_file_, other_key_file}), nullptr);
  EXPECT_EQ(error, p->summary);
  std::remove(other_key_file.c_str());
}

}  // namespace
}  // namespace postern::tls
