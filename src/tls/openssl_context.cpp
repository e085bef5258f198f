// The one place where a tls::policy becomes an OpenSSL SSL_CTX, and where OpenSSL's
// handshake outcome is turned back into postern's words.
#include "openssl_context.hpp"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <new>
#include <string_view>
#include <vector>

namespace postern::tls {

namespace {

// ---------------------------------------------------------------------------------------------
// Per-connection facts the callbacks record, for classify_handshake_failure.

struct connection_facts {
  int alert_received = -1;  ///< TLS alert description, -1 if none
  int alert_sent = -1;
  bool certificate_request_seen = false;
  bool certificate_sent = false;  ///< we answered a CertificateRequest with a non-empty Certificate
  bool server_hello_seen = false;
  int verify_error = X509_V_OK;  ///< first verification error seen by the verify callback
  int verify_depth = -1;
  X509* verify_cert = nullptr;  ///< the certificate that error is about (owned)
  std::string expected_name;    ///< the name prepare_connection checks the certificate against
  ~connection_facts() { X509_free(verify_cert); }
};

void free_facts(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<connection_facts*>(ptr);
}

int facts_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_facts);
  return index;
}

connection_facts* facts(const SSL* ssl, bool create) {
  const int idx = facts_index();
  if (idx < 0 || ssl == nullptr) return nullptr;
  auto* f = static_cast<connection_facts*>(SSL_get_ex_data(ssl, idx));
  if (f == nullptr && create) {
    f = new (std::nothrow) connection_facts;
    if (f != nullptr && SSL_set_ex_data(const_cast<SSL*>(ssl), idx, f) != 1) {
      delete f;
      f = nullptr;
    }
  }
  return f;
}

// Whether a Certificate handshake message (header included) carries at least one certificate.
bool certificate_message_has_certs(const unsigned char* bytes, std::size_t len, bool tls13) {
  std::size_t at = 4;  // type, 24-bit length
  if (tls13) {
    if (len < at + 1) return false;
    at += 1 + bytes[at];  // certificate_request_context
  }
  if (len < at + 3) return false;
  const std::size_t list = (std::size_t{bytes[at]} << 16) | (std::size_t{bytes[at + 1]} << 8) | bytes[at + 2];
  return list > 0;
}

// Records alerts in both directions, whether the server asked for a client certificate, and
// whether we sent one.
void on_message(int write_p, int /*version*/, int content_type, const void* buf, std::size_t len, SSL* ssl,
                void*) {
  const auto* bytes = static_cast<const unsigned char*>(buf);
  if (content_type == SSL3_RT_HANDSHAKE && len >= 4 && write_p && bytes[0] == SSL3_MT_CERTIFICATE) {
    if (auto* f = facts(ssl, true))
      f->certificate_sent = certificate_message_has_certs(bytes, len, SSL_version(ssl) == TLS1_3_VERSION);
  } else if (content_type == SSL3_RT_ALERT && len >= 2) {
    if (auto* f = facts(ssl, true)) (write_p ? f->alert_sent : f->alert_received) = bytes[1];
  } else if (content_type == SSL3_RT_HANDSHAKE && len >= 1 && !write_p &&
             bytes[0] == SSL3_MT_CERTIFICATE_REQUEST) {
    if (auto* f = facts(ssl, true)) f->certificate_request_seen = true;
  } else if (content_type == SSL3_RT_HANDSHAKE && len >= 1 && !write_p && bytes[0] == SSL3_MT_SERVER_HELLO) {
    if (auto* f = facts(ssl, true)) f->server_hello_seen = true;
  }
}

// Keeps OpenSSL's verdict, but remembers the first failure and the certificate it is about.
int on_verify(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok) return preverify_ok;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* f = facts(ssl, true);
  if (f != nullptr && f->verify_error == X509_V_OK) {
    f->verify_error = X509_STORE_CTX_get_error(store);
    f->verify_depth = X509_STORE_CTX_get_error_depth(store);
    if (X509* cert = X509_STORE_CTX_get_current_cert(store); cert != nullptr && X509_up_ref(cert) == 1)
      f->verify_cert = cert;
  }
  return preverify_ok;
}

// The client certificate file a context presents, for the words of a refusal.
struct client_note {
  std::string cert_file;
};

void free_note(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<client_note*>(ptr); }

int note_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_note);
  return index;
}

std::string client_cert_file(const SSL* ssl) {
  const SSL_CTX* ctx = ssl != nullptr ? SSL_get_SSL_CTX(ssl) : nullptr;
  const auto* n = ctx != nullptr && note_index() >= 0
                      ? static_cast<const client_note*>(SSL_CTX_get_ex_data(ctx, note_index()))
                      : nullptr;
  return n != nullptr ? n->cert_file : std::string();
}

// ---------------------------------------------------------------------------------------------
// Security callback: OpenSSL's own levels are coarse (level 1 already refuses SHA-1 handshake
// signatures and TLS < 1.2), so weaker profiles run at a lower level and this callback adds back
// the policy's own floors (DH size, RSA size).

