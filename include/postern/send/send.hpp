#pragma once
/**
 * @file
 * The transport API: send one or more messages to one server over one connection.
 * This is what the `postern` CLI uses; no Asio or OpenSSL types appear here.
 *
 *   send::options o;
 *   o.host = "smtp.example.org"; o.port = 587; o.mode = send::mode::starttls;
 *   auto r = send::send(o, {{{.mail_from = "a@example.org", .rcpt_to = {"b@example.org"}}, rfc5322_text}});
 *   if (!r.ok) std::cerr << r.error->code << ": " << r.error->summary << "\n";
 */
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/net/mode.hpp"
#include "postern/net/proxy.hpp"
#include "postern/smtp/session.hpp"

namespace postern::send {

/** How the connection becomes secure (see net/mode.hpp). */
using net::default_port;
using net::mode;
using net::to_string;

/** RFC 5321 §4.5.3.2 defaults; each is a total for its step, not an idle timer. */
struct timeouts {
  std::chrono::milliseconds connect{std::chrono::seconds(30)};  ///< TCP connect (and a proxy's handshake)
  std::chrono::milliseconds greeting{std::chrono::minutes(5)};  ///< the server's 220 greeting
  std::chrono::milliseconds command{std::chrono::minutes(5)};   ///< each command's reply (and TLS handshakes)
  std::chrono::milliseconds data_initiation{std::chrono::minutes(2)};    ///< the 354 reply to DATA
  std::chrono::milliseconds data_termination{std::chrono::minutes(10)};  ///< the reply to the final dot
  /** Every step gets @p t (the CLI's --timeout). */
  static timeouts all(std::chrono::milliseconds t) { return {t, t, t, t, t}; }
};

/** SMTP AUTH for send(): who, with what secret, which mechanism. */
struct auth_options {
  std::string user;    ///< for EXTERNAL: the authorization identity ("" = from the certificate)
  std::string secret;  ///< password, or bearer token for XOAUTH2; unused by EXTERNAL
  std::optional<std::string> mechanism;  ///< force one; else the strongest offered (never EXTERNAL or
                                         ///< XOAUTH2: those only when forced; EXTERNAL needs client_cert)
};

/** A failure in plain words with its DESIGN.md cause code. */
struct failure {
  std::string code;     ///< e.g. "net.refused", "tls.handshake-failed"
  std::string summary;  ///< one line
  std::string detail;   ///< evidence: the reply, the OpenSSL reason…
};

/** What the TLS handshake agreed on and the server's certificate, for reports and the downgrade check. */
struct tls_report {
  std::string profile, version, cipher, kx, group, peer_subject, peer_issuer, peer_not_after, peer_key_sha256;
  /** @var profile
   * the TLS profile used: "strict", "compat" or "legacy" */
  /** @var version
   * "TLSv1.3" (TLS 1.0 is "TLSv1.0") */
  /** @var cipher
   * IANA name, e.g. TLS_AES_256_GCM_SHA384 */
  /** @var kx
   * key exchange: "ECDHE", "DHE", "RSA", or "" for TLS 1.3 (always ephemeral) */
  /** @var group
   * key exchange group, e.g. x25519, ffdhe2048; "" for RSA key exchange */
  /** @var peer_subject
   * the server certificate's subject, RFC 2253 text */
  /** @var peer_issuer
   * the server certificate's issuer, RFC 2253 text */
  /** @var peer_not_after
   * when the server certificate expires, ISO 8601 */
  /** @var peer_key_sha256
   * hex SHA-256 of the server's public key (SubjectPublicKeyInfo) */
  /** The handshake resumed a session an earlier connection got (tls_session_cache): no
      certificate exchange; the version, cipher and group above are still this handshake's. */
  bool resumed = false;
};

/**
 * TLS sessions (TLS 1.3 tickets, TLS 1.2 session ids) shared by connections to one server, so
 * that the next connection resumes instead of running a full handshake: the pool behind
 * `postern bulk` gives one to all its connections. The newest session a route got replaces the
 * one before; the key is host, port, TLS name and profile. Not thread-safe: one executor.
 */
class tls_session_cache {
 public:
  tls_session_cache();
  ~tls_session_cache();
  tls_session_cache(const tls_session_cache&) = delete;             ///< not copyable
  tls_session_cache& operator=(const tls_session_cache&) = delete;  ///< not copyable
  /** Sessions received from servers so far (every ticket counts). */
  std::size_t received() const noexcept;
  /** The backend's state (src/send/send.cpp). */
  struct state;
  /** The backend's state, for src/send only. */
  state& internal() noexcept { return *state_; }

