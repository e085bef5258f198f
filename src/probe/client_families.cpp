// The client families of the compatibility matrix. Each list is that client's own default,
// in its own order; names OpenSSL 3.0 cannot speak (static ECDH suites, DSS, X25519MLKEM768)
// are kept here for the record and skipped by tls::make_client_context, so a family can only
// connect with what both that client and OpenSSL implement.
#include "probe/client_families.hpp"

namespace postern::probe {
namespace {

// TLS 1.3 suites in OpenSSL's default order (TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:
// TLS_AES_128_GCM_SHA256): what OpenSSL-based clients (openssl, python, node) offer.
const std::vector<std::string> openssl_tls13 = {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                                                "TLS_AES_128_GCM_SHA256"};
// OpenSSL 3.0's default supported_groups (ssl/t1_lib.c supported_groups_default).
const std::vector<std::string> openssl_groups = {"x25519",    "secp256r1", "x448",      "secp521r1",
                                                 "secp384r1", "ffdhe2048", "ffdhe3072", "ffdhe4096",
                                                 "ffdhe6144", "ffdhe8192"};
// OpenSSL 3.0's default signature_algorithms at security level 2 (no SHA-1, no SHA-224).
const std::vector<std::string> openssl_sigalgs = {"ecdsa_secp256r1_sha256",
                                                  "ecdsa_secp384r1_sha384",
                                                  "ecdsa_secp521r1_sha512",
                                                  "ed25519",
                                                  "ed448",
                                                  "rsa_pss_pss_sha256",
                                                  "rsa_pss_pss_sha384",
                                                  "rsa_pss_pss_sha512",
                                                  "rsa_pss_rsae_sha256",
                                                  "rsa_pss_rsae_sha384",
                                                  "rsa_pss_rsae_sha512",
                                                  "rsa_pkcs1_sha256",
                                                  "rsa_pkcs1_sha384",
                                                  "rsa_pkcs1_sha512"};

tls::policy base(std::string name) {
  tls::policy p;
  p.name = std::move(name);
  p.min_version = tls::version::tls1_2;
  p.max_version = tls::version::tls1_3;
  return p;
}

// rustls 0.23, default provider (aws-lc-rs): rustls/src/crypto/aws_lc_rs/mod.rs DEFAULT_CIPHER_SUITES,
// DEFAULT_KX_GROUPS (X25519MLKEM768 first since 0.23.22's prefer-post-quantum; OpenSSL 3.0 cannot
// offer it, so the handshake uses the classical groups that follow), SUPPORTED_SIG_ALGS.
// TLS 1.2 and 1.3 only; ECDHE + AEAD only; webpki refuses RSA keys under 2048 bits.
client_family rustls() {
  auto p = base("rustls");
  p.tls13_suites = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"};
  p.tls12_suites = {
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",       "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",         "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"};
  p.groups = {"X25519MLKEM768", "x25519", "secp256r1", "secp384r1"};
  p.signature_schemes = {
      "ecdsa_secp384r1_sha384", "ecdsa_secp256r1_sha256", "ecdsa_secp521r1_sha512", "ed25519",
      "rsa_pss_rsae_sha512",    "rsa_pss_rsae_sha384",    "rsa_pss_rsae_sha256",    "rsa_pkcs1_sha512",
      "rsa_pkcs1_sha384",       "rsa_pkcs1_sha256"};
  p.min_dh_bits = 2048;  // no DHE at all
  p.min_rsa_bits = 2048;
  return {"rustls", "rustls 0.23 (default provider)", std::move(p)};
}

// Go 1.22 crypto/tls client defaults (cipher_suites.go cipherSuitesPreferenceOrder minus
// disabledCipherSuites, with AES-GCM hardware): Go 1.22 dropped RSA key exchange from the
// defaults (GODEBUG tlsrsakex), but kept ECDHE with AES-CBC-SHA1 and ECDHE-RSA-3DES (3DES left
// the defaults only in Go 1.23, GODEBUG tls3des). TLS 1.2 minimum for clients since Go 1.18.
// Groups: curvePreferences default X25519, P-256, P-384, P-521 (the Kyber hybrid came in 1.23).
// Signatures: supportedSignatureAlgorithms, which still lists SHA-1 for TLS 1.2.
client_family go() {
  auto p = base("go");
  p.tls13_suites = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"};
  p.tls12_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"};
  p.groups = {"x25519", "secp256r1", "secp384r1", "secp521r1"};
  p.signature_schemes = {"rsa_pss_rsae_sha256",    "ecdsa_secp256r1_sha256", "ed25519",
                         "rsa_pss_rsae_sha384",    "rsa_pss_rsae_sha512",    "rsa_pkcs1_sha256",
                         "rsa_pkcs1_sha384",       "rsa_pkcs1_sha512",       "ecdsa_secp384r1_sha384",
                         "ecdsa_secp521r1_sha512", "rsa_pkcs1_sha1",         "ecdsa_sha1"};
  p.min_dh_bits = 2048;   // no DHE at all
  p.min_rsa_bits = 1024;  // crypto/x509 refuses RSA keys under 1024 bits
  return {"go", "Go 1.22 crypto/tls (defaults)", std::move(p)};
}

// OpenSSL 3.0 as Debian 12 ships it: /etc/ssl/openssl.cnf CipherString = DEFAULT:@SECLEVEL=2,
// which with OpenSSL 3 also means TLS 1.2 at least. The TLS 1.2 list is
// `openssl ciphers -stdname 'DEFAULT:@SECLEVEL=2'` without the PSK and SRP suites (a client
// offers those only with a PSK/SRP callback set).
client_family openssl() {
  auto p = base("openssl");
  p.tls13_suites = openssl_tls13;
  p.tls12_suites = {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
                    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
                    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_RSA_WITH_AES_256_CBC_SHA256",
                    "TLS_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_RSA_WITH_AES_128_CBC_SHA"};
  p.groups = openssl_groups;
  p.signature_schemes = openssl_sigalgs;
  p.min_dh_bits = 2048;  // SECLEVEL=2: 112-bit security
  p.min_rsa_bits = 2048;
  return {"openssl", "OpenSSL 3.0 (Debian 12 default, SECLEVEL=2)", std::move(p)};
}

// Python 3.11 ssl.create_default_context(): Modules/_ssl.c PY_SSL_DEFAULT_CIPHER_STRING
// "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
// (Python 3.10+), minimum TLS 1.2; expanded with `openssl ciphers -stdname` on OpenSSL 3.0.
// Groups and signature schemes are OpenSSL's defaults (Python does not set them).
client_family python() {
  auto p = base("python");
  p.tls13_suites = openssl_tls13;
  p.tls12_suites = {
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",       "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",       "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
      "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",       "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
      "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",           "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",           "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"};
  p.groups = openssl_groups;
  p.signature_schemes = openssl_sigalgs;
  p.min_dh_bits = 2048;
  p.min_rsa_bits = 2048;
  return {"python", "Python 3.11 ssl default context", std::move(p)};
}

// Java 17 (SunJSSE) defaults: TLS 1.3 and 1.2 (TLSv1/TLSv1.1 are in jdk.tls.disabledAlgorithms
// since 17 GA), the default enabled suite list of the JSSE Reference Guide for JDK 17 without 3DES
// (disabled), named groups jdk.tls.namedGroups default, signature schemes of SignatureScheme.java.
// "DH keySize < 1024" and "RSA keySize < 1024" are disabled. The static ECDH and DHE_DSS suites
// and dsa_* schemes are kept for the record; OpenSSL 3.0 cannot offer static ECDH.
client_family java17() {
  auto p = base("java17");
  p.tls13_suites = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"};
  p.tls12_suites = {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
                    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
                    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
                    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
                    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
                    "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
                    "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
                    "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
                    "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
                    "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
                    "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
                    "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_RSA_WITH_AES_256_CBC_SHA256",
                    "TLS_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_RSA_WITH_AES_128_CBC_SHA"};
  p.groups = {"x25519",    "secp256r1", "secp384r1", "secp521r1", "x448",
              "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"};
  p.signature_schemes = {"ecdsa_secp256r1_sha256",
                         "ecdsa_secp384r1_sha384",
                         "ecdsa_secp521r1_sha512",
                         "ed25519",
                         "ed448",
                         "rsa_pss_rsae_sha256",
                         "rsa_pss_rsae_sha384",
                         "rsa_pss_rsae_sha512",
                         "rsa_pss_pss_sha256",
                         "rsa_pss_pss_sha384",
                         "rsa_pss_pss_sha512",
                         "rsa_pkcs1_sha256",
                         "rsa_pkcs1_sha384",
                         "rsa_pkcs1_sha512",
                         "dsa_sha256",
                         "ecdsa_sha224",
                         "rsa_pkcs1_sha224",
                         "ecdsa_sha1",
                         "rsa_pkcs1_sha1"};
  p.min_dh_bits = 1024;
  p.min_rsa_bits = 1024;
  return {"java17", "Java 17 (SunJSSE defaults)", std::move(p)};
}

// Node.js 20 tls.DEFAULT_CIPHERS (src/node_constants.h DEFAULT_CIPHER_LIST_CORE):
// "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:
//  ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:
//  ECDHE-ECDSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256:
//  DHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:DHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA256:
//  DHE-RSA-AES256-SHA256:HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA",
// expanded with `openssl ciphers -stdname` on OpenSSL 3.0 (Node 20 bundles 3.0); tls.DEFAULT_MIN_VERSION
// TLSv1.2; groups and signature schemes are OpenSSL's defaults. Node keeps OpenSSL's security level 1.
client_family node() {
  auto p = base("node");
  p.tls13_suites = openssl_tls13;
  p.tls12_suites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
                    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
                    "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
                    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
                    "TLS_DHE_RSA_WITH_AES_256_CCM_8",
                    "TLS_DHE_RSA_WITH_AES_256_CCM",
                    "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384",
                    "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384",
                    "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384",
                    "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
                    "TLS_DHE_RSA_WITH_AES_128_CCM_8",
                    "TLS_DHE_RSA_WITH_AES_128_CCM",
                    "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256",
                    "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256",
                    "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
                    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
                    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
                    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
                    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
                    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
                    "TLS_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_RSA_WITH_AES_256_CCM_8",
                    "TLS_RSA_WITH_AES_256_CCM",
                    "TLS_RSA_WITH_ARIA_256_GCM_SHA384",
                    "TLS_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_RSA_WITH_AES_128_CCM_8",
                    "TLS_RSA_WITH_AES_128_CCM",
                    "TLS_RSA_WITH_ARIA_128_GCM_SHA256",
                    "TLS_RSA_WITH_AES_256_CBC_SHA256",
                    "TLS_RSA_WITH_AES_128_CBC_SHA256",
                    "TLS_RSA_WITH_AES_256_CBC_SHA",
                    "TLS_RSA_WITH_AES_128_CBC_SHA"};
  p.groups = openssl_groups;
  p.signature_schemes = openssl_sigalgs;
  p.min_dh_bits = 1024;  // security level 1: 80-bit security
  p.min_rsa_bits = 1024;
  return {"node", "Node.js 20 (tls defaults)", std::move(p)};
}

client_family postern(const char* profile) {
  return {std::string("postern-") + profile, std::string("postern ") + profile, *tls::profile(profile)};
}

}  // namespace

const std::vector<client_family>& client_families() {
  static const std::vector<client_family> all = {
      rustls(),          go(), openssl(), python(), java17(), node(), postern("strict"), postern("compat"),
      postern("legacy"),
  };
  return all;
}

}  // namespace postern::probe
