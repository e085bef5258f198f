#pragma once
/**
 * @file
 * Per-service memory of what worked (a service: host, port and mode), in SQLite, safe
 * for many postern processes at once, and the pure decisions made from it:
 *
 * - a handshake weaker than what the same service gave before is a possible downgrade attack
 *   (cause plan.downgrade): refused unless the user accepts it;
 * - a route to a service never seen, weaker than a route known on another port of the host,
 *   is allowed with a warning naming the stronger route (cause plan.weaker-than-known);
 * - automatic routing tries the host's strongest remembered route first.
 *
 *   plan::host_memory m(plan::host_memory::default_path());
 *   const auto known = m.services("smtp.example.org");
 *   if (auto first = plan::remembered_route(known, 0, {}, {})) try_first(*first);
 *   auto v = plan::check_route(known, facts_after_the_handshake);   // ok, warn or refuse
 */
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "postern/diagnose/finding.hpp"

struct sqlite3;

namespace postern::plan {

/** What a working route looked like: enough to recognise a weaker one later. */
struct route_facts {
  std::string host;          ///< the server name as the user gave it
  std::uint16_t port = 0;    ///< the port connected to
  std::string mode;          ///< "tls", "starttls", "plain"
  std::string profile;       ///< "strict", "compat", "legacy"
  std::string tls_version;   ///< "TLSv1.3"
  std::string cipher;        ///< IANA name
  std::string kx;            ///< "ECDHE", "DHE", "RSA", "" (TLS 1.3: always ephemeral)
  std::string group;         ///< key exchange group, IANA name ("x25519"), when there is one
  std::string issuer;        ///< certificate issuer, RFC 2253
  std::string key_sha256;    ///< server key fingerprint (recorded; a new key alone is no downgrade)
  std::int64_t seen_at = 0;  ///< unix seconds
};

/** Whether @p a and @p b are the same service: host, port and mode. */
bool same_service(const route_facts& a, const route_facts& b) noexcept;

/** "587/starttls" */
std::string service_name(const route_facts& r);

/**
 * Reasons why @p now is weaker than @p before, in plain words; empty when it is not:
 * a lower TLS version, RSA key exchange (or DHE) where ECDHE worked, a weaker profile,
 * a different certificate issuer.
 */
std::vector<std::string> downgrade_reasons(const route_facts& before, const route_facts& now);

/**
 * Whether @p a is a stronger route than @p b, in this order: the profile (strict, compat,
 * legacy), the TLS version, the key exchange (ECDHE or TLS 1.3, DHE, RSA); then the more
 * recently seen; then the lower port, "starttls" before "tls" (a total order: deterministic).
 */
bool stronger(const route_facts& a, const route_facts& b) noexcept;

/** The strongest of @p services (see stronger()); nullopt when there is none. */
std::optional<route_facts> strongest(const std::vector<route_facts>& services);

/**
 * The remembered route automatic routing tries first: the strongest of @p services that is
 * in scope — on @p given_port when one is given, else on one of @p ports (any port when
 * empty) — and whose profile is strict or one of @p allow. Plaintext services never.
 */
std::optional<route_facts> remembered_route(const std::vector<route_facts>& services,
                                            std::uint16_t given_port, const std::vector<std::uint16_t>& ports,
                                            const std::vector<std::string>& allow);

/** What the memory says about a route about to carry credentials and mail. */
struct memory_verdict {
  /** What to do with the route. */
  enum class action {
    ok,      ///< go ahead
    warn,    ///< go ahead, but tell the user (plan.weaker-than-known)
    refuse,  ///< stop before credentials or mail (plan.downgrade)
  };
  action act = action::ok;  ///< the decision
  /** refuse: what was remembered for the same service (or the route tried first);
   *  warn: the stronger route known on another port of the host. */
  std::optional<route_facts> remembered;
  std::vector<std::string> reasons;  ///< how the route is weaker (downgrade_reasons)
  /** refuse: "possible downgrade attack on HOST: …. Refused. …";
   *  warn: "587/starttls with strict worked for this host; this route uses compat". */
  std::string summary;

  bool ok() const noexcept { return act == action::ok; }           ///< act is ok
  bool refused() const noexcept { return act == action::refuse; }  ///< act is refuse
  bool warned() const noexcept { return act == action::warn; }     ///< act is warn
  /** The verdict as a finding: plan.downgrade (error) or plan.weaker-than-known (warning). */
  diagnose::finding finding() const;
};

/**
 * The downgrade check, after the TLS handshake of @p now (host, port, mode and the TLS
 * facts), against the remembered @p services of that host:
 * - the same service (host, port, mode) is remembered: refuse when @p now is weaker than it,
 *   else ok;
 * - @p failed_first is the remembered route automatic routing tried first and that failed:
 *   refuse when @p now is weaker than it (the fallback an attacker blocking it would cause);
 * - otherwise, a service never seen: warn when @p now is weaker than another service of the
 *   host (naming the strongest such), else ok.
 * Services of other hosts in @p services are ignored.
 */
memory_verdict check_route(const std::vector<route_facts>& services, const route_facts& now,
                           const std::optional<route_facts>& failed_first = std::nullopt);

/**
 * STARTTLS missing on @p port of @p host (the server greeted, EHLO had no STARTTLS): refuse
 * when STARTTLS worked there before (what a stripping attacker causes), else ok.
 */
memory_verdict check_starttls_missing(const std::vector<route_facts>& services, const std::string& host,
                                      std::uint16_t port);

/** Whether @p r should replace @p same (the memory of the same service): not when weaker,
 *  unless @p accept_weaker. */
bool should_record(const std::optional<route_facts>& same, const route_facts& r, bool accept_weaker);

/**
 * The SQLite database of remembered services (one row per host, port and mode). Writes are
 * transactions, so several postern processes may share the file.
 */
class host_memory {
 public:
  /** The schema this code writes (PRAGMA user_version). 0: the old per-host table. */
  static constexpr int schema_version = 1;

  /**
   * Opens or creates the database (and its folder); migrates an old per-host database in
   * place, in one transaction (safe when several processes open it at once). Throws
   * std::runtime_error naming the file (also for a schema newer than this code's).
   */
  explicit host_memory(const std::string& path);
  ~host_memory();
  host_memory(const host_memory&) = delete;
  host_memory& operator=(const host_memory&) = delete;

  /** What worked for this service (host, port, mode). */
  std::optional<route_facts> lookup(const std::string& host, std::uint16_t port, const std::string& mode);
  /** Every remembered service of @p host, strongest first. */
  std::vector<route_facts> services(const std::string& host);
  /** The host's strongest remembered service. */
  std::optional<route_facts> strongest(const std::string& host);
  /**
   * Stores @p r as what its service (host, port, mode) does, unless it is weaker than what is
   * known for that service (then returns false), in one transaction, so concurrent senders
   * never lose or corrupt an entry. With @p accept_weaker a weaker route replaces the known
   * one (the user accepted the downgrade). Other services of the host are not touched.
   */
  bool record(const route_facts& r, bool accept_weaker = false);
  /** Forgets every service of @p host, or only those on @p port when it is not 0.
   *  @return how many services were forgotten. */
  std::size_t forget(const std::string& host, std::uint16_t port = 0);
  /** Every service, by host, strongest first. */
  std::vector<route_facts> list();

  /** $XDG_STATE_HOME/postern/hosts.sqlite, or ~/.local/state/postern/hosts.sqlite. */
  static std::string default_path();

 private:
  void exec(const char* sql);
  int user_version();
  void migrate();
  std::vector<route_facts> select(const std::string& where, const std::vector<std::string>& args);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace postern::plan
