#pragma once
/**
 * @file
 * The pure part of `postern watch`: one target's previous and current profile (and the
 * accounts and remembered routes that use it) in, findings with stable codes out
 * (docs/watch.md lists every code). No I/O.
 *
 *   watch::compare_options o;                       // warn 21 days, critical 7 days
 *   auto found = watch::compare(previous, current, o);
 *   int rc = watch::monitoring_status(found);       // 0 OK, 1 WARNING, 2 CRITICAL
 */
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "postern/watch/profile.hpp"

namespace postern::watch {

/** How much a finding matters to whoever watches. */
enum class level {
  note,      ///< worth knowing (an expected renewal, a suite added)
  warning,   ///< act soon (certificate expiring, a client family lost, an allowance to remove)
  critical,  ///< act now (expired, port down, STARTTLS gone, strict broken)
};
/** "note", "warning", "critical" (the JSON values). */
const char* to_string(level l) noexcept;

/** One change or condition found for one target. */
struct finding {
  std::string code;                  ///< stable: "watch.cert.expiring", … (docs/causes.md)
  watch::level level = level::note;  ///< how much it matters
  std::string target;                ///< "host:port"
  std::string summary;               ///< one sentence, plain words, what to do when there is something to do
  std::string before;                ///< the old value, "" when there is none
  std::string after;                 ///< the new value, "" when there is none
};

/** Something that sends through a host and the weakest TLS profile it lets routing use. */
struct route_use {
  std::string source;      ///< "account" or "host-memory"
  std::string name;        ///< the account's name, or the remembered service ("465/tls")
  std::string host;        ///< the server
  std::uint16_t port = 0;  ///< 0: any port of the host (an account without `port`)
  std::string profile;     ///< "strict", "compat", "legacy": what it allows or what was remembered
  std::string
      setting;  ///< an account's line that allows it ("allow compat", "tls-profile legacy"); "" = strict
};

/** What compare() checks besides the differences. */
struct compare_options {
  int warn_days = 21;           ///< certificate expiring within this many days: warning
  int critical_days = 7;        ///< within this many days: critical
  bool check_expiry = true;     ///< false for --history: only what changed between two profiles
  std::vector<route_use> uses;  ///< accounts and remembered routes (only those of the target's host count)
};

/**
 * Findings for @p now against @p before (the previous profile of the same target, if any):
 * port state, certificate (expiry relative to now.time, replacement, issuer, chain), TLS
 * versions, suites, groups, client families, STARTTLS and AUTH, and for every use of the
 * host: an allowance (compat, legacy) that strict makes unneeded, or a strict route that broke.
 * Without @p before: watch.baseline plus the checks of the current state alone.
 */
std::vector<finding> compare(const std::optional<profile>& before, const profile& now,
                             const compare_options& o = {});

/** One list that changed between two profiles: what was added and what was removed. */
struct difference {
  std::string field;                 ///< "versions", "suites", "groups", "clients_ok", "chain", "mode", …
  std::vector<std::string> added;    ///< in now, not in before
  std::vector<std::string> removed;  ///< in before, not in now
};
/** Every field of the two profiles that differs (the --json "differences"). */
std::vector<difference> differences(const profile& before, const profile& now);

/** Monitoring-plugins status of @p found: 0 OK (notes only), 1 WARNING, 2 CRITICAL. */
int monitoring_status(const std::vector<finding>& found) noexcept;
/** "OK", "WARNING", "CRITICAL", "UNKNOWN" for 0 … 3. */
const char* status_name(int status) noexcept;

/** "ECDHE with AES-GCM", "TLS 1.3 with ChaCha20-Poly1305": a suite in words. */
std::string describe_suite(const std::string& iana_name, const std::string& version);

}  // namespace postern::watch