struct security_limits {
  int min_dh_bits = 2048;
  int min_rsa_bits = 2048;
  bool allow_sha1_signatures = false;
  int (*fallback)(const SSL*, const SSL_CTX*, int, int, int, void*, void*) = nullptr;
  void* fallback_ex = nullptr;
};

void free_limits(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<security_limits*>(ptr);
}

int limits_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_limits);
  return index;
}

bool is_rsa(const EVP_PKEY* key) { return EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS"); }

int on_security_check(const SSL* s, const SSL_CTX* ctx, int op, int bits, int nid, void* other, void* ex) {
  const auto* lim = static_cast<const security_limits*>(ex);
  if (lim == nullptr) return 0;
  if (lim->fallback != nullptr && !lim->fallback(s, ctx, op, bits, nid, other, lim->fallback_ex)) return 0;
  const int base = op & ~SSL_SECOP_PEER;
  switch (base) {
    case SSL_SECOP_TMP_DH: {
      const auto* key = static_cast<const EVP_PKEY*>(other);
      return key != nullptr && EVP_PKEY_get_bits(key) >= lim->min_dh_bits ? 1 : 0;
    }
    case SSL_SECOP_EE_KEY:
    case SSL_SECOP_CA_KEY: {
      const auto* cert = static_cast<const X509*>(other);
      const EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
      if (key == nullptr) return 0;
      if (is_rsa(key) && EVP_PKEY_get_bits(key) < lim->min_rsa_bits) return 0;
      if (EVP_PKEY_is_a(key, "DH") && EVP_PKEY_get_bits(key) < lim->min_dh_bits) return 0;
      return 1;
    }
    case SSL_SECOP_SIGALG_SUPPORTED:
    case SSL_SECOP_SIGALG_SHARED:
    case SSL_SECOP_SIGALG_CHECK:
    case SSL_SECOP_SIGALG_MASK:
      if (nid == NID_md5) return 0;
      if ((nid == NID_sha1 || nid == NID_md5_sha1) && !lim->allow_sha1_signatures) return 0;
      return 1;
    default:
      return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Name tables.

struct name_pair {
  std::string_view iana;
  std::string_view openssl;
};

constexpr std::array<name_pair, 10> group_names = {{
    {"x25519", "X25519"},
    {"x448", "X448"},
    {"secp256r1", "P-256"},
    {"secp384r1", "P-384"},
    {"secp521r1", "P-521"},
    {"ffdhe2048", "ffdhe2048"},
    {"ffdhe3072", "ffdhe3072"},
    {"ffdhe4096", "ffdhe4096"},
    {"ffdhe6144", "ffdhe6144"},
    {"ffdhe8192", "ffdhe8192"},
}};

constexpr std::array<name_pair, 19> sigalg_names = {{
    {"ecdsa_secp256r1_sha256", "ecdsa_secp256r1_sha256"},
    {"ecdsa_secp384r1_sha384", "ecdsa_secp384r1_sha384"},
    {"ecdsa_secp521r1_sha512", "ecdsa_secp521r1_sha512"},
    {"ed25519", "ed25519"},
    {"ed448", "ed448"},
    {"rsa_pss_rsae_sha256", "rsa_pss_rsae_sha256"},
    {"rsa_pss_rsae_sha384", "rsa_pss_rsae_sha384"},
    {"rsa_pss_rsae_sha512", "rsa_pss_rsae_sha512"},
    {"rsa_pss_pss_sha256", "rsa_pss_pss_sha256"},
    {"rsa_pss_pss_sha384", "rsa_pss_pss_sha384"},
    {"rsa_pss_pss_sha512", "rsa_pss_pss_sha512"},
    {"rsa_pkcs1_sha256", "RSA+SHA256"},
    {"rsa_pkcs1_sha384", "RSA+SHA384"},
    {"rsa_pkcs1_sha512", "RSA+SHA512"},
    {"rsa_pkcs1_sha1", "RSA+SHA1"},
    {"ecdsa_sha1", "ECDSA+SHA1"},
    {"ecdsa_sha224", "ECDSA+SHA224"},
    {"rsa_pkcs1_sha224", "RSA+SHA224"},
    {"dsa_sha256", "DSA+SHA256"},
}};

template <std::size_t N>
std::string_view lookup(const std::array<name_pair, N>& table, std::string_view iana) {
  for (const auto& p : table)
    if (p.iana == iana) return p.openssl;
  return {};
}

bool is_sha1_scheme(std::string_view iana) { return iana == "rsa_pkcs1_sha1" || iana == "ecdsa_sha1"; }

/** IANA cipher-suite name -> OpenSSL name, for every suite this OpenSSL build knows. */
const std::map<std::string, std::string, std::less<>>& suite_names() {
  static const auto table = [] {
    std::map<std::string, std::string, std::less<>> m;
    SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    if (ctx == nullptr) return m;
    SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL") == 1) {
      STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
      for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
        const char* std_name = SSL_CIPHER_standard_name(c);
        const char* ossl_name = SSL_CIPHER_get_name(c);
        if (std_name != nullptr && ossl_name != nullptr) m.emplace(std_name, ossl_name);
      }
    }
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return m;
  }();
  return table;
}

int to_openssl(version v) {
  switch (v) {
    case version::tls1_0:
      return TLS1_VERSION;
    case version::tls1_1:
      return TLS1_1_VERSION;
    case version::tls1_2:
      return TLS1_2_VERSION;
    case version::tls1_3:
      return TLS1_3_VERSION;
  }
  return 0;
}

std::string join_colon(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ':';
    out += s;
  }
  return out;
}

