#include "postern/plan/host_memory.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <tuple>

#include "sqlite/shared_database.hpp"

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

// One transaction per schema step; version 0 is the per-host table `hosts` (host TEXT PRIMARY KEY).
constexpr const char* create_services =
    "CREATE TABLE IF NOT EXISTS services (host TEXT NOT NULL, port INTEGER NOT NULL, mode TEXT NOT NULL, "
    "profile TEXT, tls_version TEXT, cipher TEXT, kx TEXT, grp TEXT, issuer TEXT, key_sha256 TEXT, "
    "seen_at INTEGER, PRIMARY KEY (host, port, mode))";

std::string describe(const route_facts& k) {
  return service_name(k) + ", profile " + k.profile + ", " + k.tls_version + " " + k.cipher +
         (k.issuer.empty() ? "" : ", issuer " + k.issuer);
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : sep) + x;
  return out;
}

bool in_scope(const route_facts& r, std::uint16_t given_port, const std::vector<std::uint16_t>& ports) {
  if (given_port) return r.port == given_port;
  return ports.empty() || std::find(ports.begin(), ports.end(), r.port) != ports.end();
}

memory_verdict refuse(const route_facts& remembered, std::vector<std::string> reasons,
                      const std::string& host, const std::string& forget_what) {
  memory_verdict v;
  v.act = memory_verdict::action::refuse;
  v.remembered = remembered;
  v.reasons = std::move(reasons);
  v.summary = "possible downgrade attack on " + host + ": " + join(v.reasons, "; ") +
              ". Refused. If the server really changed, run `postern hosts forget " + forget_what +
              "` or send again with --accept-downgrade";
  return v;
}

}  // namespace

bool same_service(const route_facts& a, const route_facts& b) noexcept {
  return a.host == b.host && a.port == b.port && a.mode == b.mode;
}

std::string service_name(const route_facts& r) { return std::to_string(r.port) + "/" + r.mode; }

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

bool stronger(const route_facts& a, const route_facts& b) noexcept {
  const auto key = [](const route_facts& r) {
    return std::make_tuple(profile_rank(r.profile), version_rank(r.tls_version), kx_rank(r), r.seen_at,
                           -static_cast<int>(r.port), r.mode == "starttls");
  };
  return key(a) > key(b);
}

std::optional<route_facts> strongest(const std::vector<route_facts>& services) {
  if (services.empty()) return std::nullopt;
  return *std::min_element(services.begin(), services.end(),
                           [](const route_facts& a, const route_facts& b) { return stronger(a, b); });
}

std::optional<route_facts> remembered_route(const std::vector<route_facts>& services,
                                            std::uint16_t given_port, const std::vector<std::uint16_t>& ports,
                                            const std::vector<std::string>& allow) {
  std::vector<route_facts> usable;
  for (const auto& s : services)
    if (s.mode != "plain" && in_scope(s, given_port, ports) &&
        (s.profile == "strict" || std::find(allow.begin(), allow.end(), s.profile) != allow.end()))
      usable.push_back(s);
  return strongest(usable);
}

diagnose::finding memory_verdict::finding() const {
  diagnose::finding f;
  f.code = refused() ? "plan.downgrade" : "plan.weaker-than-known";
  f.severity = refused() ? diagnose::severity::error : diagnose::severity::warning;
  f.summary = summary;
  if (remembered) f.evidence.push_back("remembered: " + describe(*remembered));
  for (const auto& r : reasons) f.evidence.push_back(r);
  if (warned() && remembered)
    f.remedies.push_back({"use-other-port",
                          "postern send --server " + remembered->host + ":" +
                              std::to_string(remembered->port) +
                              (remembered->mode == "tls" ? " --tls" : " --starttls") + " --tls-profile " +
                              remembered->profile + " …",
                          ""});
  return f;
}

memory_verdict check_route(const std::vector<route_facts>& services, const route_facts& now,
                           const std::optional<route_facts>& failed_first) {
  for (const auto& s : services)
    if (same_service(s, now)) {
      auto reasons = downgrade_reasons(s, now);
      if (reasons.empty()) return {};
      return refuse(s, std::move(reasons), now.host, now.host + ":" + std::to_string(now.port));
    }
  if (failed_first && failed_first->host == now.host) {
    auto reasons = downgrade_reasons(*failed_first, now);
    if (!reasons.empty()) {
      reasons.insert(reasons.begin(), "the remembered route " + service_name(*failed_first) +
                                          " failed and this route (" + service_name(now) + ") is weaker");
      return refuse(*failed_first, std::move(reasons), now.host, now.host);
    }
  }
  std::vector<route_facts> better;
  for (const auto& s : services)
    if (s.host == now.host && !downgrade_reasons(s, now).empty()) better.push_back(s);
  auto best = strongest(better);
  if (!best) return {};
  memory_verdict v;
  v.act = memory_verdict::action::warn;
  v.remembered = best;
  v.reasons = downgrade_reasons(*best, now);
  v.summary = service_name(*best) + " with " + best->profile + " worked for this host; this route uses " +
              now.profile;
  if (profile_rank(now.profile) >= profile_rank(best->profile))
    v.summary += " (" + join(v.reasons, "; ") + ")";
  return v;
}

