#pragma once
/**
 * @file
 * postern's front door: submit messages the way `postern send` does, in one call.
 *
 * The call does the whole secure-first flow: the route remembered for the service first,
 * otherwise secure-first automatic routing (strict routes on the given port and the other
 * submission ports; a weaker profile only where `allow` permits it; plaintext never), the
 * downgrade check against the host memory, a diagnosis of the real cause when the
 * connection fails, and recording what worked. No Asio or OpenSSL types appear here; the
 * asynchronous call for programs with their own `asio::io_context` is in client/async.hpp.
 *
 *   postern::client::request q;
 *   q.host = "smtp.example.org";
 *   q.messages.push_back({{.mail_from = "a@example.org", .rcpt_to = {"b@example.org"}}, rfc5322_text});
 *   auto r = postern::client::submit(q);
 *   if (!r.ok()) std::cerr << r.cause() << ": " << r.delivery.error->summary << "\n";
 *
 * Thread safety: submit() may run on many threads at once, each with its own request; the
 * host memory is shared safely (SQLite transactions) by threads and processes alike.
 */
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "postern/diagnose/finding.hpp"
#include "postern/dkim/sign.hpp"
#include "postern/net/mode.hpp"
#include "postern/net/proxy.hpp"
#include "postern/send/send.hpp"

namespace postern::client {

/** How the route is chosen. */
struct route_policy {
  /** true: secure-first automatic routing; false: exactly `mode` with `profile`. */
  bool automatic = true;
  net::mode mode = net::mode::starttls;  ///< explicit routes only
  std::string profile = "strict";        ///< explicit routes only: strict, compat or legacy
  std::vector<std::string> allow;        ///< automatic only: weaker profiles it may use (compat, legacy)
  /** Automatic: the ports tried after the given one (empty: 465, 587, 25). Explicit: where a failed
      send's diagnosis looks for alternatives (empty: nowhere). */
  std::vector<std::uint16_t> ports;
};

/** Certificate verification and the TLS name; verification is never turned off by a fallback. */
struct tls_options {
  std::string ca_file;      ///< PEM roots instead of the system's
  std::string tls_name;     ///< name to verify instead of the host (when connecting by address)
  bool insecure = false;    ///< no verification at all: explicit only
  std::string client_cert;  ///< PEM client certificate presented when the server asks (may hold the key)
  std::string client_key;   ///< PEM private key of client_cert, when not in that file
};

/** What a secret provider is asked for: one connection's credentials. */
struct secret_request {
  std::string host;        ///< the mail server (request::host)
  std::uint16_t port = 0;  ///< the port of the route in use
  std::string user;        ///< auth_options::user
};

/** SMTP AUTH. The secret is asked for per connection, so an OAuth2 token can be refreshed. */
struct auth_options {
  std::string user;  ///< the SMTP AUTH user name
  /** PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, XOAUTH2, or EXTERNAL (the TLS client certificate is the
      credential; user is then the optional authorization identity); unset: the strongest offered. */
  std::optional<std::string> mechanism;
  std::string secret;  ///< used when there is no provider
  /** Returns the password or bearer token, called before each connection that may authenticate.
      An exception it throws ends the submission with cause smtp.auth-failed and its what(). */
  std::function<std::string(const secret_request&)> secret_provider;
  bool allow_plaintext = false;  ///< credentials over a connection without TLS (explicit plain only)
};

/** The host memory: the strongest route that worked per service, and the downgrade check. */
struct memory_options {
  bool enabled = true;            ///< false: neither read nor write the memory (no downgrade check)
  std::string path;               ///< "": plan::host_memory::default_path()
  bool accept_downgrade = false;  ///< the user accepted a route weaker than the remembered one
};

/** Everything one submission needs. */
struct request {
  std::string host;        ///< the mail server: a name, or an address (then set tls.tls_name)
  std::uint16_t port = 0;  ///< 0: none given (automatic routing tries 465, 587, 25; explicit: the mode's)
  route_policy route;      ///< automatic (the default) or an explicit route
  tls_options tls;         ///< verification and the client certificate
  std::optional<auth_options> auth;  ///< nullopt: no SMTP AUTH
  std::string ehlo_domain;           ///< "": this machine's host name
  /** Per step (connect, greeting, each command, the final dot); nullopt: RFC 5321's defaults for
      sending and 10 s per step for route probing. */
  std::optional<std::chrono::milliseconds> timeout;
  memory_options memory;  ///< the host memory (on by default)
  /** Every connection goes through this SOCKS5 or HTTP CONNECT proxy (docs/proxy.md); the TLS name
      stays the mail server's. Nothing reads ALL_PROXY by itself: see net::proxy_from_environment(). */
  std::optional<net::proxy> proxy;
  std::vector<send::message>
      messages;  ///< sent in order over one connection (client::build_message builds one)
  /** BDAT when the server offers CHUNKING (RFC 3030); false: always DATA. */
  bool chunking = true;
  /** DKIM: every message is signed before the first connection (docs/dkim.md); nullopt: unsigned.
      A key or a message that cannot be signed ends the submission with its dkim.* cause, nothing sent. */
  std::optional<dkim::signing_options> dkim;
  /** Called with every transcript event as it happens (AUTH lines already redacted). */
  std::function<void(const smtp::transcript_event&)> on_transcript;
  /** Called with each warning or note as it arises (also in report::findings). */
  std::function<void(const diagnose::finding&)> on_finding;
};

/** How the route was chosen. */
struct route_report {
  bool automatic = false;                      ///< chosen by automatic routing (or taken from memory by it)
  bool from_memory = false;                    ///< the remembered route was used
  std::uint16_t port = 0;                      ///< the port of the route used
  net::mode mode = net::mode::starttls;        ///< the mode of the route used
  std::string profile;                         ///< the TLS profile of the route used
  std::string reason;                          ///< one line: why this route
  std::vector<diagnose::route_attempt> tried;  ///< the route probes made, in order (automatic only)
};

/** The outcome of one submission. */
struct report {
  /** The connection that carried (or failed to carry) the messages: server, address, mode, TLS facts,
      AUTH mechanism, per-message and per-recipient results, the first error, the transcript. */
  send::report delivery;
  route_report route;  ///< which route was used, and why
  /** The diagnosis of a failure (main cause first, with remedies), then warnings and notes. */
  std::vector<diagnose::finding> findings;
  /** Where the diagnosis started ("host:port"), when there was one. */
  std::string diagnosed_target;

  /** Every message reached every recipient. */
  bool ok() const noexcept { return delivery.ok; }
  /** The cause code of the failure (docs/causes.md); "" when ok. */
  std::string cause() const { return delivery.error ? delivery.error->code : std::string(); }
  /** sysexits.h code: 0, 67 (some recipients refused), 69, 75, 77, ... */
  int exit_code() const noexcept;
};

/** Runs the whole flow; never throws for network, TLS, protocol or memory problems: they are in the
    report. Throws std::invalid_argument for a request that cannot be run (no host, no messages,
    an unknown profile or `allow` entry). */
report submit(const request& q);

/** The report as the JSON object `postern send --json` prints (docs/send-json.md). */
std::string to_json(const report& r, int indent = 2);

}  // namespace postern::client