// OpenSSL 3.0 calls TLS 1.3's alerts "unknown".
std::string alert_name(int a) {
  if (a == TLS13_AD_CERTIFICATE_REQUIRED) return "certificate required";
  if (a == TLS13_AD_MISSING_EXTENSION) return "missing extension";
  return SSL_alert_desc_string_long(a);
}

/** Drains the error queue into "; "-separated strings. */
std::string drain_errors() {
  std::string out;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out;
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

/**
 * OpenSSL security level for a policy: the strongest level that still lets everything the
 * policy lists through. Level 1 already refuses SHA-1 signatures and TLS < 1.2 in OpenSSL 3.
 */
int security_level_for(const policy& p) {
  bool sha1 = false;
  for (const auto& s : p.signature_schemes) sha1 = sha1 || is_sha1_scheme(s);
  if (sha1 || p.min_version < version::tls1_2) return 0;
  if (p.min_rsa_bits >= 2048 && p.min_dh_bits >= 2048) return 2;
  if (p.min_rsa_bits >= 1024 && p.min_dh_bits >= 1024) return 1;
  return 0;
}

/** X.509 "auth level" for the chain: keys at least min_rsa_bits strong, no SHA-1 signatures. */
int auth_level_for(const policy& p) {
  if (p.min_rsa_bits >= 15360) return 5;
  if (p.min_rsa_bits >= 7680) return 4;
  if (p.min_rsa_bits >= 3072) return 3;
  if (p.min_rsa_bits >= 2048) return 2;
  if (p.min_rsa_bits >= 1024) return 1;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Certificate text helpers.

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  std::string out;
  if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len > 0 && data != nullptr) out.assign(data, static_cast<std::size_t>(len));
  }
  BIO_free(bio);
  return out;
}

std::string iso8601(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  std::array<char, 32> buf{};
  const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf.data(), n);
}

std::string spki_sha256(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  const bool ok =
      EVP_Digest(der, static_cast<std::size_t>(len), md.data(), &md_len, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < md_len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

/** DNS and IP subjectAltNames, else the subject CN: the names a certificate is valid for. */
std::vector<std::string> cert_names(X509* cert) {
  std::vector<std::string> out;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        const ASN1_IA5STRING* s = gn->d.dNSName;
        out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
      } else if (gn->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* s = gn->d.iPAddress;
        std::array<char, INET6_ADDRSTRLEN> buf{};
        const int af = ASN1_STRING_length(s) == 4 ? AF_INET : ASN1_STRING_length(s) == 16 ? AF_INET6 : -1;
        if (af != -1 && inet_ntop(af, ASN1_STRING_get0_data(s), buf.data(), buf.size()) != nullptr)
          out.emplace_back(buf.data());
      }
    }
    GENERAL_NAMES_free(sans);
  }
  if (out.empty()) {
    const X509_NAME* subject = X509_get_subject_name(cert);
    const int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (i >= 0) {
      const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
      unsigned char* utf8 = nullptr;
      const int len = ASN1_STRING_to_UTF8(&utf8, cn);
      if (len >= 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
      OPENSSL_free(utf8);
    }
  }
  return out;
}

std::string group_name(int nid) {
  switch (nid) {
    case NID_X25519:
      return "x25519";
    case NID_X448:
      return "x448";
    case NID_X9_62_prime256v1:
      return "secp256r1";
    case NID_secp384r1:
      return "secp384r1";
    case NID_secp521r1:
      return "secp521r1";
    case NID_ffdhe2048:
      return "ffdhe2048";
    case NID_ffdhe3072:
      return "ffdhe3072";
    case NID_ffdhe4096:
      return "ffdhe4096";
    case NID_ffdhe6144:
      return "ffdhe6144";
    case NID_ffdhe8192:
      return "ffdhe8192";
    default:
      break;
  }
  if (nid > 0) {
    if (const char* sn = OBJ_nid2sn(nid)) return sn;
  }
  return {};
}

