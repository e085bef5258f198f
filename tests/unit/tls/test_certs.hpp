#pragma once
// Certificates made in-process for the TLS tests, and a memory-BIO handshake driver.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace postern::tls::test {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct x509_deleter {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct ssl_deleter {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

pkey_ptr make_rsa_key(int bits = 2048);
pkey_ptr make_ec_key();  // P-256

struct cert_spec {
  std::string common_name;
  std::vector<std::string> dns_names;  ///< subjectAltName DNS entries
  std::vector<std::string> ip_names;   ///< subjectAltName IP entries
  long not_before_offset = -3600;      ///< seconds from now
  long not_after_offset = 86400 * 30;  ///< seconds from now
  bool is_ca = false;
  std::string ca_issuers_url;                     ///< AIA caIssuers, as publicly issued leaves carry
  std::string extended_key_usage = "serverAuth";  ///< leaves only; "clientAuth" for client certificates
};

/** Signs @p spec for @p key with @p issuer_key; self-signed when @p issuer is null. */
x509_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key);

/** A root CA, an intermediate, and leaves signed by the intermediate or the root. */
struct pki {
  pkey_ptr root_key, inter_key, leaf_key;
  x509_ptr root, inter;
  pki();
  /** A leaf for @p names (first is the CN) signed by the intermediate (or the root). */
  x509_ptr leaf(const std::vector<std::string>& names, bool by_intermediate = true,
                long not_after_offset = 86400 * 30, long not_before_offset = -3600);
  /** Writes the root as PEM to a temporary file and returns its path. */
  std::string root_file() const;
};

/** Writes certificates as PEM to a fresh temporary file; returns its path. */
std::string write_pem(const std::vector<X509*>& certs);

/** A server SSL_CTX with @p cert (+ @p chain) and @p key. */
SSL_CTX* make_server_ctx(X509* cert, EVP_PKEY* key, const std::vector<X509*>& chain = {});

/** Outcome of a handshake run over a memory BIO pair. */
struct handshake_result {
  bool client_ok = false;
  bool server_ok = false;
  bool client_eof = false;  ///< the client saw the transport close
  int client_error = SSL_ERROR_NONE;
};

/**
 * Runs client and server handshakes against each other over BIO_new_bio_pair until both
 * finish or one fails. The client's error queue is left intact for classify_handshake_failure.
 */
handshake_result run_handshake(SSL* client, SSL* server);

/**
 * Runs the client handshake against a peer that replies with @p reply bytes (e.g. a plain-text
 * SMTP greeting) and then closes.
 */
handshake_result run_against_bytes(SSL* client, const std::string& reply);

}  // namespace postern::tls::test
