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
 * probe::wire from the IANA registry — the server's pick from the whole list is its first
 * choice; that suite is removed and the question asked again — so the cost grows with the
 * number of suites the server accepts, not with the number known. Groups the same way
 * (TLS 1.3 HelloRetryRequest, TLS 1.2 ServerKeyExchange). Client families are real OpenSSL
 * handshakes offering exactly that family's versions, suites, groups and signature schemes,
 * with certificate verification on. Independent checks run concurrently, at most
 * options::jobs connections at a time.
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
  std::string host;
  std::uint16_t port = 0;
};

struct options {
  std::vector<target> targets;
  std::string ca_file;      ///< PEM roots for verification; "" = the system's roots
  std::string tls_name;     ///< name to verify and send as SNI; "" = the target's host
  std::string client_cert;  ///< PEM client certificate the client families present when asked; "" = none
  std::string client_key;   ///< PEM private key of client_cert; "" = it is in client_cert
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  ///< per step of each connection
  unsigned jobs = 8;                                            ///< connections at once (all targets)
  std::string ehlo = "localhost";                               ///< EHLO name
  std::optional<net::proxy> proxy{};  ///< every connection goes through this proxy (docs/proxy.md)
};

/** What a port speaks. */
enum class port_mode { tls, starttls, plain, closed };
/** "tls", "starttls", "plain", "closed" (the JSON values). */
const char* to_string(port_mode m) noexcept;

struct version_support {
  std::string version;  ///< "SSLv3", "TLSv1.0" … "TLSv1.3"
  bool accepted = false;
};

/** One accepted cipher suite. */
struct suite {
  std::string name;  ///< IANA name
  std::uint16_t code = 0;
  std::string version;  ///< "TLSv1.2"
  std::string kx;       ///< "ECDHE", "DHE", "RSA", "ECDH", "DH", "PSK", … (TLS 1.3: from the group picked)
  int bits = 0;         ///< symmetric strength, as sslscan reports it
  int order = 0;        ///< 1 = the server's first choice within that version
};

/** One key-exchange group the server accepts. */
struct group {
  std::string name;     ///< "x25519", "secp256r1", "ffdhe2048"; TLS 1.2 DHE with own parameters: "dh2048"
  std::string version;  ///< "TLSv1.3" or "TLSv1.2"
};

/** One certificate as the server sent it (leaf first). */
struct certificate {
  std::string subject;  ///< RFC 2253
  std::string issuer;
  std::vector<std::string> sans;  ///< "DNS:mail.example.org", "IP:127.0.0.1"
  std::string not_before;         ///< ISO 8601 UTC
  std::string not_after;
  std::string key_type;  ///< "RSA", "EC", "Ed25519", "Ed448", "DSA", or OpenSSL's name
  int key_bits = 0;
  std::string signature_algorithm;  ///< e.g. "sha256WithRSAEncryption"
};

/** Whether one client family can connect. */
struct client_result {
  std::string family;  ///< "rustls", "go", "openssl", "python", "java17", "node", "postern-strict", …
  bool ok = false;
  std::string version;  ///< when ok
  std::string suite;    ///< IANA name, when ok
  std::string code;     ///< cause code, when not ok
  std::string detail;   ///< failure summary, or the group agreed
};

/** Everything found about one HOST:PORT. */
struct target_report {
  std::string host;
  std::uint16_t port = 0;
  port_mode mode = port_mode::closed;
  std::string error_code;             ///< why the port is closed (net.refused …), "" otherwise
  std::optional<std::string> banner;  ///< the 220 greeting's text (lines joined by " / ")
  std::vector<std::string> ehlo_before_tls;
  std::vector<std::string> ehlo_after_tls;
  bool auth_before_tls = false;
  std::vector<version_support> versions;
  std::vector<suite> suites;  ///< by version (newest first), then server order
  bool server_preference = false;
  std::vector<group> groups;
  std::vector<certificate> chain;
  bool chain_verifies = false;
  std::optional<std::string> chain_problem;  ///< tls.cert.* code
  /** The port refuses TLS clients without a client certificate (or refused the one given):
      the families' handshakes failed with tls.client-cert-required. */
  bool client_cert_required = false;
  std::vector<client_result> clients;
  std::vector<diagnose::finding> findings;
  long elapsed_ms = 0;
  int hellos_sent = 0;  ///< raw ClientHellos this target cost (the scan's work)
  bool reachable() const noexcept { return mode != port_mode::closed; }
};

struct report {
  std::vector<target_report> targets;
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
