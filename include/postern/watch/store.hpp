#pragma once
/**
 * @file
 * The profiles `postern watch` took, in SQLite (table `profiles`: one row per run and target,
 * the profile as JSON), safe for several postern processes at once. Default file:
 * $XDG_STATE_HOME/postern/watch.sqlite.
 *
 *   watch::store s(watch::store::default_path());
 *   auto before = s.latest("127.0.0.1", 465);
 *   s.add(now_profile);
 *   s.prune(now - 90 * 86400);
 */
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "postern/watch/profile.hpp"

struct sqlite3;

namespace postern::watch {

/** The state database of watched profiles. Throws std::runtime_error naming the file on any failure. */
class store {
 public:
  /** Opens or creates the database and its folder. */
  explicit store(const std::string& path);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /** The newest profile of @p host:@p port, nullopt when it was never watched. */
  std::optional<profile> latest(const std::string& host, std::uint16_t port);
  /** Stores @p p; two profiles of one target taken within the same second are both kept, in order. */
  void add(const profile& p);
  /** Every stored profile of @p host (all ports), oldest first. */
  std::vector<profile> history(const std::string& host);
  /**
   * Removes profiles taken before @p older_than (unix seconds), except the newest of each
   * target, so the next run still has something to compare with.
   * @return how many were removed
   */
  std::size_t prune(std::int64_t older_than);

  /** $XDG_STATE_HOME/postern/watch.sqlite, or ~/.local/state/postern/watch.sqlite. */
  static std::string default_path();

 private:
  void exec(const char* sql);
  std::vector<profile> select(const char* sql, const std::vector<std::string>& args);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace postern::watch
