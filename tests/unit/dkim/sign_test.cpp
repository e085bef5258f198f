#include "postern/dkim/sign.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sysexits.h>

#include <chrono>
#include <string>

#include "postern/mime/message.hpp"

namespace postern::dkim {
namespace {

// A PEM private key made by OpenSSL directly, for key types and sizes generate_key refuses.
std::string pem_of(EVP_PKEY* k) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(k);
  return out;
}

std::string rsa_pem(std::size_t bits) { return pem_of(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits)); }

const std::string& rsa2048() {
  static const std::string k = generate_key(key_type::rsa, 2048).private_pem;
  return k;
}

signing_options options(std::string pem) {
  signing_options o;
  o.domain = "example.org";
  o.selector = "mail";
  o.key_pem = std::move(pem);
  o.timestamp = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
  return o;
}

// RFC 8463 §A.3's message; its relaxed body hash is given there.
constexpr std::string_view rfc8463_message =
    "From: Joe SixPack <joe@football.example.com>\n"
    "To: Suzie Q <suzie@shopping.example.net>\n"
    "Subject: Is dinner ready?\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\n"
    "\n"
    "Hi.\n"
    "\n"
    "We lost the game.  Are you hungry yet?\n"
    "\n"
    "Joe.\n";

std::vector<tag> tags_of(const std::string& signature) {
  EXPECT_TRUE(signature.starts_with("DKIM-Signature:")) << signature;
  std::string value = signature.substr(15);
  value.resize(value.size() - 2);  // the final CRLF
  auto t = parse_tag_list(value);
  EXPECT_TRUE(t) << signature;
  return t ? *t : std::vector<tag>{};
}

TEST(sign, rsa_signature_field) {
  const result r = sign(rfc8463_message, options(rsa2048()));
  ASSERT_TRUE(r.ok()) << r.error->summary;
  EXPECT_TRUE(r.warnings.empty());
  const auto t = tags_of(r.signature);
  EXPECT_EQ(find_tag(t, "v"), "1");
  EXPECT_EQ(find_tag(t, "a"), "rsa-sha256");
  EXPECT_EQ(find_tag(t, "c"), "relaxed/relaxed");
  EXPECT_EQ(find_tag(t, "d"), "example.org");
  EXPECT_EQ(find_tag(t, "s"), "mail");
  EXPECT_EQ(find_tag(t, "t"), "1767225600");
  EXPECT_EQ(find_tag(t, "bh"), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  // Every field present, From once more than it occurs (a second From would break the signature).
  std::string h = *find_tag(t, "h");
  std::erase_if(h, [](char c) { return c == '\r' || c == '\n' || c == '\t' || c == ' '; });
  EXPECT_EQ(h, "From:Subject:Date:Message-ID:To:From");
  std::string b = *find_tag(t, "b");
  std::erase_if(b, [](char c) { return c == '\r' || c == '\n' || c == '\t' || c == ' '; });
  const auto raw = mime::base64_decode(b);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->size(), 256u);  // a 2048-bit RSA signature
  // Folded: no line longer than 78 octets, every continuation starts with white space.
  std::size_t start = 0;
  while (start < r.signature.size()) {
    const auto eol = r.signature.find("\r\n", start);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - start, 78u) << r.signature;
    if (start > 0) {
      EXPECT_EQ(r.signature[start], '\t');
    }
    start = eol + 2;
  }
}

TEST(sign, message_is_signature_then_wire_bytes) {
  const result r = sign(rfc8463_message, options(rsa2048()));
  ASSERT_TRUE(r.ok());
  std::string crlf;
  for (const char c : rfc8463_message) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(r.message, r.signature + crlf);
}

TEST(sign, ed25519) {
  auto o = options(generate_key(key_type::ed25519).private_pem);
  o.canon = {canonicalization::simple, canonicalization::simple};
  const result r = sign(rfc8463_message, o);
  ASSERT_TRUE(r.ok()) << r.error->summary;
  const auto t = tags_of(r.signature);
  EXPECT_EQ(find_tag(t, "a"), "ed25519-sha256");
  EXPECT_EQ(find_tag(t, "c"), "simple/simple");
  std::string b = *find_tag(t, "b");
  std::erase_if(b, [](char c) { return c == '\r' || c == '\n' || c == '\t' || c == ' '; });
  const auto raw = mime::base64_decode(b);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->size(), 64u);
}

