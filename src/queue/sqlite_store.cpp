// The SQLite queue. Every call is one transaction; those that change rows start with
// BEGIN IMMEDIATE (the write lock first), so concurrent processes serialise on the lock
// instead of failing with SQLITE_BUSY when a read transaction tries to become a write one.
#include "queue/sqlite_store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "sqlite/shared_database.hpp"

namespace postern::queue {
namespace {

using json = nlohmann::json;

std::int64_t ms(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
clock::time_point at(std::int64_t v) {
  return clock::time_point(std::chrono::duration_cast<clock::duration>(std::chrono::milliseconds(v)));
}

// 128 random bits as hex: ids and lease tokens. random_device reads the kernel's generator.
std::string random_hex(std::size_t bytes) {
  static thread_local std::random_device rd;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; i += 4) {
    auto v = rd();
    for (int k = 0; k < 4 && i + static_cast<std::size_t>(k) < bytes; ++k, v >>= 8) {
      out += digits[(v >> 4) & 0xf];
      out += digits[v & 0xf];
    }
  }
  return out;
}

std::string dsn_to_json(const std::optional<smtp::dsn_request>& d) {
  if (!d) return "";
  json j = {{"never", d->notify_never},
            {"success", d->notify_success},
            {"failure", d->notify_failure},
            {"delay", d->notify_delay},
            {"envid", d->envid},
            {"orcpt", d->orcpt},
            {"required", d->required},
            {"ret", d->ret == smtp::dsn_return::full      ? "full"
                    : d->ret == smtp::dsn_return::headers ? "hdrs"
                                                          : ""}};
  return j.dump();
}

std::optional<smtp::dsn_request> dsn_from_json(const std::string& s) {
  if (s.empty()) return std::nullopt;
  json j = json::parse(s, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  smtp::dsn_request d;
  d.notify_never = j.value("never", false);
  d.notify_success = j.value("success", false);
  d.notify_failure = j.value("failure", false);
  d.notify_delay = j.value("delay", false);
  d.envid = j.value("envid", std::string());
  d.orcpt = j.value("orcpt", true);
  d.required = j.value("required", false);
  const std::string ret = j.value("ret", std::string());
  d.ret = ret == "full"   ? smtp::dsn_return::full
          : ret == "hdrs" ? smtp::dsn_return::headers
                          : smtp::dsn_return::unset;
  return d;
}

constexpr const char* schema =
    "CREATE TABLE IF NOT EXISTS messages ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " mail_from TEXT NOT NULL, rcpt_to TEXT NOT NULL, dsn TEXT NOT NULL DEFAULT '',"
    " content BLOB NOT NULL, account TEXT NOT NULL, delivery TEXT NOT NULL, origin TEXT NOT NULL,"
    " state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL, next_attempt INTEGER NOT NULL, last_attempt INTEGER,"
    " last_cause TEXT NOT NULL DEFAULT '', last_reply TEXT NOT NULL DEFAULT '',"
    " last_summary TEXT NOT NULL DEFAULT '',"
    " lease_owner TEXT, lease_token TEXT, lease_expires INTEGER, committing INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS messages_due ON messages (state, next_attempt);";

constexpr const char* columns =
    "id, mail_from, rcpt_to, dsn, content, account, delivery, origin, state, attempts, created, "
    "next_attempt, "
    "last_attempt, last_cause, last_reply, last_summary, lease_owner, lease_expires, committing";

class sqlite_store final : public store {
 public:
  explicit sqlite_store(std::string path) : path_(std::move(path)) {
    try {
      // Generous: several workers and a relay share the write lock, each holding it briefly.
      db_ = sqlite::open_shared_database(path_, "queue", std::chrono::seconds(60));
    } catch (const std::runtime_error& e) {
      throw store_error(e.what());
    }
    try {
      // FULL: a commit is on disk before add() returns, so "accepted" is never a lie.
      exec("PRAGMA synchronous=FULL");
      exec("BEGIN IMMEDIATE");
      exec(schema);
      exec("COMMIT");
    } catch (...) {
      sqlite3_close(db_);
      db_ = nullptr;
      throw;
    }
  }
  ~sqlite_store() override { sqlite3_close(db_); }
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  std::string add(const new_message& m, clock::time_point now) override {
    const std::string id = random_hex(8);
    transaction t(*this);
    statement st(
        *this,
        "INSERT INTO messages (id, mail_from, rcpt_to, dsn, content, account, delivery, origin, state, "
        "created, next_attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?9)");
    st.bind(1, id);
    st.bind(2, m.envelope.mail_from);
    st.bind(3, json(m.envelope.rcpt_to).dump());
    st.bind(4, dsn_to_json(m.envelope.dsn));
    st.bind_blob(5, m.content);
    st.bind(6, m.account);
    st.bind(7, m.delivery);
    st.bind(8, m.origin);
    st.bind(9, ms(now));
    st.run();
    t.commit();
    return id;
  }

  std::optional<std::pair<lease, entry>> take_due(const std::string& worker, clock::time_point now,
                                                  std::chrono::seconds lease_for) override {
    return take(worker, now, lease_for, nullptr, nullptr);
  }

  std::optional<std::pair<lease, entry>> take_due_for(const std::string& worker, clock::time_point now,
                                                      std::chrono::seconds lease_for,
                                                      const std::string& account,
                                                      const std::string& delivery) override {
    return take(worker, now, lease_for, &account, &delivery);
  }

  bool committing(const lease& l, clock::time_point now) override {
    transaction t(*this);
    statement st(*this,
                 "UPDATE messages SET committing = 1 WHERE id = ?1 AND lease_token = ?2 AND state = 'queued' "
                 "AND lease_expires > ?3");
    st.bind(1, l.id);
    st.bind(2, l.token);
    st.bind(3, ms(now));
    st.run();
    const bool ok = sqlite3_changes(db_) == 1;
    t.commit();
    return ok;
  }

  bool renew(const lease& l, clock::time_point until) override {
    transaction t(*this);
    statement st(
        *this,
        "UPDATE messages SET lease_expires = ?3 WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'");
    st.bind(1, l.id);
    st.bind(2, l.token);
    st.bind(3, ms(until));
    st.run();
    const bool ok = sqlite3_changes(db_) == 1;
    t.commit();
    return ok;
  }

  bool finish(const lease& l, const outcome& o, clock::time_point now) override {
    transaction t(*this);
    statement st(
        *this,
        "UPDATE messages SET state = ?3, attempts = attempts + 1, last_attempt = ?4, next_attempt = ?5, "
        "last_cause = ?6, last_reply = ?7, last_summary = ?8, lease_owner = NULL, lease_token = NULL, "
        "lease_expires = NULL, committing = 0 WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'");
    st.bind(1, l.id);
    st.bind(2, l.token);
    st.bind(3, std::string(to_string(o.next)));
    st.bind(4, ms(now));
    st.bind(5, ms(o.next == status::queued ? o.retry_at : now));
    st.bind(6, o.cause);
    st.bind(7, o.reply);
    st.bind(8, o.summary);
    st.run();
    const bool ok = sqlite3_changes(db_) == 1;
    t.commit();
    return ok;
  }

  std::optional<entry> get(const std::string& id) override {
    statement st(*this, (std::string("SELECT ") + columns + " FROM messages WHERE id = ?1").c_str());
    st.bind(1, id);
    if (!st.row()) return std::nullopt;
    return read(st);
  }

  std::vector<entry> list(const filter& f) override {
    std::string sql = std::string("SELECT ") + columns + " FROM messages WHERE ";
    if (f.states.empty()) {
      sql += "state <> 'delivered'";
    } else {
      sql += "state IN (";
      for (std::size_t i = 0; i < f.states.size(); ++i)
        sql += std::string(i ? "," : "") + "'" + to_string(f.states[i]) + "'";
      sql += ")";
    }
    sql += " ORDER BY created, seq";
    if (f.limit) sql += " LIMIT " + std::to_string(f.limit);
    statement st(*this, sql.c_str());
    std::vector<entry> out;
    while (st.row()) out.push_back(read(st));
    return out;
  }

  std::vector<std::pair<status, std::size_t>> counts() override {
    std::vector<std::pair<status, std::size_t>> out;
    statement st(*this, "SELECT state, COUNT(*) FROM messages GROUP BY state");
    while (st.row())
      if (auto s = parse_status(st.text(0))) out.emplace_back(*s, static_cast<std::size_t>(st.integer(1)));
    return out;
  }

  std::optional<clock::time_point> next_due() override {
    statement st(*this,
                 "SELECT MIN(CASE WHEN lease_token IS NOT NULL AND lease_expires > ?1 THEN lease_expires "
                 "ELSE next_attempt END) FROM messages WHERE state = 'queued'");
    st.bind(1, ms(clock::now()));
    if (!st.row() || st.is_null(0)) return std::nullopt;
    return at(st.integer(0));
  }

  bool retry(const std::string& id, clock::time_point now) override {
    return change(
        "UPDATE messages SET state = 'queued', next_attempt = ?2, committing = 0, lease_owner = NULL, "
        "lease_token = NULL, lease_expires = NULL WHERE id = ?1 AND state IN "
        "('queued','held','unknown','failed') "
        "AND (lease_token IS NULL OR lease_expires <= ?2)",
        id, now);
  }
  bool drop(const std::string& id) override {
    return change("DELETE FROM messages WHERE id = ?1 AND (lease_token IS NULL OR lease_expires <= ?2)", id,
                  clock::now());
  }
  bool hold(const std::string& id) override {
    return change(
        "UPDATE messages SET state = 'held', lease_owner = NULL, lease_token = NULL, lease_expires = NULL "
        "WHERE id = ?1 AND state = 'queued' AND committing = 0 AND (lease_token IS NULL OR lease_expires <= "
        "?2)",
        id, clock::now());
  }
  bool release(const std::string& id, clock::time_point now) override {
    return change("UPDATE messages SET state = 'queued', next_attempt = ?2 WHERE id = ?1 AND state = 'held'",
                  id, now);
  }
  std::size_t purge_delivered(clock::time_point before) override {
    transaction t(*this);
    statement st(*this, "DELETE FROM messages WHERE state = 'delivered' AND last_attempt < ?1");
    st.bind(1, ms(before));
    st.run();
    const auto n = static_cast<std::size_t>(sqlite3_changes(db_));
    t.commit();
    return n;
  }

  std::string location() const override { return path_; }

 private:
  struct statement {
    sqlite_store& q;
    sqlite3_stmt* s = nullptr;
    statement(sqlite_store& store, const char* sql) : q(store) {
      if (sqlite3_prepare_v2(q.db_, sql, -1, &s, nullptr) != SQLITE_OK) q.fail();
    }
    ~statement() { sqlite3_finalize(s); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    void bind(int i, const std::string& v) {
      sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void bind_blob(int i, const std::string& v) {
      sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void bind(int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
    bool row() {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) return false;
      q.fail();
    }
    void run() {
      while (row()) {
      }
    }
    std::string text(int i) {
      const auto* t = static_cast<const char*>(sqlite3_column_blob(s, i));
      return t ? std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
    }
    std::int64_t integer(int i) { return sqlite3_column_int64(s, i); }
    bool is_null(int i) { return sqlite3_column_type(s, i) == SQLITE_NULL; }
  };

  // BEGIN IMMEDIATE … COMMIT; rolled back when left by an exception.
  struct transaction {
    sqlite_store& q;
    bool done = false;
    explicit transaction(sqlite_store& store) : q(store) { q.exec("BEGIN IMMEDIATE"); }
    ~transaction() {
      if (!done) sqlite3_exec(q.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    void commit() {
      q.exec("COMMIT");
      done = true;
    }
  };

  [[noreturn]] void fail() { throw store_error("queue " + path_ + ": " + sqlite3_errmsg(db_)); }

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw store_error("queue " + path_ + ": " + msg);
    }
  }

  bool change(const char* sql, const std::string& id, clock::time_point now) {
    transaction t(*this);
    statement st(*this, sql);
    st.bind(1, id);
    st.bind(2, ms(now));
    st.run();
    const bool ok = sqlite3_changes(db_) == 1;
    t.commit();
    return ok;
  }

  entry read(statement& st) {
    entry e;
    e.id = st.text(0);
    e.message.envelope.mail_from = st.text(1);
    json r = json::parse(st.text(2), nullptr, false);
    if (r.is_array())
      for (const auto& x : r)
        if (x.is_string()) e.message.envelope.rcpt_to.push_back(x.get<std::string>());
    e.message.envelope.dsn = dsn_from_json(st.text(3));
    e.message.content = st.text(4);
    e.message.account = st.text(5);
    e.message.delivery = st.text(6);
    e.message.origin = st.text(7);
    e.state = parse_status(st.text(8)).value_or(status::queued);
    e.attempts = static_cast<unsigned>(st.integer(9));
    e.created = at(st.integer(10));
    e.next_attempt = at(st.integer(11));
    if (!st.is_null(12)) e.last_attempt = at(st.integer(12));
    e.last_cause = st.text(13);
    e.last_reply = st.text(14);
    e.last_summary = st.text(15);
    if (!st.is_null(16)) e.lease_owner = st.text(16);
    if (!st.is_null(17)) e.lease_expires = at(st.integer(17));
    e.committing = st.integer(18) != 0;
    return e;
  }

  std::optional<std::pair<lease, entry>> take(const std::string& worker, clock::time_point now,
                                              std::chrono::seconds lease_for, const std::string* account,
                                              const std::string* delivery) {
    transaction t(*this);
    {
      // A worker that died after committing(): maybe delivered, so never sent again silently.
      statement st(
          *this,
          "UPDATE messages SET state = 'unknown', attempts = attempts + 1, last_attempt = lease_expires, "
          "last_cause = 'smtp.outcome-unknown', last_summary = 'the worker ' || lease_owner || "
          "' stopped after the final dot, before the reply: it may have been delivered', "
          "lease_owner = NULL, lease_token = NULL, lease_expires = NULL, committing = 0 "
          "WHERE state = 'queued' AND committing = 1 AND lease_expires <= ?1");
      st.bind(1, ms(now));
      st.run();
    }
    std::string sql =
        "SELECT seq FROM messages WHERE state = 'queued' AND next_attempt <= ?1 AND (lease_token IS NULL OR "
        "lease_expires <= ?1)";
    if (account) sql += " AND account = ?2 AND delivery = ?3";
    sql += " ORDER BY next_attempt, seq LIMIT 1";
    std::int64_t seq = 0;
    {
      statement st(*this, sql.c_str());
      st.bind(1, ms(now));
      if (account) {
        st.bind(2, *account);
        st.bind(3, *delivery);
      }
      if (st.row()) seq = st.integer(0);
    }
    if (!seq) {
      t.commit();
      return std::nullopt;
    }
    lease l;
    l.token = random_hex(16);
    l.expires = now + lease_for;
    {
      statement st(
          *this,
          "UPDATE messages SET lease_owner = ?2, lease_token = ?3, lease_expires = ?4, committing = 0 "
          "WHERE seq = ?1");
      st.bind(1, seq);
      st.bind(2, worker);
      st.bind(3, l.token);
      st.bind(4, ms(l.expires));
      st.run();
    }
    entry e;
    {
      statement st(*this, (std::string("SELECT ") + columns + " FROM messages WHERE seq = ?1").c_str());
      st.bind(1, seq);
      if (!st.row()) fail();
      e = read(st);
    }
    t.commit();
    l.id = e.id;
    return std::make_pair(std::move(l), std::move(e));
  }

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<store> open_sqlite(const std::string& path) { return std::make_unique<sqlite_store>(path); }

}  // namespace postern::queue
