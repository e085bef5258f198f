// The queue on PostgreSQL. Why it looks the way it does:
// - Times are bigint microseconds since the Unix epoch: the callers' clock decides what is due
//   (the store never asks the server for now()), exactly and without time-zone conversions.
// - take_due() is one transaction: expired leases of messages whose final dot may have been
//   written become unknown, then one due row is locked with FOR UPDATE SKIP LOCKED and leased.
//   Concurrent takers skip each other's rows instead of waiting, and a lease is a fresh random
//   token, so a worker whose lease expired and was retaken can no longer touch the row.
// - Every change is its own committed transaction with synchronous_commit on: durable on return.
// - A lost connection fails the call with store_error (the caller retries later); the next call
//   reconnects. A COMMIT whose answer was lost may have happened: add() may then store a message
//   twice under two ids, never zero times; a lease taken that way simply expires.
#include "queue/postgresql_store.hpp"

#include <libpq-fe.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>
#include <vector>

namespace postern::queue {

namespace {

constexpr int schema_version = 1;

// Version 1. The ids are text so that they are the same words in every store.
constexpr const char* create_schema = R"sql(
CREATE TABLE postern_queue (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  state text NOT NULL CHECK (state IN ('queued', 'held', 'unknown', 'failed', 'delivered')),
  mail_from text NOT NULL,
  rcpt_to text NOT NULL,
  dsn text,
  content bytea NOT NULL,
  account text NOT NULL,
  delivery text NOT NULL,
  origin text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  created_us bigint NOT NULL,
  next_attempt_us bigint NOT NULL,
  last_attempt_us bigint,
  last_cause text NOT NULL DEFAULT '',
  last_reply text NOT NULL DEFAULT '',
  last_summary text NOT NULL DEFAULT '',
  lease_owner text,
  lease_token text,
  lease_expires_us bigint,
  committing boolean NOT NULL DEFAULT false,
  CHECK ((lease_token IS NULL) = (lease_expires_us IS NULL)),
  CHECK (lease_token IS NOT NULL OR NOT committing)
);
CREATE INDEX postern_queue_due ON postern_queue (next_attempt_us, seq) WHERE state = 'queued';
CREATE INDEX postern_queue_created ON postern_queue (created_us, seq);
CREATE INDEX postern_queue_committing ON postern_queue (lease_expires_us) WHERE committing;
)sql";

// The columns read_entry() expects, in its order.
constexpr const char* columns =
    "id, state, mail_from, rcpt_to, dsn, content, account, delivery, origin, attempts, created_us, "
    "next_attempt_us, last_attempt_us, last_cause, last_reply, last_summary, lease_owner, "
    "lease_expires_us, committing";

std::int64_t to_us(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

clock::time_point from_us(std::int64_t us) {
  return clock::time_point(std::chrono::duration_cast<clock::duration>(std::chrono::microseconds(us)));
}

std::string random_hex(std::size_t bytes) {
  static thread_local std::random_device rd;  // getrandom(2) on Linux
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (std::size_t i = 0; i < bytes; i += 4) {
    std::uint32_t r = rd();
    for (std::size_t k = 0; k < 4 && i + k < bytes; ++k, r >>= 8) {
      out += hex[(r >> 4) & 0xf];
      out += hex[r & 0xf];
    }
  }
  return out;
}

// True when @p s is UTF-8 without NUL: what a text column takes.
bool valid_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n;
  }
  return true;
}

