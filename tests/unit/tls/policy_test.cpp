#include "postern/tls/policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace postern::tls {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Profiles, NamesStrongestFirst) {
  EXPECT_THAT(profile_names(), ElementsAre("strict", "compat", "legacy"));
  for (const auto& n : profile_names()) {
    ASSERT_NE(profile(n), nullptr) << n;
    EXPECT_EQ(profile(n)->name, n);
  }
  EXPECT_EQ(profile("paranoid"), nullptr);
  EXPECT_EQ(profile(""), nullptr);
}

TEST(Profiles, StrictMirrorsRustlsDefaults) {
  const policy* p = profile("strict");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->min_version, version::tls1_2);
  EXPECT_EQ(p->max_version, version::tls1_3);
  EXPECT_THAT(p->tls13_suites, ElementsAre("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                           "TLS_CHACHA20_POLY1305_SHA256"));
  EXPECT_THAT(
      p->tls12_suites,
      ElementsAre("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"));
  EXPECT_THAT(p->groups, ElementsAre("x25519", "secp256r1", "secp384r1"));
  EXPECT_THAT(p->signature_schemes,
              ElementsAre("ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "ed25519",
                          "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512",
                          "rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512"));
  EXPECT_EQ(p->min_dh_bits, 2048);
  EXPECT_EQ(p->min_rsa_bits, 2048);
  EXPECT_EQ(p->security_note, "");
}

TEST(Profiles, CompatAddsDheRsaKxCbcAndSha1) {
  const policy* strict = profile("strict");
  const policy* p = profile("compat");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->min_version, version::tls1_2);
  EXPECT_EQ(p->max_version, version::tls1_3);
  EXPECT_EQ(p->tls13_suites, strict->tls13_suites);
  // Everything strict offers comes first, in strict's order.
  ASSERT_GE(p->tls12_suites.size(), strict->tls12_suites.size());
  EXPECT_TRUE(std::equal(strict->tls12_suites.begin(), strict->tls12_suites.end(), p->tls12_suites.begin()));
  auto pos = [&](const std::string& s) {
    return std::find(p->tls12_suites.begin(), p->tls12_suites.end(), s) - p->tls12_suites.begin();
  };
  const auto n = static_cast<long>(p->tls12_suites.size());
  for (const char* s : {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256",
                        "TLS_RSA_WITH_AES_128_CBC_SHA"})
    EXPECT_LT(pos(s), n) << s;
  // Forward secret before RSA key exchange; AEAD before CBC-SHA-2 before CBC-SHA-1.
  EXPECT_LT(pos("TLS_DHE_RSA_WITH_AES_128_CBC_SHA"), pos("TLS_RSA_WITH_AES_256_GCM_SHA384"));
  EXPECT_LT(pos("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"), pos("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"));
  EXPECT_LT(pos("TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"), pos("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"));
  EXPECT_LT(pos("TLS_RSA_WITH_AES_128_GCM_SHA256"), pos("TLS_RSA_WITH_AES_128_CBC_SHA256"));
  EXPECT_LT(pos("TLS_RSA_WITH_AES_128_CBC_SHA256"), pos("TLS_RSA_WITH_AES_128_CBC_SHA"));
  for (const char* g :
       {"x25519", "secp256r1", "secp384r1", "secp521r1", "ffdhe2048", "ffdhe3072", "ffdhe4096"})
    EXPECT_NE(std::find(p->groups.begin(), p->groups.end(), g), p->groups.end()) << g;
  for (const char* s : {"rsa_pkcs1_sha1", "ecdsa_sha1", "rsa_pss_rsae_sha256"})
    EXPECT_NE(std::find(p->signature_schemes.begin(), p->signature_schemes.end(), s),
              p->signature_schemes.end())
        << s;
  EXPECT_EQ(p->min_dh_bits, 2048);
  EXPECT_THAT(p->security_note, HasSubstr("RSA key exchange (no forward secrecy"));
  EXPECT_THAT(p->security_note, HasSubstr("CBC"));
  EXPECT_THAT(p->security_note, HasSubstr("SHA-1"));
}

TEST(Profiles, LegacyIsCompatPlusOldVersionsAndSmallDh) {
  const policy* compat = profile("compat");
  const policy* p = profile("legacy");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->min_version, version::tls1_0);
  EXPECT_EQ(p->max_version, version::tls1_3);
  EXPECT_EQ(p->tls13_suites, compat->tls13_suites);
  EXPECT_EQ(p->tls12_suites, compat->tls12_suites);
  EXPECT_EQ(p->groups, compat->groups);
  EXPECT_EQ(p->signature_schemes, compat->signature_schemes);
  EXPECT_EQ(p->min_dh_bits, 1024);
  EXPECT_THAT(p->security_note, HasSubstr("INSECURE"));
  EXPECT_THAT(p->security_note, HasSubstr("TLS 1.0"));
}

