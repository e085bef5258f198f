#pragma once
/**
 * @file
 * `postern probe`: a TLS and SMTP profile of mail servers, with a client-compatibility
 * matrix. No Asio or OpenSSL types here: the scan runs its own event loop inside run().
 *
 *   probe::options o;
 *   o.targets = {{"127.0.0.1", 465}};
 *   auto r = probe::run(o);
 *   std::cout << probe::render_text(r);
 *
 * Method (see docs/probe.md): suites are enumerated with raw ClientHellos built by
 * probe::wire from the IANA registry — the server's pick from an offered list is its first
 * choice among them; that suite is removed and the question asked again — so the cost grows
 * with the number of suites the server accepts, not with the number known. The candidates are
 * split into disjoint subsets asked at once, and the server's order is recovered afterwards
 * with a few more hellos. Groups the same way (TLS 1.3 HelloRetryRequest, TLS 1.2
 * ServerKeyExchange). Client families are real OpenSSL handshakes offering exactly that
 * family's versions, suites, groups and signature schemes, with certificate verification on.
 * Every search that does not need another's answer runs at once, at most options::jobs
 * connections at a time.
 */
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "postern/diagnose/doctor.hpp"
#include "postern/diagnose/finding.hpp"
#include "postern/net/proxy.hpp"