// Diagnostics (a server's reply, a summary) may hold any bytes: escaped so a text column takes them.
std::string to_text(std::string_view s) {
  if (valid_text(s)) return std::string(s);
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else if (c == '\t' || c == '\r' || c == '\n') {
      out += ch;
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

nlohmann::json dsn_to_json(const smtp::dsn_request& d) {
  const char* ret = d.ret == smtp::dsn_return::full      ? "full"
                    : d.ret == smtp::dsn_return::headers ? "headers"
                                                         : "";
  return {{"notify_never", d.notify_never},
          {"notify_success", d.notify_success},
          {"notify_failure", d.notify_failure},
          {"notify_delay", d.notify_delay},
          {"ret", ret},
          {"envid", d.envid},
          {"orcpt", d.orcpt},
          {"required", d.required}};
}

smtp::dsn_request dsn_from_json(const nlohmann::json& j) {
  smtp::dsn_request d;
  d.notify_never = j.value("notify_never", false);
  d.notify_success = j.value("notify_success", false);
  d.notify_failure = j.value("notify_failure", false);
  d.notify_delay = j.value("notify_delay", false);
  std::string ret = j.value("ret", "");
  d.ret = ret == "full"      ? smtp::dsn_return::full
          : ret == "headers" ? smtp::dsn_return::headers
                             : smtp::dsn_return::unset;
  d.envid = j.value("envid", "");
  d.orcpt = j.value("orcpt", true);
  d.required = j.value("required", false);
  return d;
}

struct result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result = std::unique_ptr<PGresult, result_deleter>;

// One statement parameter: text, or binary (bytea), or SQL NULL.
struct param {
  std::string value;
  bool null = false;
  bool binary = false;
};

param text(std::string s) { return {std::move(s)}; }
param number(std::int64_t n) { return {std::to_string(n)}; }
param bytes(std::string s) { return {std::move(s), false, true}; }
param null() { return {"", true}; }

class postgresql_store final : public store {
 public:
  explicit postgresql_store(const std::string& url) : url_(url), location_(redact_postgresql_url(url)) {
    find_password();
    connect();
    try {
      ensure_schema();
    } catch (...) {
      // A constructor that throws runs no destructor: the connection would leak.
      PQfinish(conn_);
      conn_ = nullptr;
      throw;
    }
  }

  ~postgresql_store() override {
    if (conn_) PQfinish(conn_);
  }

  postgresql_store(const postgresql_store&) = delete;
  postgresql_store& operator=(const postgresql_store&) = delete;

  std::string add(const new_message& m, clock::time_point now) override {
    for (const std::string* f : {&m.envelope.mail_from, &m.account, &m.delivery, &m.origin}) {
      if (!valid_text(*f))
        throw store_error(where() +
                          ": cannot queue a message whose envelope, account, delivery or origin is not "
                          "UTF-8 (or holds a NUL byte)");
    }
    for (const auto& r : m.envelope.rcpt_to) {
      if (!valid_text(r)) throw store_error(where() + ": cannot queue a recipient that is not UTF-8");
    }
    std::string id = random_hex(10);
    std::string rcpts = nlohmann::json(m.envelope.rcpt_to).dump();
    param dsn = m.envelope.dsn ? text(dsn_to_json(*m.envelope.dsn).dump()) : null();
    exec(
        "INSERT INTO postern_queue (id, state, mail_from, rcpt_to, dsn, content, account, delivery, origin, "
        "created_us, next_attempt_us) VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $9::bigint, "
        "$9::bigint)",
        {text(id), text(m.envelope.mail_from), text(rcpts), dsn, bytes(m.content), text(m.account),
         text(m.delivery), text(m.origin), number(to_us(now))});
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

  std::vector<std::pair<status, std::size_t>> counts() override {
    result r = exec("SELECT state, count(*) FROM postern_queue GROUP BY state", {});
    std::vector<std::pair<status, std::size_t>> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      if (auto s = parse_status(PQgetvalue(r.get(), i, 0)))
        out.emplace_back(*s, static_cast<std::size_t>(std::stoull(PQgetvalue(r.get(), i, 1))));
    }
    return out;
  }

  bool committing(const lease& l, clock::time_point now) override {
    return changed(
        exec("UPDATE postern_queue SET committing = true WHERE id = $1 AND lease_token = $2 "
             "AND state = 'queued' AND lease_expires_us > $3::bigint",
             {text(l.id), text(l.token), number(to_us(now))}));
  }

  bool renew(const lease& l, clock::time_point until) override {
    return changed(
        exec("UPDATE postern_queue SET lease_expires_us = $3::bigint WHERE id = $1 AND lease_token = $2 "
             "AND state = 'queued'",
             {text(l.id), text(l.token), number(to_us(until))}));
  }

  bool finish(const lease& l, const outcome& o, clock::time_point now) override {
    std::int64_t now_us = to_us(now);
    std::int64_t next_us = o.next == status::queued ? to_us(o.retry_at) : now_us;
    return changed(
        exec("UPDATE postern_queue SET state = $3, attempts = attempts + 1, last_attempt_us = $4::bigint, "
             "next_attempt_us = CASE WHEN $3 = 'queued' THEN $5::bigint ELSE next_attempt_us END, "
             "last_cause = $6, last_reply = $7, last_summary = $8, "
             "lease_owner = NULL, lease_token = NULL, lease_expires_us = NULL, committing = false "
             "WHERE id = $1 AND lease_token = $2 AND state = 'queued'",
             {text(l.id), text(l.token), text(to_string(o.next)), number(now_us), number(next_us),
              text(to_text(o.cause)), text(to_text(o.reply)), text(to_text(o.summary))}));
  }

  std::optional<entry> get(const std::string& id) override {
    result r =
        exec(std::string("SELECT ") + columns + " FROM postern_queue WHERE id = $1", {text(to_text(id))});
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return read_entry(r.get(), 0);
  }

  std::vector<entry> list(const filter& f) override {
    std::string sql = std::string("SELECT ") + columns + " FROM postern_queue WHERE ";
    std::vector<param> params;
    if (f.states.empty()) {
      sql += "state <> 'delivered'";
    } else {
      std::string words = "{";
      for (status s : f.states) words += std::string(words.size() > 1 ? "," : "") + to_string(s);
      params.push_back(text(words + "}"));
      sql += "state = ANY($1::text[])";
    }
    sql += " ORDER BY created_us, seq";
    if (f.limit != 0) sql += " LIMIT " + std::to_string(f.limit);
    result r = exec(sql, params);
    std::vector<entry> out;
    int n = PQntuples(r.get());
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out.push_back(read_entry(r.get(), i));
    return out;
  }

  std::optional<clock::time_point> next_due() override {
    // A leased message is takeable again when its lease expires (or it becomes unknown then).
    result r = exec(
        "SELECT min(CASE WHEN lease_token IS NULL THEN next_attempt_us "
        "ELSE greatest(next_attempt_us, lease_expires_us) END) FROM postern_queue WHERE state = 'queued'",
        {});
    if (PQgetisnull(r.get(), 0, 0)) return std::nullopt;
    return from_us(std::stoll(PQgetvalue(r.get(), 0, 0)));
  }

  bool retry(const std::string& id, clock::time_point now) override {
    return changed(
        exec("UPDATE postern_queue SET state = 'queued', next_attempt_us = $2::bigint, "
             "lease_owner = NULL, lease_token = NULL, lease_expires_us = NULL, committing = false "
             "WHERE id = $1 AND state IN ('unknown', 'failed', 'held', 'queued') "
             "AND (lease_token IS NULL OR lease_expires_us <= $2::bigint)",
             {text(to_text(id)), number(to_us(now))}));
  }

  bool drop(const std::string& id) override {
    return changed(
        exec("DELETE FROM postern_queue WHERE id = $1 "
             "AND (lease_token IS NULL OR lease_expires_us <= $2::bigint)",
             {text(to_text(id)), number(to_us(clock::now()))}));
  }

  bool hold(const std::string& id) override {
    // Not a message whose final dot may have gone out (an expired committing lease): that one is unknown.
    return changed(
        exec("UPDATE postern_queue SET state = 'held', "
             "lease_owner = NULL, lease_token = NULL, lease_expires_us = NULL, committing = false "
             "WHERE id = $1 AND state = 'queued' "
             "AND (lease_token IS NULL OR (lease_expires_us <= $2::bigint AND NOT committing))",
             {text(to_text(id)), number(to_us(clock::now()))}));
  }

  bool release(const std::string& id, clock::time_point now) override {
    return changed(
        exec("UPDATE postern_queue SET state = 'queued', next_attempt_us = $2::bigint "
             "WHERE id = $1 AND state = 'held'",
             {text(to_text(id)), number(to_us(now))}));
  }

  std::size_t purge_delivered(clock::time_point before) override {
    result r = exec("DELETE FROM postern_queue WHERE state = 'delivered' AND last_attempt_us < $1::bigint",
                    {number(to_us(before))});
    return static_cast<std::size_t>(std::stoull(PQcmdTuples(r.get())));
  }

  std::string location() const override { return location_; }

 private:
  // BEGIN now, ROLLBACK unless commit() was called.
  class transaction {
   public:
    explicit transaction(postgresql_store& s) : s_(s) { s_.exec("BEGIN", {}); }
    void commit() {
      s_.exec("COMMIT", {});
      done_ = true;
    }
    ~transaction() {
      if (!done_ && s_.conn_ && PQstatus(s_.conn_) == CONNECTION_OK) PQclear(PQexec(s_.conn_, "ROLLBACK"));
    }
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;

   private:
    postgresql_store& s_;
    bool done_ = false;
  };

  // take_due(), and take_due_for() when @p account is given: only messages of that account and
  // exactly that delivery JSON (one connection carries them all).
  std::optional<std::pair<lease, entry>> take(const std::string& worker, clock::time_point now,
                                              std::chrono::seconds lease_for, const std::string* account,
                                              const std::string* delivery) {
    std::int64_t now_us = to_us(now);
    lease l;
    l.token = random_hex(16);
    l.expires = from_us(to_us(now + lease_for));
    transaction tx(*this);
    // A lease that expired after committing(): the final dot may have gone out. Not retried silently.
    exec(
        "UPDATE postern_queue SET state = 'unknown', attempts = attempts + 1, last_attempt_us = "
        "lease_expires_us, "
        "last_cause = 'smtp.outcome-unknown', "
        "last_summary = 'the worker ' || coalesce(lease_owner, '?') || ' stopped after starting the final "
        "dot "
        "(its lease expired): the message may have been delivered; queue retry sends it again', "
        "lease_owner = NULL, lease_token = NULL, lease_expires_us = NULL, committing = false "
        "WHERE id IN (SELECT id FROM postern_queue WHERE state = 'queued' AND committing "
        "AND lease_expires_us <= $1::bigint FOR UPDATE SKIP LOCKED)",
        {number(now_us)});
    std::vector<param> params = {number(now_us), text(to_text(worker)), text(l.token),
                                 number(to_us(l.expires))};
    std::string only;
    if (account && delivery) {
      only = "AND account = $5 AND delivery = $6 ";
      params.push_back(text(to_text(*account)));
      params.push_back(text(to_text(*delivery)));
    }
    result r = exec(
        "WITH due AS (SELECT id FROM postern_queue WHERE state = 'queued' "
        "AND next_attempt_us <= $1::bigint "
        "AND (lease_token IS NULL OR (lease_expires_us <= $1::bigint AND NOT committing)) " +
            only +
            "ORDER BY next_attempt_us, seq LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "UPDATE postern_queue q SET lease_owner = $2, lease_token = $3, "
            "lease_expires_us = $4::bigint, committing = false FROM due WHERE q.id = due.id "
            "RETURNING " +
            qualified_columns(),
        params);
    tx.commit();
    if (PQntuples(r.get()) == 0) return std::nullopt;
    entry e = read_entry(r.get(), 0);
    l.id = e.id;
    return std::pair{std::move(l), std::move(e)};
  }

  std::string where() const { return "queue " + location_; }

  // libpq's messages do not contain the password; removed anyway, should a server echo it.
  std::string clean(std::string msg) const {
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (std::size_t p; password_.size() >= 3 && (p = msg.find(password_)) != std::string::npos;)
      msg.replace(p, password_.size(), "***");
    // libpq's messages are lines ("…failed: Connection refused\n\tIs the server running…"): one line.
    std::string line;
    for (std::size_t i = 0; i < msg.size(); ++i) {
      if (msg[i] != '\n') {
        line += msg[i];
        continue;
      }
      while (i + 1 < msg.size() && (msg[i + 1] == '\t' || msg[i + 1] == ' ')) ++i;
      line += "; ";
    }
    return line;
  }

  void find_password() {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(url_.c_str(), &err);
    if (!opts) {
      std::string why = err ? clean(err) : "out of memory";
      PQfreemem(err);
      throw store_error(where() + ": not a PostgreSQL connection URL: " + why);
    }
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (std::strcmp(o->keyword, "password") == 0 && o->val) password_ = o->val;
    }
    PQconninfoFree(opts);
  }

  void connect() {
    // Defaults before the URL, which may override them: a dead server or a silent network fails a
    // call within about a minute instead of hanging a worker.
    const std::array<const char*, 7> keys = {"connect_timeout",
                                             "application_name",
                                             "keepalives_idle",
                                             "keepalives_interval",
                                             "keepalives_count",
                                             "dbname",
                                             nullptr};
    const std::array<const char*, 7> values = {"10", "postern", "30", "10", "3", url_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
    if (!conn_) throw store_error(where() + ": cannot connect: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = clean(PQerrorMessage(conn_));
      PQfinish(conn_);
      conn_ = nullptr;
      throw store_error(where() + ": cannot connect: " + why);
    }
    // The server's NOTICEs ("relation … already exists, skipping") are not for postern's users.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    session_settings();
  }

  void session_settings() {
    // Durable on return: a server (or role) configured with synchronous_commit=off could lose the
    // last commits in a crash. Any other setting (local, remote_write, on, remote_apply) is kept.
    result r = exec("SHOW synchronous_commit", {});
    if (std::strcmp(PQgetvalue(r.get(), 0, 0), "off") == 0) exec("SET synchronous_commit TO on", {});
    exec("SET client_encoding TO 'UTF8'", {});
    exec("SET TIME ZONE 'UTC'", {});
  }

  // A connection lost by an earlier call is made again here, once per call.
  void ensure_connected() {
    if (!conn_) {
      connect();
      return;
    }
    if (PQstatus(conn_) == CONNECTION_OK) return;
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK)
      throw store_error(where() + ": lost the connection to the database and cannot reconnect: " +
                        clean(PQerrorMessage(conn_)));
    session_settings();
  }

  void ensure_schema() {
    transaction tx(*this);
    // Serialises the creation by several processes starting at once (CREATE TABLE IF NOT EXISTS
    // can still collide); released at COMMIT.
    exec("SELECT pg_advisory_xact_lock(7170310432157151233)", {});
    exec("CREATE TABLE IF NOT EXISTS postern_queue_schema (version integer NOT NULL)", {});
    result r = exec("SELECT max(version) FROM postern_queue_schema", {});
    int have = PQgetisnull(r.get(), 0, 0) ? 0 : std::stoi(PQgetvalue(r.get(), 0, 0));
    if (have > schema_version)
      throw store_error(where() + ": the queue table has schema version " + std::to_string(have) +
                        ", newer than this postern knows (" + std::to_string(schema_version) +
                        "): upgrade postern");
    if (have < 1) {
      exec(create_schema, {});
      exec("INSERT INTO postern_queue_schema (version) VALUES (1)", {});
    }
    // Later versions: if (have < 2) { ALTER TABLE …; UPDATE postern_queue_schema … }
    tx.commit();
  }

  result exec(const std::string& sql, const std::vector<param>& params) {
    ensure_connected();
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const param& p : params) {
      values.push_back(p.null ? nullptr : p.value.data());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.binary ? 1 : 0);
    }
    // Without parameters PQexec, which also runs a script of several statements (the schema).
    result r(params.empty() ? PQexec(conn_, sql.c_str())
                            : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                           values.data(), lengths.data(), formats.data(), 0));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    if (PQstatus(conn_) != CONNECTION_OK)
      throw store_error(where() + ": lost the connection to the database: " + clean(PQerrorMessage(conn_)));
    std::string why = r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_);
    throw store_error(where() + ": " + clean(why));
  }

  static bool changed(const result& r) { return std::strcmp(PQcmdTuples(r.get()), "0") != 0; }

  static std::string qualified_columns() {
    std::string out;
    std::string_view cols = columns;
    while (!cols.empty()) {
      std::size_t comma = cols.find(',');
      std::string_view c = cols.substr(0, comma);
      while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
      out += (out.empty() ? "q." : ", q.") + std::string(c);
      cols = comma == std::string_view::npos ? std::string_view() : cols.substr(comma + 1);
    }
    return out;
  }

  entry read_entry(PGresult* r, int row) const {
    auto str = [&](int col) {
      return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
    };
    auto isnull = [&](int col) { return PQgetisnull(r, row, col) != 0; };
    try {
      entry e;
      e.id = str(0);
      auto st = parse_status(str(1));
      if (!st) throw store_error(where() + ": message " + e.id + " has an unknown state '" + str(1) + "'");
      e.state = *st;
      e.message.envelope.mail_from = str(2);
      e.message.envelope.rcpt_to = nlohmann::json::parse(str(3)).get<std::vector<std::string>>();
      if (!isnull(4)) e.message.envelope.dsn = dsn_from_json(nlohmann::json::parse(str(4)));
      std::size_t n = 0;
      unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, 5)), &n);
      if (!raw) throw store_error(where() + ": out of memory reading message " + e.id);
      e.message.content.assign(reinterpret_cast<const char*>(raw), n);
      PQfreemem(raw);
      e.message.account = str(6);
      e.message.delivery = str(7);
      e.message.origin = str(8);
      e.attempts = static_cast<unsigned>(std::stoul(str(9)));
      e.created = from_us(std::stoll(str(10)));
      e.next_attempt = from_us(std::stoll(str(11)));
      if (!isnull(12)) e.last_attempt = from_us(std::stoll(str(12)));
      e.last_cause = str(13);
      e.last_reply = str(14);
      e.last_summary = str(15);
      if (!isnull(16)) e.lease_owner = str(16);
      if (!isnull(17)) e.lease_expires = from_us(std::stoll(str(17)));
      e.committing = str(18) == "t";
      return e;
    } catch (const store_error&) {
      throw;
    } catch (const std::exception& ex) {
      throw store_error(where() + ": a damaged row (" + ex.what() + ")");
    }
  }

  std::string url_;
  std::string location_;
  std::string password_;
  PGconn* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<store> open_postgresql(const std::string& url) {
  return std::make_unique<postgresql_store>(url);
}

}  // namespace postern::queue
