#include "postern/plan/host_memory.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <stdexcept>

namespace postern::plan {
namespace {

int version_rank(const std::string& v) {
  if (v == "TLSv1.3") return 4;
  if (v == "TLSv1.2") return 3;
  if (v == "TLSv1.1") return 2;
  if (v == "TLSv1.0") return 1;
  return 0;
}

// 2: ECDHE (or TLS 1.3), 1: finite-field DHE, 0: RSA key exchange (no forward secrecy).
int kx_rank(const route_facts& r) {
  if (r.tls_version == "TLSv1.3" || r.kx == "ECDHE") return 2;
  if (r.kx == "DHE") return 1;
  return 0;
}

int profile_rank(const std::string& p) {
  if (p == "strict") return 2;
  if (p == "compat") return 1;
  return 0;
}

// Statements are prepared per call: the database is opened per process, used a few times.
struct statement {
  sqlite3_stmt* s = nullptr;
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("host memory: ") + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(s); }
  void bind(int i, const std::string& v) { sqlite3_bind_text(s, i, v.c_str(), -1, SQLITE_TRANSIENT); }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
  std::string text(int i) {
    const auto* t = sqlite3_column_text(s, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
};

route_facts row(statement& st) {
  route_facts r;
  r.host = st.text(0);
  r.port = static_cast<std::uint16_t>(sqlite3_column_int(st.s, 1));
  r.mode = st.text(2);
  r.profile = st.text(3);
  r.tls_version = st.text(4);
  r.cipher = st.text(5);
  r.kx = st.text(6);
  r.group = st.text(7);
  r.issuer = st.text(8);
  r.key_sha256 = st.text(9);
  r.seen_at = sqlite3_column_int64(st.s, 10);
  return r;
}

constexpr const char* columns =
    "host, port, mode, profile, tls_version, cipher, kx, grp, issuer, key_sha256, seen_at";

}  // namespace

std::vector<std::string> downgrade_reasons(const route_facts& before, const route_facts& now) {
  std::vector<std::string> out;
  if (version_rank(now.tls_version) < version_rank(before.tls_version))
    out.push_back(now.tls_version + " where " + before.tls_version + " worked");
  if (kx_rank(now) < kx_rank(before)) {
    const std::string was = before.tls_version == "TLSv1.3" ? "TLS 1.3 (ECDHE)" : before.kx;
    out.push_back((now.kx == "RSA" ? std::string("RSA key exchange (no forward secrecy)") : now.kx) +
                  " where " + was + " worked");
  }
  if (profile_rank(now.profile) < profile_rank(before.profile))
    out.push_back("the " + now.profile + " profile was needed where " + before.profile + " worked");
  if (!before.issuer.empty() && !now.issuer.empty() && before.issuer != now.issuer)
    out.push_back("the certificate is issued by " + now.issuer + ", before by " + before.issuer);
  return out;
}

host_memory::host_memory(const std::string& path) : path_(path) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open host memory " + path + ": " + msg);
  }
  // Many postern processes may write at once: wait for the lock instead of failing.
  sqlite3_busy_timeout(db_, 15000);
  exec("PRAGMA journal_mode=WAL");
  exec(
      "CREATE TABLE IF NOT EXISTS hosts (host TEXT PRIMARY KEY, port INTEGER, mode TEXT, profile TEXT, "
      "tls_version TEXT, cipher TEXT, kx TEXT, grp TEXT, issuer TEXT, key_sha256 TEXT, seen_at INTEGER)");
}

host_memory::~host_memory() { sqlite3_close(db_); }

void host_memory::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("host memory " + path_ + ": " + msg);
  }
}

std::optional<route_facts> host_memory::lookup(const std::string& host) {
  statement st(db_, (std::string("SELECT ") + columns + " FROM hosts WHERE host = ?").c_str());
  st.bind(1, host);
  if (sqlite3_step(st.s) == SQLITE_ROW) return row(st);
  return std::nullopt;
}

bool host_memory::record(const route_facts& r, bool accept_weaker) {
  // IMMEDIATE: take the write lock before reading, so compare-and-store is atomic across processes.
  exec("BEGIN IMMEDIATE");
  try {
    auto known = lookup(r.host);
    if (known && !accept_weaker && !downgrade_reasons(*known, r).empty()) {
      exec("COMMIT");
      return false;
    }
    statement st(db_, (std::string("INSERT OR REPLACE INTO hosts (") + columns +
                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                          .c_str());
    st.bind(1, r.host);
    st.bind(2, static_cast<std::int64_t>(r.port));
    st.bind(3, r.mode);
    st.bind(4, r.profile);
    st.bind(5, r.tls_version);
    st.bind(6, r.cipher);
    st.bind(7, r.kx);
    st.bind(8, r.group);
    st.bind(9, r.issuer);
    st.bind(10, r.key_sha256);
    st.bind(11, r.seen_at ? r.seen_at : static_cast<std::int64_t>(std::time(nullptr)));
    if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
    exec("COMMIT");
    return true;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

bool host_memory::forget(const std::string& host) {
  statement st(db_, "DELETE FROM hosts WHERE host = ?");
  st.bind(1, host);
  if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  return sqlite3_changes(db_) > 0;
}

std::vector<route_facts> host_memory::list() {
  std::vector<route_facts> out;
  statement st(db_, (std::string("SELECT ") + columns + " FROM hosts ORDER BY host").c_str());
  while (sqlite3_step(st.s) == SQLITE_ROW) out.push_back(row(st));
  return out;
}

std::string host_memory::default_path() {
  if (const char* s = std::getenv("XDG_STATE_HOME"); s && *s) return std::string(s) + "/postern/hosts.sqlite";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/postern/hosts.sqlite";
}

}  // namespace postern::plan