TEST(sign, explicit_headers_are_used_as_given) {
  auto o = options(rsa2048());
  o.headers = {"from", "subject", "from", "x-absent"};
  const result r = sign(rfc8463_message, o);
  ASSERT_TRUE(r.ok());
  std::string h = *find_tag(tags_of(r.signature), "h");
  std::erase_if(h, [](char c) { return c == '\r' || c == '\n' || c == '\t' || c == ' '; });
  EXPECT_EQ(h, "from:subject:from:x-absent");
}

TEST(sign, key_problems) {
  auto o = options("");
  o.key_file = "/nonexistent/dkim.pem";
  auto r = sign(rfc8463_message, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "dkim.key-unreadable");
  EXPECT_NE(r.error->summary.find("/nonexistent/dkim.pem"), std::string::npos);
  EXPECT_EQ(r.error->exit_code, EX_NOINPUT);
  EXPECT_TRUE(r.message.empty());

  r = sign(rfc8463_message,
           options("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "dkim.key-unreadable");

  r = sign(rfc8463_message, options(pem_of(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"))));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "dkim.key-unsupported");
  EXPECT_NE(r.error->summary.find("EC"), std::string::npos) << r.error->summary;

  r = sign(rfc8463_message, options(rsa_pem(768)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "dkim.key-too-small");
  EXPECT_NE(r.error->summary.find("768"), std::string::npos);
  EXPECT_EQ(r.error->exit_code, EX_CONFIG);
}

TEST(sign, weak_rsa_key_signs_with_a_warning) {
  const auto r = sign(rfc8463_message, options(rsa_pem(1024)));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].code, "dkim.key-weak");
}

TEST(sign, option_and_message_problems) {
  auto o = options(rsa2048());
  o.domain = "bad domain";
  EXPECT_EQ(sign(rfc8463_message, o).error->code, "dkim.bad-options");
  o = options(rsa2048());
  o.selector = "";
  EXPECT_EQ(sign(rfc8463_message, o).error->code, "dkim.bad-options");
  o = options(rsa2048());
  o.headers = {"Subject", "To"};  // From must be signed
  EXPECT_EQ(sign(rfc8463_message, o).error->code, "dkim.bad-options");
  o.headers = {"From", "Bad Name"};
  EXPECT_EQ(sign(rfc8463_message, o).error->code, "dkim.bad-options");
  const auto r = sign("To: a@example.org\r\n\r\nno sender\r\n", options(rsa2048()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, "dkim.bad-message");
  EXPECT_EQ(r.error->exit_code, EX_DATAERR);
}

TEST(sign, generated_keys_and_records) {
  const auto rsa = generate_key(key_type::rsa, 1024);
  EXPECT_TRUE(rsa.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
  EXPECT_TRUE(sign(rfc8463_message, options(rsa.private_pem)).ok());
  const std::string record = key_record(rsa);
  EXPECT_TRUE(record.starts_with("v=DKIM1; k=rsa; p=MI")) << record;  // DER SubjectPublicKeyInfo
  const auto ed = generate_key(key_type::ed25519);
  EXPECT_EQ(mime::base64_decode(ed.public_b64)->size(), 32u);  // RFC 8463 §4: the raw key
  EXPECT_TRUE(key_record(ed).starts_with("v=DKIM1; k=ed25519; p="));
  EXPECT_THROW(generate_key(key_type::rsa, 512), std::invalid_argument);

  // A 4096-bit key's record needs several strings of at most 255 octets; joined they are the record.
  const std::string big = key_record(generate_key(key_type::rsa, 4096));
  const std::string line = dns_txt_line("s1", "example.org", big);
  EXPECT_TRUE(line.starts_with("s1._domainkey.example.org. IN TXT \"v=DKIM1; k=rsa; p="));
  std::string joined;
  std::size_t strings = 0;
  for (std::size_t pos = line.find('"'); pos != std::string::npos;) {
    const auto end = line.find('"', pos + 1);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - pos - 1, 255u);
    joined += line.substr(pos + 1, end - pos - 1);
    ++strings;
    pos = line.find('"', end + 1);
  }
  EXPECT_EQ(joined, big);
  EXPECT_GE(strings, 3u);
}

}  // namespace
}  // namespace postern::dkim
