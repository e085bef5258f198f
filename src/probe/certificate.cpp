#include "probe/certificate.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace postern::probe {
namespace {

struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return {};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio) return {};
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 && data ? std::string(data, static_cast<std::size_t>(len)) : std::string{};
}

std::string iso8601(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> sans(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      const auto* s = n->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<std::size_t>(ASN1_STRING_length(s))));
    } else if (n->type == GEN_IPADD) {
      const auto* ip = n->d.iPAddress;
      const unsigned char* p = ASN1_STRING_get0_data(ip);
      const int len = ASN1_STRING_length(ip);
      char buf[INET6_ADDRSTRLEN] = {};
      if (len == 4 || len == 16) inet_ntop(len == 4 ? AF_INET : AF_INET6, p, buf, sizeof buf);
      out.push_back(std::string("IP:") + buf);
    } else if (n->type == GEN_EMAIL) {
      const auto* s = n->d.rfc822Name;
      out.push_back("email:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                           static_cast<std::size_t>(ASN1_STRING_length(s))));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string key_type(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) return "RSA";
  if (EVP_PKEY_is_a(key, "EC")) return "EC";
  if (EVP_PKEY_is_a(key, "ED25519")) return "Ed25519";
  if (EVP_PKEY_is_a(key, "ED448")) return "Ed448";
  if (EVP_PKEY_is_a(key, "DSA")) return "DSA";
  const char* n = EVP_PKEY_get0_type_name(key);
  return n ? n : "unknown";
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

}  // namespace

std::optional<certificate> describe_certificate(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, x509_free> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x) return std::nullopt;
  certificate c;
  c.subject = name_text(X509_get_subject_name(x.get()));
  c.issuer = name_text(X509_get_issuer_name(x.get()));
  c.sans = sans(x.get());
  c.not_before = iso8601(X509_get0_notBefore(x.get()));
  c.not_after = iso8601(X509_get0_notAfter(x.get()));
  if (EVP_PKEY* key = X509_get0_pubkey(x.get())) {
    c.key_type = key_type(key);
    c.key_bits = EVP_PKEY_get_bits(key);
  }
  const int nid = X509_get_signature_nid(x.get());
  c.signature_algorithm = nid != NID_undef ? OBJ_nid2ln(nid) : "unknown";
  // Fingerprints, so that `postern watch` tells a renewal (new certificate) from a new key.
  c.sha256 = sha256_hex(der);
  unsigned char* spki = nullptr;
  const int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x.get()), &spki);
  if (spki_len > 0) {
    c.key_sha256 = sha256_hex({reinterpret_cast<const char*>(spki), static_cast<std::size_t>(spki_len)});
    OPENSSL_free(spki);
  }
  return c;
}

}  // namespace postern::probe