TEST(Version, ToStringAndParse) {
  EXPECT_STREQ(to_string(version::tls1_0), "TLSv1.0");
  EXPECT_STREQ(to_string(version::tls1_1), "TLSv1.1");
  EXPECT_STREQ(to_string(version::tls1_2), "TLSv1.2");
  EXPECT_STREQ(to_string(version::tls1_3), "TLSv1.3");
  for (auto v : {version::tls1_0, version::tls1_1, version::tls1_2, version::tls1_3})
    EXPECT_EQ(parse_version(to_string(v)), v);
  EXPECT_EQ(parse_version("1.2"), version::tls1_2);
  EXPECT_EQ(parse_version("tls1.2"), version::tls1_2);
  EXPECT_EQ(parse_version("tlsv1.3"), version::tls1_3);
  EXPECT_EQ(parse_version("TLS 1.1"), version::tls1_1);
  EXPECT_EQ(parse_version("TLSv1"), version::tls1_0);  // how OpenSSL prints TLS 1.0
  EXPECT_EQ(parse_version(" 1.0 "), version::tls1_0);
  EXPECT_EQ(parse_version(""), std::nullopt);
  EXPECT_EQ(parse_version("1.4"), std::nullopt);
  EXPECT_EQ(parse_version("SSLv3"), std::nullopt);
  EXPECT_EQ(parse_version("tls"), std::nullopt);
  EXPECT_EQ(parse_version("TLSv1.2x"), std::nullopt);
}

TEST(PolicyText, RoundTripsEveryProfile) {
  for (const auto& n : profile_names()) {
    const policy* p = profile(n);
    std::string error;
    const auto back = policy::from_text(p->to_text(), &error);
    ASSERT_TRUE(back.has_value()) << n << ": " << error;
    EXPECT_EQ(*back, *p) << n;
    EXPECT_EQ(back->to_text(), p->to_text());
  }
}

TEST(PolicyText, RoundTripsEmptyListsAndCustomValues) {
  policy p;
  p.name = "mine";
  p.min_version = version::tls1_3;
  p.max_version = version::tls1_3;
  p.tls13_suites = {"TLS_AES_128_GCM_SHA256"};
  p.groups = {"x25519"};
  p.signature_schemes = {"ed25519"};
  p.min_dh_bits = 3072;
  p.min_rsa_bits = 4096;
  p.security_note = "none: stronger than strict, reaches fewer servers";
  const auto text = p.to_text();
  EXPECT_THAT(text, HasSubstr("min_version: TLSv1.3\n"));
  EXPECT_THAT(text, HasSubstr("tls12_suites:\n"));
  const auto back = policy::from_text(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, p);
}

TEST(PolicyText, StableFormat) {
  const std::string text = profile("strict")->to_text();
  EXPECT_THAT(text, HasSubstr("name: strict\n"));
  EXPECT_THAT(text, HasSubstr("groups: x25519, secp256r1, secp384r1\n"));
  EXPECT_THAT(text, HasSubstr("min_rsa_bits: 2048\n"));
}

TEST(PolicyText, AcceptsCommentsBlankLinesAndLooseSpacing) {
  const auto p = policy::from_text(
      "# my policy\n\nname:custom\r\n  min_version :  1.2\nmax_version: tls1.3\n"
      "groups: x25519 ,secp256r1,\nmin_dh_bits: 4096\n");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->name, "custom");
  EXPECT_EQ(p->min_version, version::tls1_2);
  EXPECT_EQ(p->max_version, version::tls1_3);
  EXPECT_THAT(p->groups, ElementsAre("x25519", "secp256r1"));
  EXPECT_EQ(p->min_dh_bits, 4096);
}

TEST(PolicyText, RejectsBadLines) {
  struct bad {
    const char* text;
    const char* says;
  };
  for (const auto& b : {
           bad{"name: x\nthis is not a setting\n", "line 2"},
           bad{"colour: blue\n", "unknown setting \"colour\""},
           bad{"min_version: SSLv3\n", "unknown TLS version \"SSLv3\""},
           bad{"min_dh_bits: lots\n", "min_dh_bits needs a number"},
           bad{"min_rsa_bits: -5\n", "min_rsa_bits needs a number"},
           bad{"min_rsa_bits: 2048x\n", "min_rsa_bits needs a number"},
           bad{"min_version: 1.3\nmax_version: 1.2\n", "above max_version"},
       }) {
    std::string error;
    EXPECT_FALSE(policy::from_text(b.text, &error).has_value()) << b.text;
    EXPECT_THAT(error, HasSubstr(b.says)) << b.text;
  }
  EXPECT_FALSE(policy::from_text("nonsense").has_value());  // error pointer is optional
}

}  // namespace
}  // namespace postern::tls
