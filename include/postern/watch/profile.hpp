#pragma once
/**
 * @file
 * What `postern watch` remembers about one HOST:PORT at one moment (docs/watch.md), and its
 * JSON form, which the state database stores. Pure: no I/O, no OpenSSL, no Asio.
 *
 *   watch::profile p;
 *   p.host = "127.0.0.1"; p.port = 465; p.time = 1790000000; p.mode = "tls";
 *   std::string error;
 *   auto back = watch::parse_profile(watch::to_json(p), error);   // *back == p
 */
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::watch {

/** One certificate the server sent, as far as changes to it matter. */
struct cert_facts {
  std::string subject;     ///< RFC 2253
  std::string issuer;      ///< RFC 2253
  std::string not_before;  ///< ISO 8601 UTC, "2026-12-02T10:00:00Z"
  std::string not_after;   ///< ISO 8601 UTC
  std::string sha256;      ///< hex SHA-256 of the DER certificate
  std::string key_sha256;  ///< hex SHA-256 of its public key (SubjectPublicKeyInfo)
  bool operator==(const cert_facts&) const = default;  ///< field by field
};

/** Whether one client family (rustls, go, openssl, python, java17, node, postern-strict …) connects. */
struct client_facts {
  std::string family;                                    ///< the probe's family name
  bool ok = false;                                       ///< handshake done, certificate verified
  std::string version;                                   ///< when ok: "TLSv1.3"
  std::string suite;                                     ///< when ok: IANA name
  std::string code;                                      ///< when not ok: the cause code
  bool operator==(const client_facts&) const = default;  ///< field by field
};

/** One HOST:PORT as probed at one time. */
struct profile {
  std::string host;                   ///< as given
  std::uint16_t port = 0;             ///< the port probed
  std::int64_t time = 0;              ///< when, unix seconds
  std::string mode;                   ///< "tls", "starttls", "plain", "closed"
  std::string error_code;             ///< why the port is closed (net.refused …), "" otherwise
  std::vector<std::string> versions;  ///< accepted TLS versions, "TLSv1.2", newest first
  std::vector<std::string> suites;    ///< accepted cipher suites (IANA names), every version
  std::vector<std::string> groups;    ///< accepted key-exchange groups ("x25519"), every version
  bool starttls = false;              ///< STARTTLS offered in plaintext EHLO
  bool auth = false;                  ///< AUTH offered (after TLS, or in plaintext on a plain port)
  std::vector<cert_facts> chain;      ///< as sent, leaf first
  bool chain_verifies = false;        ///< some client family verified the chain
  std::string chain_problem;          ///< tls.cert.* code when it does not, else ""
  std::vector<client_facts> clients;  ///< the client-compatibility matrix
  std::vector<std::string> causes;    ///< the probe's error findings' cause codes ("tls.kx.rsa-only")
  bool operator==(const profile&) const = default;  ///< field by field

  /** "host:port" ("[v6]:port" for an IPv6 address). */
  std::string target() const;
  /** The port answered (mode is not "closed"). */
  bool reachable() const noexcept { return mode != "closed"; }
  /** TLS was spoken (implicit or after STARTTLS). */
  bool has_tls() const noexcept { return mode == "tls" || mode == "starttls"; }
  /** The client family called @p family, or nullptr. */
  const client_facts* client(std::string_view family) const;
};

/** The profile as one compact JSON object (the stored form; docs/watch.md). */
std::string to_json(const profile& p);

/**
 * Reads what to_json() wrote. Unknown keys are ignored (a newer postern may add some).
 * @param text   the JSON text
 * @param error  set to what is wrong when nullopt is returned
 */
std::optional<profile> parse_profile(std::string_view text, std::string& error);

/** "2026-12-02T10:00:00Z" → unix seconds; nullopt unless exactly that form and a valid date. */
std::optional<std::int64_t> parse_utc(std::string_view iso8601);
/** Unix seconds → "2026-12-02T10:00:00Z". */
std::string format_utc(std::int64_t unix_seconds);

/**
 * A retention period: a number and a unit, possibly repeated ("90d", "12h", "2w", "1d12h"):
 * s seconds, m minutes, h hours, d days, w weeks. nullopt for anything else, for 0, and for
 * more than 100 years.
 */
std::optional<std::int64_t> parse_duration(std::string_view text);

}  // namespace postern::watch