memory_verdict check_starttls_missing(const std::vector<route_facts>& services, const std::string& host,
                                      std::uint16_t port) {
  for (const auto& s : services)
    if (s.host == host && s.port == port && s.mode == "starttls") {
      memory_verdict v;
      v.act = memory_verdict::action::refuse;
      v.remembered = s;
      v.reasons = {"STARTTLS is no longer offered on port " + std::to_string(port) + " where it was"};
      v.summary = "possible downgrade attack on " + host + ": " + v.reasons.front() +
                  ". Refused. If the server really changed, run `postern hosts forget " + host + ":" +
                  std::to_string(port) + "`";
      return v;
    }
  return {};
}

bool should_record(const std::optional<route_facts>& same, const route_facts& r, bool accept_weaker) {
  return !same || accept_weaker || downgrade_reasons(*same, r).empty();
}

host_memory::host_memory(const std::string& path) : path_(path) {
  // Many postern processes may write at once: wait for the lock instead of failing.
  db_ = sqlite::open_shared_database(path, "host memory", std::chrono::seconds(15));
  try {
    if (user_version() != schema_version) migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
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

int host_memory::user_version() {
  statement st(db_, "PRAGMA user_version");
  return sqlite3_step(st.s) == SQLITE_ROW ? sqlite3_column_int(st.s, 0) : 0;
}

void host_memory::migrate() {
  // IMMEDIATE: one process migrates; another one opening the old file at the same time waits
  // for the lock, then sees the new version and does nothing.
  exec("BEGIN IMMEDIATE");
  try {
    const int v = user_version();
    if (v > schema_version)
      throw std::runtime_error("host memory " + path_ + " has schema version " + std::to_string(v) +
                               ", newer than this postern's (" + std::to_string(schema_version) + ")");
    if (v < schema_version) {
      exec(create_services);
      bool old_table = false;
      {
        statement st(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hosts'");
        old_table = sqlite3_step(st.s) == SQLITE_ROW;
      }  // finalized: an open statement would keep DROP TABLE from running
      if (old_table) {
        // Version 0 kept one route per host: it becomes that host's one remembered service.
        exec(
            "INSERT OR REPLACE INTO services (host, port, mode, profile, tls_version, cipher, kx, grp, "
            "issuer, "
            "key_sha256, seen_at) SELECT host, COALESCE(port, 0), COALESCE(mode, ''), profile, tls_version, "
            "cipher, kx, grp, issuer, key_sha256, seen_at FROM hosts WHERE host IS NOT NULL");
        exec("DROP TABLE hosts");
      }
      exec(("PRAGMA user_version = " + std::to_string(schema_version)).c_str());
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<route_facts> host_memory::select(const std::string& where, const std::vector<std::string>& args) {
  std::vector<route_facts> out;
  statement st(db_, (std::string("SELECT ") + columns + " FROM services" + where).c_str());
  for (std::size_t i = 0; i < args.size(); ++i) st.bind(static_cast<int>(i + 1), args[i]);
  for (int rc; (rc = sqlite3_step(st.s)) != SQLITE_DONE;) {
    if (rc != SQLITE_ROW) throw std::runtime_error("host memory " + path_ + ": " + sqlite3_errmsg(db_));
    out.push_back(row(st));
  }
  std::stable_sort(out.begin(), out.end(), [](const route_facts& a, const route_facts& b) {
    return a.host != b.host ? a.host < b.host : stronger(a, b);
  });
  return out;
}

std::optional<route_facts> host_memory::lookup(const std::string& host, std::uint16_t port,
                                               const std::string& mode) {
  auto r = select(" WHERE host = ? AND port = ? AND mode = ?", {host, std::to_string(port), mode});
  if (r.empty()) return std::nullopt;
  return r.front();
}

std::vector<route_facts> host_memory::services(const std::string& host) {
  return select(" WHERE host = ?", {host});
}

std::optional<route_facts> host_memory::strongest(const std::string& host) {
  return plan::strongest(services(host));
}

bool host_memory::record(const route_facts& r, bool accept_weaker) {
  // IMMEDIATE: take the write lock before reading, so compare-and-store is atomic across processes.
  exec("BEGIN IMMEDIATE");
  try {
    if (!should_record(lookup(r.host, r.port, r.mode), r, accept_weaker)) {
      exec("COMMIT");
      return false;
    }
    statement st(db_, (std::string("INSERT OR REPLACE INTO services (") + columns +
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

std::size_t host_memory::forget(const std::string& host, std::uint16_t port) {
  statement st(
      db_, port ? "DELETE FROM services WHERE host = ? AND port = ?" : "DELETE FROM services WHERE host = ?");
  st.bind(1, host);
  if (port) st.bind(2, static_cast<std::int64_t>(port));
  if (sqlite3_step(st.s) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

std::vector<route_facts> host_memory::list() { return select(" ORDER BY host", {}); }

std::string host_memory::default_path() {
  if (const char* s = std::getenv("XDG_STATE_HOME"); s && *s) return std::string(s) + "/postern/hosts.sqlite";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/postern/hosts.sqlite";
}

}  // namespace postern::plan