std::string version_name(int v) {
  switch (v) {
    case TLS1_VERSION:
      return to_string(version::tls1_0);
    case TLS1_1_VERSION:
      return to_string(version::tls1_1);
    case TLS1_2_VERSION:
      return to_string(version::tls1_2);
    case TLS1_3_VERSION:
      return to_string(version::tls1_3);
    default:
      break;
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// The client certificate.

// Never prompts for a passphrase (OpenSSL's default callback reads the terminal).
int no_passphrase(char*, int, int, void*) { return 0; }

std::optional<identity_problem> unreadable(const std::string& file, const char* what) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f != nullptr) {
    std::fclose(f);
    return std::nullopt;
  }
  const int e = errno;
  return identity_problem{
      identity_error::unreadable, file,
      std::string("cannot read the client ") + what + " file " + file + ": " + std::strerror(e)};
}

/** Loads @p id into @p ctx: the certificate (and chain), then the key, checked against it. */
std::optional<identity_problem> load_identity(SSL_CTX* ctx, const client_identity& id) {
  ERR_clear_error();
  auto problem = [](identity_error kind, const std::string& file, std::string text) {
    const auto reason = drain_errors();
    if (!reason.empty()) text += " (" + reason + ")";
    return identity_problem{kind, file, std::move(text)};
  };
  if (id.cert_file.empty())
    return problem(
        identity_error::key_without_cert, id.key_file,
        "a client key (" + id.key_file + ") was given without the client certificate it belongs to");
  if (auto p = unreadable(id.cert_file, "certificate")) return p;
  const std::string key_file = id.key_file.empty() ? id.cert_file : id.key_file;
  if (auto p = unreadable(key_file, "key")) return p;
  if (SSL_CTX_use_certificate_chain_file(ctx, id.cert_file.c_str()) != 1)
    return problem(identity_error::bad_certificate, id.cert_file,
                   "the client certificate file " + id.cert_file + " holds no usable PEM certificate");
  BIO* bio = BIO_new_file(key_file.c_str(), "rb");
  EVP_PKEY* key = bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
  BIO_free(bio);
  if (key == nullptr)
    return problem(
        identity_error::bad_key, key_file,
        id.key_file.empty()
            ? "the client certificate file " + key_file +
                  " holds no (unencrypted) PEM private key; give the key with --client-key"
            : "the client key file " + key_file + " holds no usable (unencrypted) PEM private key");
  const bool matches = X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) == 1;
  const bool used = matches && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!matches)
    return problem(
        identity_error::key_mismatch, key_file,
        "the private key in " + key_file + " does not belong to the client certificate in " + id.cert_file);
  if (!used)
    return problem(identity_error::bad_key, key_file, "OpenSSL refuses the client key in " + key_file);
  ERR_clear_error();
  return std::nullopt;
}

}  // namespace

std::optional<identity_problem> check_client_identity(const client_identity& id) {
  if (id.empty()) return std::nullopt;
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx)
    return identity_problem{identity_error::bad_certificate, id.cert_file,
                            "cannot create an OpenSSL context"};
  return load_identity(ctx.get(), id);
}

// ---------------------------------------------------------------------------------------------

