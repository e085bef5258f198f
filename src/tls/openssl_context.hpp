#pragma once
// The OpenSSL backend of postern::tls. Internal header: only src/ includes it.
// A tls::policy becomes an SSL_CTX here and nowhere else.
#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "postern/tls/client_identity.hpp"
#include "postern/tls/policy.hpp"

namespace postern::tls {

struct ctx_deleter {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ctx_deleter>;

/** How to verify the server. Verification is on unless insecure is set explicitly. */
struct verify_options {
  std::string ca_file;    ///< PEM bundle; "" means the system roots
  bool insecure = false;  ///< skip chain and name checks (never part of a fallback)
};

/**
 * Builds a client SSL_CTX that offers exactly what @p p allows. Throws nothing;
 * returns nullptr and sets @p error (human text) if OpenSSL refuses a setting.
 * Names this OpenSSL does not know are skipped; a list left empty is an error.
 *
 * OpenSSL's security level is the strongest that lets the policy's lists through
 * (strict: 2; compat and legacy: 0, because OpenSSL 3 rates SHA-1 handshake signatures
 * and TLS < 1.2 below level 1). A security callback then enforces the policy's own floors
 * (min_dh_bits for the server's DHE key; SHA-1 signatures only when listed), and the
 * chain is verified at the X.509 auth level that matches min_rsa_bits (2048 -> level 2,
 * which also refuses SHA-1-signed certificates) in every profile.
 *
 * The context owns a message callback and a verify callback that record alerts, a
 * CertificateRequest and the first verification error for classify_handshake_failure:
 * callers must not replace them (SSL_CTX_set_msg_callback / SSL_set_verify).
 *
 * A non-empty @p client is loaded as the certificate (and key) to present when the server
 * asks for one; a file that does not load is an error (check_client_identity's summary).
 */
ssl_ctx_ptr make_client_context(const policy& p, const verify_options& v, std::string& error,
                                const client_identity& client = {});

/**
 * Per-connection setup on an SSL made from such a context: SNI (skipped for IP
 * literals), and the host-name check against @p name (unless insecure); IP literals
 * are checked against the certificate's IP subjectAltNames. Call before the handshake.
 */
bool prepare_connection(SSL* ssl, const std::string& name, bool insecure, std::string& error);

/** What a finished handshake agreed on, for reports and the host memory. */
struct handshake_info {
  std::string version;       ///< "TLSv1.3", as tls::to_string prints it (so TLS 1.0 is "TLSv1.0")
  std::string cipher;        ///< IANA name, e.g. TLS_AES_256_GCM_SHA384
  std::string group;         ///< key-exchange group, e.g. x25519, ffdhe2048; "" for RSA key
                             ///< exchange; "dh1024" style for DHE with the server's own parameters
  std::string kx;            ///< "ECDHE", "DHE", "RSA", or "" for TLS 1.3 (always (EC)DHE)
  std::string peer_subject;  ///< RFC 2253 text
  std::string peer_issuer;
  std::string peer_not_after;           ///< ISO 8601
  std::string peer_key_sha256;          ///< hex SHA-256 of the server's SubjectPublicKeyInfo
  std::vector<std::string> peer_names;  ///< DNS/IP subjectAltNames, else the CN
};
handshake_info describe_handshake(SSL* ssl);

/** Why a handshake failed, reduced to a DESIGN.md cause code and plain words. */
struct handshake_failure {
  std::string code;                ///< e.g. "tls.cert.expired", "tls.handshake-failed"
  std::string summary;             ///< one line, plain words
  std::string detail;              ///< OpenSSL reason / alert / verify result text, for evidence
  int alert_received = -1;         ///< TLS alert description the server sent, -1 if none
  bool server_hello_seen = false;  ///< the server answered in TLS (a ServerHello arrived)
};
/**
 * Call right after SSL_do_handshake failed, on the same thread and before any other
 * OpenSSL call that could clear the thread's error queue (another SSL's handshake step
 * does): reads the OpenSSL error queue (and clears it), the alert received if any, and
 * the verification result.
 * Codes: tls.cert.* (verification failed), mode.tls-on-plaintext-port (the reply was not
 * TLS), tls.client-cert-required (the server asked for a certificate, then refused the
 * handshake), otherwise tls.handshake-failed; naming the finer causes of DESIGN.md
 * (tls.kx.rsa-only, ...) needs follow-up handshakes, which is diagnose's job.
 * @param received_eof true when the peer closed the connection during the handshake
 */
handshake_failure classify_handshake_failure(SSL* ssl, bool received_eof);

/**
 * Builds a server SSL_CTX for postern relay's STARTTLS and implicit-TLS listeners: TLS 1.3 and
 * 1.2, forward-secret key exchange with AEAD ciphers only (what the strict profile and rustls
 * accept), the certificate chain of @p cert_file (PEM, leaf first) and the key of @p key_file.
 * nullptr and @p error (which file, OpenSSL's reason) when they do not load or do not match.
 */
ssl_ctx_ptr make_server_context(const std::string& cert_file, const std::string& key_file, std::string& error);

/** Whether the server sent a CertificateRequest on this connection (so far). */
bool certificate_requested(const SSL* ssl);

/**
 * For a connection whose handshake succeeded but whose first read or write then failed: with
 * TLS 1.3 a server checks the client's certificate only after the client's Finished, so its
 * certificate_required (116) or bad_certificate/unknown_ca alert arrives on the first read.
 * Returns tls.client-cert-required when the alert (or, while @p nothing_read_yet, a close right
 * after a CertificateRequest that got no certificate) says so; nullopt when the failure is not about a client
 * certificate.
 */
std::optional<handshake_failure> classify_after_handshake(SSL* ssl, bool nothing_read_yet);

/** The facts classify_client_certificate reasons on (pure, for tests). */
struct client_cert_facts {
  bool request_seen = false;  ///< the server sent a CertificateRequest
  bool cert_sent = false;     ///< we answered it with a non-empty Certificate
  int alert = -1;             ///< the alert the server sent, -1 if none
  bool closed = false;        ///< the server closed the connection (no alert; only with alert -1)
  std::string cert_file;      ///< the certificate given (for the summary), "" if none
};
/**
 * tls.client-cert-required when the facts say the server wants a (different) client
 * certificate: alert certificate_required (116); or, after a CertificateRequest, the alerts
 * handshake_failure (40, only when no certificate was sent), bad_certificate (42),
 * certificate_unknown (46), unknown_ca (48), access_denied (49), or a close without an alert
 * (asyncio servers send none). The summary says whether the given certificate was refused.
 */
std::optional<handshake_failure> classify_client_certificate(const client_cert_facts& f);

}  // namespace postern::tls