namespace postern::probe {

/** One server to profile. Port 0 expands to 465, 587 and 25 (three targets in the report). */
struct target {
  std::string host;        ///< name or address
  std::uint16_t port = 0;  ///< 0: 465, 587 and 25
};

/** What run() scans, and how. */
struct options {
  std::vector<target> targets;  ///< the servers to profile (not empty)
  std::string ca_file;          ///< PEM roots for verification; "" = the system's roots
  std::string tls_name;         ///< name to verify and send as SNI; "" = the target's host
  std::string client_cert;      ///< PEM client certificate the client families present when asked; "" = none
  std::string client_key;       ///< PEM private key of client_cert; "" = it is in client_cert
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  ///< per step of each connection
  unsigned jobs = 24;                                           ///< connections at once (all targets)
  std::string ehlo = "localhost";                               ///< EHLO name
  std::optional<net::proxy> proxy{};  ///< every connection goes through this proxy (docs/proxy.md)
};

/** What a port speaks. */
enum class port_mode {
  tls,       ///< implicit TLS
  starttls,  ///< SMTP with STARTTLS
  plain,     ///< SMTP without STARTTLS
  closed,    ///< no SMTP or TLS service answered (see target_report::error_code)
};
/** "tls", "starttls", "plain", "closed" (the JSON values). */
const char* to_string(port_mode m) noexcept;

/** Whether the server accepts one protocol version. */
struct version_support {
  std::string version;    ///< "SSLv3", "TLSv1.0" … "TLSv1.3"
  bool accepted = false;  ///< some suite was accepted with this version
};

/** One accepted cipher suite. */
struct suite {
  std::string name;        ///< IANA name
  std::uint16_t code = 0;  ///< IANA code point, e.g. 0x009C
  std::string version;     ///< "TLSv1.2"
  std::string kx;  ///< "ECDHE", "DHE", "RSA", "ECDH", "DH", "PSK", … (TLS 1.3: from the group picked)
  int bits = 0;    ///< symmetric strength, as sslscan reports it
  int order = 0;   ///< 1 = the server's first choice within that version
};

/** One key-exchange group the server accepts. */
struct group {
  std::string name;     ///< "x25519", "secp256r1", "ffdhe2048"; TLS 1.2 DHE with own parameters: "dh2048"
  std::string version;  ///< "TLSv1.3" or "TLSv1.2"
};

/** One certificate as the server sent it (leaf first). */
struct certificate {
  std::string subject;              ///< RFC 2253
  std::string issuer;               ///< RFC 2253
  std::vector<std::string> sans;    ///< "DNS:mail.example.org", "IP:127.0.0.1"
  std::string not_before;           ///< ISO 8601 UTC
  std::string not_after;            ///< ISO 8601 UTC
  std::string key_type;             ///< "RSA", "EC", "Ed25519", "Ed448", "DSA", or OpenSSL's name
  int key_bits = 0;                 ///< key size in bits (256 for P-256)
  std::string signature_algorithm;  ///< e.g. "sha256WithRSAEncryption"
  std::string sha256;               ///< hex SHA-256 of the DER certificate (its fingerprint)
  std::string key_sha256;           ///< hex SHA-256 of the SubjectPublicKeyInfo (same key = same value)
};

/** Whether one client family can connect. */
struct client_result {
  std::string family;   ///< "rustls", "go", "openssl", "python", "java17", "node", "postern-strict", …
  bool ok = false;      ///< the handshake succeeded, certificate verified
  std::string version;  ///< when ok
  std::string suite;    ///< IANA name, when ok
  std::string code;     ///< cause code, when not ok
  std::string detail;   ///< failure summary, or the group agreed
};

/** Everything found about one HOST:PORT. */
struct target_report {
  std::string host;                          ///< as given
  std::uint16_t port = 0;                    ///< the port probed
  port_mode mode = port_mode::closed;        ///< what the port speaks
  std::string error_code;                    ///< why the port is closed (net.refused …), "" otherwise
  std::optional<std::string> banner;         ///< the 220 greeting's text (lines joined by " / ")
  std::vector<std::string> ehlo_before_tls;  ///< EHLO keywords in plaintext, upper-case
  std::vector<std::string> ehlo_after_tls;   ///< EHLO keywords over TLS, upper-case
  bool auth_before_tls = false;              ///< AUTH offered in plaintext
  std::vector<version_support> versions;     ///< TLSv1.0 … TLSv1.3 always; SSLv3 only when accepted
  std::vector<suite> suites;                 ///< by version (newest first), then server order
  bool server_preference = false;            ///< the server imposes its own suite order
  std::vector<group> groups;                 ///< in the server's order
  std::vector<certificate> chain;            ///< as sent, leaf first
  bool chain_verifies =
      false;  ///< some client family verified the chain (against ca_file or the system's roots)
  std::optional<std::string> chain_problem;  ///< tls.cert.* code
  /** The port refuses TLS clients without a client certificate (or refused the one given):
      the families' handshakes failed with tls.client-cert-required. */
  bool client_cert_required = false;
  std::vector<client_result> clients;       ///< the client-compatibility matrix, one per family
  std::vector<diagnose::finding> findings;  ///< what is weak or wrong, as in postern doctor
  long elapsed_ms = 0;                      ///< how long this target took
  int hellos_sent = 0;                      ///< raw ClientHellos this target cost (the scan's work)
  int connections = 0;                      ///< TCP connections this target cost (hellos and handshakes)
  /** The longest chain of waits for the server (TCP connect, each SMTP reply, each TLS flight)
      this target's scan had to wait through one after another: what its time grows with as the
      round-trip time grows (counted, not measured; see docs/probe.md). */
  int round_trips = 0;
  bool reachable() const noexcept { return mode != port_mode::closed; }  ///< mode is not closed
};

/** The result of run(): one target_report per HOST:PORT. */
struct report {
  std::vector<target_report> targets;  ///< in the order of options::targets (port 0 expanded)
  /** 0 when every target was reachable, 69 (EX_UNAVAILABLE) otherwise; findings do not count. */
  int exit_code() const noexcept;
};

/** The checks run() needs before connecting (the client certificate and key); nullopt when fine. */
std::optional<diagnose::option_problem> check_options(const options& o);

/** Called once per finished target (done of total), from the thread that called run(). */
using progress = std::function<void(std::size_t done, std::size_t total, const target_report& finished)>;

/**
 * Profiles every target; never throws for network or TLS problems.
 * @param o        what to scan (o.targets must not be empty)
 * @param on_done  optional, called as each target completes
 *
 *   auto r = probe::run({.targets = {{"127.0.0.1", 587}}});
 */
report run(const options& o, const progress& on_done = {});

/** The JSON document of docs/probe.md ({"targets": [...]}), pretty-printed. */
std::string render_json(const report& r);
/** Compact human tables; @p utf8 chooses ✓/✗ over ok/--. */
std::string render_text(const report& r, bool utf8 = true);
/** One self-contained HTML page (inline CSS, no scripts, no external resources). */
std::string render_html(const report& r);

}  // namespace postern::probe