ssl_ctx_ptr make_client_context(const policy& p, const verify_options& v, std::string& error,
                                const client_identity& client) {
  ERR_clear_error();
  auto fail = [&error](std::string what) {
    const auto reason = drain_errors();
    error = std::move(what);
    if (!reason.empty()) error += " (" + reason + ")";
    return ssl_ctx_ptr{};
  };
  if (p.min_version > p.max_version)
    return fail("TLS policy \"" + p.name + "\": min_version is above max_version");

  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx) return fail("cannot create an OpenSSL context");

  // Level first: it filters what the lists below may contain (see security_level_for).
  SSL_CTX_set_security_level(ctx.get(), security_level_for(p));
  if (SSL_CTX_set_min_proto_version(ctx.get(), to_openssl(p.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), to_openssl(p.max_version)) != 1)
    return fail("OpenSSL refuses the TLS version range " + std::string(to_string(p.min_version)) + "-" +
                to_string(p.max_version));

  const auto& known = suite_names();
  const bool wants_tls13 = p.max_version >= version::tls1_3;
  const bool wants_tls12 = p.min_version <= version::tls1_2;

  // TLS 1.3 suites: OpenSSL uses the IANA names.
  std::vector<std::string> tls13;
  for (const auto& s : p.tls13_suites)
    if (s.starts_with("TLS_") && known.contains(s)) tls13.push_back(s);
  if (wants_tls13 && !wants_tls12 && tls13.empty())
    return fail("TLS policy \"" + p.name + "\" has no TLS 1.3 cipher suite this OpenSSL knows");
  if (SSL_CTX_set_ciphersuites(ctx.get(), wants_tls13 ? join_colon(tls13).c_str() : "") != 1)
    return fail("OpenSSL refuses the TLS 1.3 cipher suites of policy \"" + p.name + "\"");

  // TLS <= 1.2 suites: OpenSSL 3.0 wants its own names here.
  if (wants_tls12) {
    std::vector<std::string> tls12;
    for (const auto& s : p.tls12_suites) {
      if (auto it = known.find(s);
          it != known.end() && std::find(tls13.begin(), tls13.end(), s) == tls13.end())
        tls12.push_back(it->second);
    }
    if (tls12.empty())
      return fail("TLS policy \"" + p.name + "\" has no TLS 1.2 cipher suite this OpenSSL knows");
    if (SSL_CTX_set_cipher_list(ctx.get(), join_colon(tls12).c_str()) != 1)
      return fail("OpenSSL refuses the TLS 1.2 cipher suites of policy \"" + p.name + "\"");
  }

  std::vector<std::string> groups;
  for (const auto& g : p.groups)
    if (const auto name = lookup(group_names, g); !name.empty()) groups.emplace_back(name);
  if (groups.empty())
    return fail("TLS policy \"" + p.name + "\" has no key-exchange group this OpenSSL knows");
  if (SSL_CTX_set1_groups_list(ctx.get(), join_colon(groups).c_str()) != 1)
    return fail("OpenSSL refuses the groups of policy \"" + p.name + "\"");

  std::vector<std::string> sigalgs;
  bool sha1_signatures = false;
  for (const auto& s : p.signature_schemes) {
    if (const auto name = lookup(sigalg_names, s); !name.empty()) {
      sigalgs.emplace_back(name);
      sha1_signatures = sha1_signatures || is_sha1_scheme(s);
    }
  }
  if (sigalgs.empty())
    return fail("TLS policy \"" + p.name + "\" has no signature scheme this OpenSSL knows");
  if (SSL_CTX_set1_sigalgs_list(ctx.get(), join_colon(sigalgs).c_str()) != 1)
    return fail("OpenSSL refuses the signature schemes of policy \"" + p.name + "\"");

  // The policy's own floors, on top of OpenSSL's level (which may be 0 for compat and legacy).
  auto* limits = new (std::nothrow) security_limits;
  if (limits == nullptr) return fail("out of memory");
  limits->min_dh_bits = p.min_dh_bits;
  limits->min_rsa_bits = p.min_rsa_bits;
  limits->allow_sha1_signatures = sha1_signatures || p.min_version < version::tls1_2;
  limits->fallback = SSL_CTX_get_security_callback(ctx.get());
  limits->fallback_ex = SSL_CTX_get0_security_ex_data(ctx.get());
  if (limits_index() < 0 || SSL_CTX_set_ex_data(ctx.get(), limits_index(), limits) != 1) {
    delete limits;
    return fail("cannot attach the policy limits to the OpenSSL context");
  }
  SSL_CTX_set_security_callback(ctx.get(), on_security_check);
  SSL_CTX_set0_security_ex_data(ctx.get(), limits);

  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_msg_callback(ctx.get(), on_message);

  if (v.insecure) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, on_verify);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, on_verify);
    if (!v.ca_file.empty()) {
      if (SSL_CTX_load_verify_file(ctx.get(), v.ca_file.c_str()) != 1)
        return fail("cannot load CA file \"" + v.ca_file + "\"");
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      return fail("cannot load the system's trusted roots");
    }
    // The chain is judged by the policy's key floor even when the TLS level is 0.
    X509_VERIFY_PARAM_set_auth_level(SSL_CTX_get0_param(ctx.get()), auth_level_for(p));
  }
  if (!client.empty()) {
    SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
    if (auto problem = load_identity(ctx.get(), client)) {
      error = problem->summary;
      return ssl_ctx_ptr{};
    }
    auto* note = new (std::nothrow) client_note{client.cert_file};
    if (note == nullptr || note_index() < 0 || SSL_CTX_set_ex_data(ctx.get(), note_index(), note) != 1) {
      delete note;
      return fail("cannot attach the client certificate's name to the OpenSSL context");
    }
  }
  ERR_clear_error();
  return ctx;
}

bool prepare_connection(SSL* ssl, const std::string& name, bool insecure, std::string& error) {
  ERR_clear_error();
  if (ssl == nullptr) {
    error = "no TLS connection object";
    return false;
  }
  if (facts(ssl, true) == nullptr) {
    error = "out of memory";
    return false;
  }
  facts(ssl, false)->expected_name = name;
  const bool ip = is_ip_literal(name);
  if (!ip && !name.empty() && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    error = "cannot set the TLS server name \"" + name + "\": " + drain_errors();
    return false;
  }
  if (insecure) return true;
  if (name.empty()) {
    error = "no server name to check the certificate against";
    return false;
  }
  const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str())
                    : SSL_set1_host(ssl, name.c_str());
  if (ok != 1) {
    error = "cannot set the name \"" + name + "\" to check the certificate against: " + drain_errors();
    return false;
  }
  return true;
}