 private:
  std::unique_ptr<state> state_;
};

/** Everything send() needs to reach one server over one route. */
struct options {
  std::string host;                        ///< the mail server: a name, or an address (then set tls_name)
  std::uint16_t port = 0;                  ///< 0: default_port(mode)
  send::mode mode = send::mode::starttls;  ///< implicit TLS, STARTTLS or plain
  std::string tls_profile = "strict";      ///< a name from tls::profile_names()
  std::string ca_file;                     ///< PEM roots instead of the system's
  std::string tls_name;                    ///< name to verify instead of host (when connecting by address)
  bool insecure = false;                   ///< skip certificate verification: explicit only
  std::string client_cert;            ///< PEM client certificate to present when the server asks; "" = none
  std::string client_key;             ///< PEM private key of client_cert; "" = it is in client_cert
  std::string ehlo_domain;            ///< default: this machine's host name
  std::optional<auth_options> auth;   ///< nullopt: no SMTP AUTH
  bool allow_plaintext_auth = false;  ///< allow AUTH over a connection without TLS (mode plain only)
  /** Connect through this SOCKS5 or HTTP CONNECT proxy (docs/proxy.md); the TLS name stays host. */
  std::optional<net::proxy> proxy{};
  send::timeouts timeouts;  ///< per-step deadlines (RFC 5321 defaults)
  /** A plaintext connection silent this long gets a second connection that checks for an
      implicit-TLS port (mode.plaintext-on-tls-port) instead of waiting out the greeting; 0: never. */
  std::chrono::milliseconds silence_window{std::chrono::seconds(3)};
  /** Called right after each TLS handshake, before credentials or mail travel: a failure it
      returns aborts the connection (the host memory's downgrade check, cause plan.downgrade). */
  std::function<std::optional<failure>(const tls_report&)> check_tls;
  /** Called with each transcript event as it is recorded (credentials redacted). */
  std::function<void(const smtp::transcript_event&)> on_transcript;
  /** Offer the session stored here in the TLS handshake, and store the ones the server gives
      (resumption across the connections that share it); null: every handshake is a full one. */
  std::shared_ptr<tls_session_cache> tls_sessions;
  /** false: report::transcript stays empty (on_transcript still gets every event), so the memory
      of a connection carrying thousands of messages does not grow with them (`postern bulk`). */
  bool keep_transcript = true;
  /** false: report::messages keeps only the last message's report (message_source::done() still
      gets every one), for the same reason; report::ok then speaks of that last message only. */
  bool keep_message_reports = true;
  /** Send with BDAT when the server offers CHUNKING (RFC 3030); false: always DATA (--no-chunking). */
  bool chunking = true;
};

/** One message to send: its envelope and its RFC 5322 content. */
struct message {
  smtp::envelope envelope;  ///< MAIL FROM and RCPT TO addresses, and the DSN request (envelope.dsn)
  /** RFC 5322 text; LF or CRLF line ends. A built message (client::build_message) is already
      final CRLF text; smtp::normalise_line_ends() gives the exact bytes that go on the wire. */
  std::string content;
};

/** What the server said to one RCPT TO. */
struct recipient_report {
  std::string address;    ///< the recipient as given
  bool accepted = false;  ///< the RCPT TO got 2xx
  std::string reply;      ///< the server's reply, one line per line
};

/** The outcome of one message. */
struct message_report {
  std::size_t size = 0;                      ///< octets on the wire (after CRLF normalisation)
  bool delivered = false;                    ///< the final dot got 250
  std::string reply;                         ///< reply to the final dot
  std::vector<recipient_report> recipients;  ///< one per RCPT TO, in envelope order
  std::optional<failure> error;              ///< why this message was not (fully) delivered
  bool chunking = false;                     ///< sent with BDAT (RFC 3030), not DATA
  bool smtputf8 = false;                     ///< MAIL FROM carried SMTPUTF8 (RFC 6531)
  bool dsn = false;                          ///< the DSN parameters were sent (RFC 3461)
  bool dsn_ignored = false;                  ///< DSN was asked for, the server does not offer it
};

/** The outcome of send(): the connection, TLS facts, per-message results and the first failure. */
struct report {
  bool ok = false;                            ///< every message delivered to every recipient
  std::string host;                           ///< the server, as given
  std::uint16_t port = 0;                     ///< the port connected to
  std::string address;                        ///< the IP address connected to (through a proxy: the proxy's)
  send::mode mode = send::mode::starttls;     ///< how the connection was secured
  std::optional<tls_report> tls;              ///< nullopt when TLS never came up
  std::optional<std::string> auth_mechanism;  ///< the SASL mechanism used; nullopt: no AUTH
  std::vector<message_report> messages;       ///< one per message, in order (those not attempted omitted)
  std::optional<failure> error;               ///< the first failure, when !ok
  int exit_code = 0;                          ///< sysexits.h value for this outcome
  std::vector<smtp::transcript_event> transcript;  ///< credentials redacted
};

/** Whether @p mechanism names SASL EXTERNAL (any case): the TLS client certificate is the credential. */
bool is_external(std::string_view mechanism) noexcept;

/** A problem with the options themselves, found without connecting. */
struct option_problem {
  failure what;        ///< code "usage" (64), "input" (66: a file cannot be read) or "config" (78)
  int exit_code = 64;  ///< sysexits.h
};

/**
 * The checks send() runs before connecting, for callers that connect otherwise first (routing):
 * the client certificate and key load and belong together; --auth EXTERNAL has a client
 * certificate to use. nullopt when the options are fine.
 *
 *   if (auto p = send::check_options(o)) { std::cerr << p->what.summary; return p->exit_code; }
 */
std::optional<option_problem> check_options(const options& opts);

/**
 * Connects once and sends each message in order over that connection. Never throws
 * for network, TLS or protocol problems: they are in the report.
 */
report send(const options& opts, const std::vector<message>& messages);
// The same as a coroutine, for an io_context of the caller's: send/async.hpp.

}  // namespace postern::send
