#include "postern/watch/store.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "sqlite/shared_database.hpp"

namespace postern::watch {
namespace {

// Statements are prepared per call: one watch run uses the database a few times per target.
struct statement {
  sqlite3* db;
  sqlite3_stmt* s = nullptr;
  const std::string& path;
  statement(sqlite3* d, const char* sql, const std::string& p) : db(d), path(p) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error("watch state " + path + ": " + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(s); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  void bind(int i, const std::string& v) { sqlite3_bind_text(s, i, v.c_str(), -1, SQLITE_TRANSIENT); }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
  bool step() {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error("watch state " + path + ": " + sqlite3_errmsg(db));
  }
  std::string text(int i) {
    const auto* t = sqlite3_column_text(s, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
};

}  // namespace

store::store(const std::string& path) : path_(path) {
  db_ = sqlite::open_shared_database(path, "watch state", std::chrono::seconds(15));
  try {
    exec(
        "CREATE TABLE IF NOT EXISTS profiles (id INTEGER PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT "
        "NULL, "
        "taken_at INTEGER NOT NULL, profile TEXT NOT NULL)");
    // id orders the profiles taken within one second (two runs from a script).
    exec("CREATE INDEX IF NOT EXISTS profiles_target ON profiles (host, port, taken_at)");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

store::~store() { sqlite3_close(db_); }

void store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw std::runtime_error("watch state " + path_ + ": " + msg);
  }
}

std::vector<profile> store::select(const char* sql, const std::vector<std::string>& args) {
  statement st(db_, sql, path_);
  for (std::size_t i = 0; i < args.size(); ++i) st.bind(static_cast<int>(i + 1), args[i]);
  std::vector<profile> out;
  while (st.step()) {
    std::string error;
    auto p = parse_profile(st.text(0), error);
    // A row this code cannot read is a broken state file: say which, never compare against a guess.
    if (!p)
      throw std::runtime_error("watch state " + path_ + ": the stored profile of " + st.text(1) + ":" +
                               st.text(2) + " taken at " + format_utc(sqlite3_column_int64(st.s, 3)) +
                               " does not parse: " + error);
    out.push_back(std::move(*p));
  }
  return out;
}

std::optional<profile> store::latest(const std::string& host, std::uint16_t port) {
  auto rows = select(
      "SELECT profile, host, port, taken_at FROM profiles WHERE host = ?1 AND port = ?2 ORDER BY taken_at "
      "DESC, id DESC LIMIT 1",
      {host, std::to_string(port)});
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

void store::add(const profile& p) {
  statement st(db_, "INSERT INTO profiles (host, port, taken_at, profile) VALUES (?1, ?2, ?3, ?4)", path_);
  st.bind(1, p.host);
  st.bind(2, static_cast<std::int64_t>(p.port));
  st.bind(3, p.time);
  st.bind(4, to_json(p));
  st.step();
}

std::vector<profile> store::history(const std::string& host) {
  return select(
      "SELECT profile, host, port, taken_at FROM profiles WHERE host = ?1 ORDER BY port, taken_at, id",
      {host});
}

std::size_t store::prune(std::int64_t older_than) {
  statement st(
      db_,
      "DELETE FROM profiles WHERE taken_at < ?1 AND id <> (SELECT newest.id FROM profiles AS newest WHERE "
      "newest.host = profiles.host AND newest.port = profiles.port ORDER BY newest.taken_at DESC, newest.id "
      "DESC "
      "LIMIT 1)",
      path_);
  st.bind(1, older_than);
  st.step();
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

std::string store::default_path() {
  if (const char* s = std::getenv("XDG_STATE_HOME"); s && *s) return std::string(s) + "/postern/watch.sqlite";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/postern/watch.sqlite";
}

}  // namespace postern::watch