handshake_info describe_handshake(SSL* ssl) {
  handshake_info info;
  if (ssl == nullptr) return info;
  info.version = version_name(SSL_version(ssl));
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
    if (const char* n = SSL_CIPHER_standard_name(c)) info.cipher = n;
    switch (SSL_CIPHER_get_kx_nid(c)) {
      case NID_kx_ecdhe:
        info.kx = "ECDHE";
        break;
      case NID_kx_dhe:
        info.kx = "DHE";
        break;
      case NID_kx_rsa:
        info.kx = "RSA";
        break;
      default:
        break;  // TLS 1.3 (NID_kx_any): always (EC)DHE, named by the group
    }
  }
  if (info.kx != "RSA") {
    info.group = group_name(SSL_get_negotiated_group(ssl));
    if (info.group.empty() && info.kx == "DHE") {
      // Custom (non-RFC 7919) DH parameters: name them by size, e.g. "dh1024".
      EVP_PKEY* tmp = nullptr;
      if (SSL_get_peer_tmp_key(ssl, &tmp) == 1 && tmp != nullptr) {
        info.group = "dh" + std::to_string(EVP_PKEY_get_bits(tmp));
        EVP_PKEY_free(tmp);
      }
    }
  }
  if (X509* peer = SSL_get0_peer_certificate(ssl)) {
    info.peer_subject = name_text(X509_get_subject_name(peer));
    info.peer_issuer = name_text(X509_get_issuer_name(peer));
    info.peer_not_after = iso8601(X509_get0_notAfter(peer));
    info.peer_key_sha256 = spki_sha256(peer);
    info.peer_names = cert_names(peer);
  }
  ERR_clear_error();
  return info;
}

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

handshake_failure classify_certificate(SSL* ssl, const connection_facts* f, long verify_result) {
  handshake_failure out;
  const int err =
      f != nullptr && f->verify_error != X509_V_OK ? f->verify_error : static_cast<int>(verify_result);
  STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
  X509* leaf = sent != nullptr && sk_X509_num(sent) > 0 ? sk_X509_value(sent, 0) : nullptr;
  X509* subject = f != nullptr && f->verify_cert != nullptr ? f->verify_cert : leaf;
  const int depth = f != nullptr ? f->verify_depth : -1;
  const std::string verify_text = X509_verify_cert_error_string(err);
  const std::string who = subject != nullptr ? name_text(X509_get_subject_name(subject)) : std::string();
  const std::string about = who.empty() ? std::string() : " (certificate " + who + ")";

  out.detail = "certificate verify error " + std::to_string(err) + ": " + verify_text;
  if (depth >= 0) out.detail += " at depth " + std::to_string(depth);
  out.detail += about;

  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED: {
      out.code = "tls.cert.expired";
      const auto when = subject != nullptr ? iso8601(X509_get0_notAfter(subject)) : std::string();
      out.summary = "the server's certificate" +
                    std::string(depth > 0 ? " chain contains a certificate that" : "") +
                    (when.empty() ? " has expired" : " expired on " + when) + about;
      break;
    }
    case X509_V_ERR_CERT_NOT_YET_VALID: {
      out.code = "tls.cert.not-yet-valid";
      const auto when = subject != nullptr ? iso8601(X509_get0_notBefore(subject)) : std::string();
      out.summary = "the server's certificate is not valid yet" +
                    (when.empty() ? std::string() : " (valid from " + when + ")") + about;
      break;
    }
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: {
      out.code = "tls.cert.hostname-mismatch";
      const auto names = leaf != nullptr ? cert_names(leaf) : std::vector<std::string>{};
      const std::string wanted =
          f != nullptr && !f->expected_name.empty() ? " \"" + f->expected_name + "\"" : std::string();
      out.summary = "the server's certificate does not cover the name" + wanted +
                    "; it is valid for: " + (names.empty() ? std::string("(no names)") : join_names(names));
      break;
    }
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      out.code = "tls.cert.self-signed";
      out.summary = "the server's certificate is self-signed and not among the trusted roots" + about;
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
      const bool only_leaf = sent != nullptr && sk_X509_num(sent) == 1;
      const bool self_issued = leaf != nullptr && X509_check_issued(leaf, leaf) == X509_V_OK;
      const std::string issuer =
          subject != nullptr ? name_text(X509_get_issuer_name(subject)) : std::string();
      // A lone leaf that is not self-signed: most often the server's chain file lacks the
      // intermediate (clients that fetch AIA URLs or cache intermediates hide that mistake); the
      // other possibility is a private CA whose root this client was not given. Either way the
      // server sent less than a chain, whether or not the leaf names its issuer's URL.
      bool names_issuer_url = false;
      if (leaf != nullptr) {
        auto* aia =
            static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(leaf, NID_info_access, nullptr, nullptr));
        if (aia != nullptr) {
          for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); ++i)
            if (OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, i)->method) == NID_ad_ca_issuers)
              names_issuer_url = true;
          AUTHORITY_INFO_ACCESS_free(aia);
        }
      }
      if (only_leaf && leaf != nullptr && !self_issued) {
        out.code = "tls.cert.incomplete-chain";
        out.summary =
            "the server sent only its own certificate, without the certificate that issued it" +
            (issuer.empty() ? std::string() : " (" + issuer + ")") +
            ": the server's chain file most likely lacks the intermediate" +
            (names_issuer_url ? " (the certificate names its issuer's URL, so an intermediate exists)" : "") +
            "; the other possibility is a private CA, whose root you would give with --ca-file";
      } else {
        out.code = "tls.cert.untrusted";
        out.summary = "the server's certificate chain does not lead to a trusted root" +
                      (issuer.empty() ? std::string() : ": issuer " + issuer + " is unknown");
      }
      break;
    }
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL: {
      out.code = "tls.cert.untrusted";
      const EVP_PKEY* key = subject != nullptr ? X509_get0_pubkey(subject) : nullptr;
      const auto* lim =
          static_cast<const security_limits*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), limits_index()));
      out.summary = std::string("the server's ") +
                    (err == X509_V_ERR_EE_KEY_TOO_SMALL ? "certificate" : "CA certificate") +
                    " key is too small" +
                    (key != nullptr ? " (" + std::to_string(EVP_PKEY_get_bits(key)) + " bits" +
                                          (lim != nullptr ? "; this profile needs at least " +
                                                                std::to_string(lim->min_rsa_bits) + " for RSA"
                                                          : std::string()) +
                                          ")"
                                    : std::string()) +
                    about;
      break;
    }
    case X509_V_ERR_CA_MD_TOO_WEAK:
      out.code = "tls.cert.untrusted";
      out.summary = "the server's certificate chain is signed with a weak digest (SHA-1 or MD5)" + about;
      break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      out.code = "tls.cert.untrusted";
      out.summary = "the server's certificate chain ends in a self-signed root that is not trusted" + about;
      break;
    default:
      out.code = "tls.cert.untrusted";
      out.summary = "the server's certificate was rejected: " + verify_text + about;
      break;
  }
  return out;
}

}  // namespace

