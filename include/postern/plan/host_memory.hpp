#pragma once
/**
 * @file Per-host memory of the strongest route that worked, in SQLite, safe for many
 * postern processes at once. A later, weaker result for the same host is a possible
 * downgrade attack (cause plan.downgrade): refused unless the user accepts it.
 *
 *   plan::host_memory m(plan::host_memory::default_path());
 *   if (auto known = m.lookup("smtp.example.org")) try_first(*known);
 *   auto weaker = plan::downgrade_reasons(*known, now);   // empty: fine
 */
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace postern::plan {

/** What a working route looked like: enough to recognise a weaker one later. */
struct route_facts {
  std::string host;
  std::uint16_t port = 0;
  std::string mode;         ///< "tls", "starttls", "plain"
  std::string profile;      ///< "strict", "compat", "legacy"
  std::string tls_version;  ///< "TLSv1.3"
  std::string cipher;       ///< IANA name
  std::string kx;           ///< "ECDHE", "DHE", "RSA", "" (TLS 1.3: always ephemeral)
  std::string group;
  std::string issuer;        ///< certificate issuer, RFC 2253
  std::string key_sha256;    ///< server key fingerprint (recorded; a new key alone is no downgrade)
  std::int64_t seen_at = 0;  ///< unix seconds
};

/**
 * Reasons why @p now is weaker than @p before, in plain words; empty when it is not:
 * a lower TLS version, RSA key exchange (or DHE) where ECDHE worked, a weaker profile,
 * a different certificate issuer.
 */
std::vector<std::string> downgrade_reasons(const route_facts& before, const route_facts& now);

class host_memory {
 public:
  /** Opens or creates the database (and its folder). Throws std::runtime_error naming the file. */
  explicit host_memory(const std::string& path);
  ~host_memory();
  host_memory(const host_memory&) = delete;
  host_memory& operator=(const host_memory&) = delete;

  std::optional<route_facts> lookup(const std::string& host);
  /**
   * Stores @p r unless it is weaker than what is known (then returns false), in one
   * transaction, so concurrent senders never lose or corrupt an entry. With @p accept_weaker
   * a weaker route replaces the known one (the user accepted the downgrade).
   */
  bool record(const route_facts& r, bool accept_weaker = false);
  /** @return whether the host was known. */
  bool forget(const std::string& host);
  std::vector<route_facts> list();

  /** $XDG_STATE_HOME/postern/hosts.sqlite, or ~/.local/state/postern/hosts.sqlite. */
  static std::string default_path();

 private:
  void exec(const char* sql);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace postern::plan
