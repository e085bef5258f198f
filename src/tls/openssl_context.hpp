#pragma once
// The OpenSSL backend of postern::tls. Internal header: only src/ includes it.
// A tls::policy becomes an SSL_CTX here and nowhere else.
#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "postern/tls/policy.hpp"

namespace postern::tls {

struct ctx_deleter { void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); } };
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ctx_deleter>;

/** How to verify the server. Verification is on unless insecure is set explicitly. */
struct verify_options {
  std::string ca_file;     ///< PEM bundle; "" means the system roots
  bool insecure = false;   ///< skip chain and name checks (never part of a fallback)
};

/**
 * Builds a client SSL_CTX that offers exactly what @p p allows. Throws nothing;
 * returns nullptr and sets @p error (human text) if OpenSSL refuses a setting.
 */
ssl_ctx_ptr make_client_context(const policy& p, const verify_options& v, std::string& error);

/**
 * Per-connection setup on an SSL made from such a context: SNI (skipped for IP
 * literals), and the host-name check against @p name (unless insecure).
 */
bool prepare_connection(SSL* ssl, const std::string& name, bool insecure, std::string& error);

/** What a finished handshake agreed on, for reports and the host memory. */
struct handshake_info {
  std::string version;        ///< "TLSv1.3"
  std::string cipher;         ///< IANA name, e.g. TLS_AES_256_GCM_SHA384
  std::string group;          ///< key-exchange group, e.g. x25519; "" for RSA key exchange
  std::string kx;             ///< "ECDHE", "DHE", "RSA", or "" for TLS 1.3 (always (EC)DHE)
  std::string peer_subject;   ///< RFC 2253 text
  std::string peer_issuer;
  std::string peer_not_after; ///< ISO 8601
  std::string peer_key_sha256;///< hex SHA-256 of the server's SubjectPublicKeyInfo
};
handshake_info describe_handshake(SSL* ssl);

/** Why a handshake failed, reduced to a DESIGN.md cause code and plain words. */
struct handshake_failure {
  std::string code;      ///< e.g. "tls.cert.expired", "tls.handshake-failed"
  std::string summary;   ///< one line, plain words
  std::string detail;    ///< OpenSSL reason / alert / verify result text, for evidence
};
/**
 * Call right after SSL_do_handshake failed: reads the OpenSSL error queue (and clears
 * it), the alert received if any, and SSL_get_verify_result.
 * @param received_eof true when the peer closed the connection during the handshake
 */
handshake_failure classify_handshake_failure(SSL* ssl, bool received_eof);

}  // namespace postern::tls