handshake_failure classify_handshake_failure(SSL* ssl, bool received_eof) {
  handshake_failure out;
  // Read the queue first, keeping the reason codes of SSL's own errors.
  std::vector<int> ssl_reasons;
  std::string errors;
  for (unsigned long e = 0; (e = ERR_get_error()) != 0;) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!errors.empty()) errors += "; ";
    errors += buf.data();
    if (ERR_GET_LIB(e) == ERR_LIB_SSL) ssl_reasons.push_back(ERR_GET_REASON(e));
  }
  auto has_reason = [&](int r) {
    return std::find(ssl_reasons.begin(), ssl_reasons.end(), r) != ssl_reasons.end();
  };
  auto with_errors = [&](std::string text) {
    if (!errors.empty()) text += text.empty() ? errors : "; " + errors;
    return text;
  };

  if (ssl == nullptr) {
    out.code = "tls.handshake-failed";
    out.summary = "TLS handshake failed";
    out.detail = errors;
    return out;
  }
  const connection_facts* f = facts(ssl, false);
  if (f != nullptr) {
    out.alert_received = f->alert_received;
    out.server_hello_seen = f->server_hello_seen;
  }

  const long verify_result = SSL_get_verify_result(ssl);
  const bool verifying = (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0;
  // With SSL_VERIFY_PEER a failed verification aborts the handshake at once, so a recorded
  // verification error is the cause.
  if (verifying && (verify_result != X509_V_OK || (f != nullptr && f->verify_error != X509_V_OK) ||
                    has_reason(SSL_R_CERTIFICATE_VERIFY_FAILED))) {
    out = classify_certificate(ssl, f, verify_result);
    out.detail = with_errors(out.detail);
    return out;
  }

  if (has_reason(SSL_R_WRONG_VERSION_NUMBER)) {
    out.code = "mode.tls-on-plaintext-port";
    out.summary = "the server answered in plain text, not TLS: the port expects STARTTLS or plain SMTP";
    out.detail = with_errors("");
    return out;
  }

  const int alert = f != nullptr ? f->alert_received : -1;
  const std::string alert_text = alert >= 0 ? alert_name(alert) : std::string();
  std::string detail;
  if (alert >= 0) detail = "alert received: " + alert_text + " (" + std::to_string(alert) + ")";
  if (f != nullptr && f->alert_sent >= 0) {
    if (!detail.empty()) detail += "; ";
    detail += "alert sent: " + alert_name(f->alert_sent) + " (" + std::to_string(f->alert_sent) + ")";
  }
  out.detail = with_errors(detail);

  if (f != nullptr) {
    const bool closed = received_eof || has_reason(SSL_R_UNEXPECTED_EOF_WHILE_READING);
    if (auto cc = classify_client_certificate({f->certificate_request_seen, f->certificate_sent, alert,
                                               closed && f->alert_sent < 0, client_cert_file(ssl)})) {
      cc->detail = out.detail;
      cc->server_hello_seen = out.server_hello_seen;
      return *cc;
    }
  }

  out.code = "tls.handshake-failed";
  if (alert >= 0) {
    out.summary = "TLS handshake failed: the server sent the alert \"" + alert_text + "\"";
  } else if (received_eof || has_reason(SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    out.summary =
        "TLS handshake failed: the server closed the connection during the TLS handshake, "
        "without an alert";
  } else if (!ssl_reasons.empty()) {
    const char* reason = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, ssl_reasons.front()));
    out.summary =
        std::string("TLS handshake failed: ") + (reason != nullptr ? reason : "unknown OpenSSL error");
  } else {
    out.summary = "TLS handshake failed";
  }
  return out;
}

bool certificate_requested(const SSL* ssl) {
  const connection_facts* f = facts(ssl, false);
  return f != nullptr && f->certificate_request_seen;
}

std::optional<handshake_failure> classify_client_certificate(const client_cert_facts& f) {
  const int a = f.alert;
  const bool refusal = a == TLS13_AD_CERTIFICATE_REQUIRED || a == SSL_AD_BAD_CERTIFICATE ||
                       a == SSL_AD_CERTIFICATE_UNKNOWN || a == SSL_AD_UNKNOWN_CA || a == SSL_AD_ACCESS_DENIED;
  const std::string alert_text = a >= 0 ? "\"" + alert_name(a) + "\" (" + std::to_string(a) + ")" : "";
  handshake_failure out;
  out.code = "tls.client-cert-required";
  out.alert_received = a;
  if (f.cert_sent) {
    // asyncio servers close without the alert: right after the certificate, that is the refusal.
    const bool bare_close = a < 0 && f.closed;
    if (!refusal && !bare_close) return std::nullopt;
    out.summary = "the server refused the given client certificate" +
                  (f.cert_file.empty() ? std::string() : " (" + f.cert_file + ")") +
                  (bare_close ? ": it closed the connection right after receiving it, without an alert (most "
                                "likely a refusal)"
                              : ": it answered it with the alert " + alert_text) +
                  "; it accepts only certificates issued by a CA it trusts for clients";
    return out;
  }
  const bool required = a == TLS13_AD_CERTIFICATE_REQUIRED ||
                        (f.request_seen && (refusal || a == SSL_AD_HANDSHAKE_FAILURE || (a < 0 && f.closed)));
  if (!required) return std::nullopt;
  out.summary = std::string(
                    "the server requires a client certificate: it asked for one during the TLS "
                    "handshake and ") +
                (a >= 0 ? "refused the connection without it (alert " + alert_text + ")"
                        : "closed the connection without it") +
                (f.cert_file.empty() ? "; give one with --client-cert and --client-key"
                                     : "; the certificate given (" + f.cert_file +
                                           ") was not sent, as it does not fit what the server asked for");
  return out;
}

std::optional<handshake_failure> classify_after_handshake(SSL* ssl, bool nothing_read_yet) {
  const connection_facts* f = facts(ssl, false);
  if (f == nullptr) return std::nullopt;
  auto out = classify_client_certificate({f->certificate_request_seen, f->certificate_sent, f->alert_received,
                                          nothing_read_yet && f->alert_received < 0, client_cert_file(ssl)});
  ERR_clear_error();
  if (!out) return std::nullopt;
  out->server_hello_seen = true;
  out->detail =
      std::string("after the TLS handshake (") + version_name(SSL_version(ssl)) + "): " +
      (f->alert_received >= 0 ? "alert received: " + alert_name(f->alert_received) + " (" +
                                    std::to_string(f->alert_received) + ")"
                              : std::string("the server closed the connection without an alert")) +
      (f->certificate_request_seen ? "; the server had sent a CertificateRequest" : "") +
      (f->certificate_sent ? "; a client certificate was sent" : "; no client certificate was sent");
  return out;
}

ssl_ctx_ptr make_server_context(const std::string& cert_file, const std::string& key_file, std::string& error) {
  ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    error = "cannot create a TLS server context: " + drain_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // The strict profile's TLS 1.2 suites (ECDHE with AES-GCM or ChaCha20-Poly1305) and groups.
  if (SSL_CTX_set_cipher_list(ctx.get(), "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL") != 1 ||
      SSL_CTX_set1_groups_list(ctx.get(), "X25519:P-256:P-384") != 1) {
    error = "cannot set the server's TLS suites: " + drain_errors();
    return nullptr;
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_default_passwd_cb(ctx.get(), no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    error = "cannot load the certificate " + cert_file + ": " + drain_errors();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "cannot load the private key " + key_file + ": " + drain_errors();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    error = "the key " + key_file + " does not match the certificate " + cert_file + ": " + drain_errors();
    return nullptr;
  }
  return ctx;
}

}  // namespace postern::tls
