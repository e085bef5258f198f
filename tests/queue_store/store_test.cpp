// The semantics of include/postern/queue/store.hpp, checked against a real database. Not a unit
// test: it needs a server, so tests/integration/test_queue_postgresql.py starts a private
// PostgreSQL and runs this program with POSTERN_TEST_QUEUE=postgresql://… (a missing variable is a
// failure, not a skip). Each test gets an empty queue: a schema of its own, through the URL's
// `options=-csearch_path=…`.
#include "postern/queue/store.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "queue/postgresql_store.hpp"

namespace postern::queue {
namespace {

using namespace std::chrono_literals;

// Whole seconds: every store keeps at least microseconds.
const clock::time_point t0 = clock::time_point(std::chrono::seconds(1'700'000'000));
// Before the real clock: drop() and hold() judge a lease by the real clock.

std::string base_url() {
  const char* u = std::getenv("POSTERN_TEST_QUEUE");
  return u ? u : "";
}

// Runs @p sql on an administrative connection of its own; "" or the first value.
std::string admin(const std::string& sql) {
  PGconn* c = PQconnectdb(base_url().c_str());
  EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);  // "schema … does not exist, skipping"
  PGresult* r = PQexec(c, sql.c_str());
  ExecStatusType st = PQresultStatus(r);
  EXPECT_TRUE(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) << sql << ": " << PQresultErrorMessage(r);
  std::string out = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(c);
  return out;
}

std::string with_schema(const std::string& url, const std::string& schema) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

new_message sample(const std::string& to = "b@example.net") {
  new_message m;
  m.envelope.mail_from = "a@example.org";
  m.envelope.rcpt_to = {to, "c@example.net"};
  m.content = std::string("Subject: t\r\n\r\nbinary \0\xff\xfe bytes\r\n", 30);
  m.account = "work";
  m.delivery = R"({"server":"127.0.0.1:587","starttls":true})";
  m.origin = "send";
  return m;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(base_url().empty()) << "POSTERN_TEST_QUEUE is not set: run through test_queue_postgresql.py";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    schema_ = "t_" + std::string(info->name());
    std::transform(schema_.begin(), schema_.end(), schema_.begin(), [](unsigned char c) {
      return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
    });
    admin("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    admin("CREATE SCHEMA " + schema_);
    location_ = with_schema(base_url(), schema_);
    q_ = open();
  }

  // Through open_store(), as postern opens it: a postgresql:// URL goes to the PostgreSQL store.
  std::unique_ptr<store> open() { return open_store(location_); }

  std::string schema_, location_;
  std::unique_ptr<store> q_;
};

TEST_F(StoreTest, AddKeepsEverythingAndIsDueAtOnce) {
  new_message m = sample();
  m.envelope.dsn = smtp::dsn_request{};
  m.envelope.dsn->notify_failure = true;
  m.envelope.dsn->ret = smtp::dsn_return::headers;
  m.envelope.dsn->envid = "env-1";
  std::string id = q_->add(m, t0);
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_."), std::string::npos) << id;
  auto e = q_->get(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, id);
  EXPECT_EQ(e->message.content, m.content);
  EXPECT_EQ(e->message.envelope.mail_from, m.envelope.mail_from);
  EXPECT_EQ(e->message.envelope.rcpt_to, m.envelope.rcpt_to);
  ASSERT_TRUE(e->message.envelope.dsn);
  EXPECT_TRUE(e->message.envelope.dsn->notify_failure);
  EXPECT_FALSE(e->message.envelope.dsn->notify_success);
  EXPECT_EQ(e->message.envelope.dsn->ret, smtp::dsn_return::headers);
  EXPECT_EQ(e->message.envelope.dsn->envid, "env-1");
  EXPECT_EQ(e->message.account, "work");
  EXPECT_EQ(e->message.delivery, m.delivery);
  EXPECT_EQ(e->message.origin, "send");
  EXPECT_EQ(e->state, status::queued);
  EXPECT_EQ(e->attempts, 0u);
  EXPECT_EQ(e->created, t0);
  EXPECT_EQ(e->next_attempt, t0);
  EXPECT_FALSE(e->last_attempt);
  EXPECT_FALSE(e->lease_owner);
  EXPECT_FALSE(e->committing);
  EXPECT_FALSE(q_->get("no-such-id"));
  // Another connection sees it: add() has committed.
  auto other = open();
  EXPECT_TRUE(other->get(id));
  EXPECT_NE(q_->add(sample(), t0), id);
}

TEST_F(StoreTest, TakeDueLeasesOldestDueFirstAndNothingEarly) {
  std::string later = q_->add(sample("later@example.net"), t0 + 10s);
  std::string first = q_->add(sample("first@example.net"), t0);
  EXPECT_FALSE(q_->take_due("w1", t0 - 1s, 60s));
  auto a = q_->take_due("w1", t0 + 20s, 60s);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->first.id, first);
  EXPECT_EQ(a->second.id, first);
  EXPECT_EQ(a->first.expires, t0 + 80s);
  EXPECT_EQ(a->second.lease_owner, "w1");
  EXPECT_EQ(a->second.lease_expires, t0 + 80s);
  EXPECT_EQ(a->second.message.content, sample().content);
  auto b = q_->take_due("w2", t0 + 20s, 60s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first.id, later);
  EXPECT_NE(a->first.token, b->first.token);
  EXPECT_FALSE(q_->take_due("w3", t0 + 20s, 60s));  // both leased
  auto e = q_->get(first);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, status::queued);
  EXPECT_EQ(e->lease_owner, "w1");
}

TEST_F(StoreTest, CommittingThenFinishDelivered) {
  std::string id = q_->add(sample(), t0);
  auto l = q_->take_due("w1", t0, 60s);
  ASSERT_TRUE(l);
  EXPECT_TRUE(q_->committing(l->first, t0 + 1s));
  EXPECT_TRUE(q_->get(id)->committing);
  outcome o;
  o.next = status::delivered;
  o.reply = "250 2.0.0 Ok: queued as ABC";
  o.summary = "delivered";
  EXPECT_TRUE(q_->finish(l->first, o, t0 + 2s));
  auto e = q_->get(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, status::delivered);
  EXPECT_EQ(e->attempts, 1u);
  EXPECT_EQ(e->last_attempt, t0 + 2s);
  EXPECT_EQ(e->last_reply, o.reply);
  EXPECT_FALSE(e->lease_owner);
  EXPECT_FALSE(e->lease_expires);
  EXPECT_FALSE(e->committing);
  // The lease is spent: a second finish changes nothing.
  EXPECT_FALSE(q_->finish(l->first, o, t0 + 3s));
  EXPECT_FALSE(q_->committing(l->first, t0 + 3s));
  EXPECT_FALSE(q_->take_due("w1", t0 + 1h, 60s));
  EXPECT_TRUE(q_->list({}).empty());  // delivered is not listed by default
  auto delivered = q_->list({{status::delivered}, 0});
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].id, id);
  EXPECT_EQ(q_->purge_delivered(t0 + 2s), 0u);  // finished at t0+2s, not before
  EXPECT_EQ(q_->purge_delivered(t0 + 3s), 1u);
  EXPECT_FALSE(q_->get(id));
}

TEST_F(StoreTest, FinishQueuedIsDueAgainAtRetryAt) {
  std::string id = q_->add(sample(), t0);
  auto l = q_->take_due("w1", t0, 60s);
  ASSERT_TRUE(l);
  outcome o;
  o.next = status::queued;
  o.retry_at = t0 + 5min;
  o.cause = "smtp.transient";
  o.reply = "451 4.3.0 try later";
  o.summary = "the server asked to try later";
  EXPECT_TRUE(q_->finish(l->first, o, t0 + 1s));
  auto e = q_->get(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, status::queued);
  EXPECT_EQ(e->attempts, 1u);
  EXPECT_EQ(e->next_attempt, t0 + 5min);
  EXPECT_EQ(e->last_cause, "smtp.transient");
  EXPECT_EQ(e->last_reply, o.reply);
  EXPECT_EQ(e->last_summary, o.summary);
  EXPECT_EQ(q_->next_due(), t0 + 5min);
  EXPECT_FALSE(q_->take_due("w1", t0 + 4min, 60s));
  auto again = q_->take_due("w2", t0 + 5min, 60s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->second.attempts, 1u);
  // failed: a bounce report, listed, never taken.
  outcome f;
  f.next = status::failed;
  f.cause = "smtp.rejected";
  f.reply = std::string("550 5.1.1 no such user \xff\x01", 26);  // any bytes a server sends
  EXPECT_TRUE(q_->finish(again->first, f, t0 + 6min));
  e = q_->get(id);
  EXPECT_EQ(e->state, status::failed);
  EXPECT_EQ(e->attempts, 2u);
  EXPECT_EQ(e->last_reply.rfind("550 5.1.1 no such user ", 0), 0u) << e->last_reply;
  EXPECT_FALSE(q_->take_due("w1", t0 + 1h, 60s));
  auto failed = q_->list({{status::failed}, 0});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_TRUE(q_->retry(id, t0 + 2h));
  EXPECT_TRUE(q_->take_due("w1", t0 + 2h, 60s));
}

TEST_F(StoreTest, ExpiredLeaseIsDueAgainAndTheOldLeaseIsStale) {
  std::string id = q_->add(sample(), t0);
  auto a = q_->take_due("w1", t0, 10s);
  ASSERT_TRUE(a);
  EXPECT_FALSE(q_->take_due("w2", t0 + 9s, 10s));  // still live
  EXPECT_EQ(q_->next_due(), t0 + 10s);             // when it can be taken again
  auto b = q_->take_due("w2", t0 + 10s, 10s);      // w1 died: its lease expired
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first.id, id);
  EXPECT_NE(b->first.token, a->first.token);
  EXPECT_EQ(b->second.lease_owner, "w2");
  EXPECT_EQ(b->second.attempts, 0u);
  EXPECT_FALSE(q_->committing(a->first, t0 + 11s));  // w1 woke up: it must not send
  EXPECT_FALSE(q_->renew(a->first, t0 + 1h));
  outcome o;
  EXPECT_FALSE(q_->finish(a->first, o, t0 + 11s));
  EXPECT_EQ(q_->get(id)->state, status::queued);
  EXPECT_TRUE(q_->committing(b->first, t0 + 11s));
  EXPECT_TRUE(q_->finish(b->first, o, t0 + 12s));
  EXPECT_EQ(q_->get(id)->state, status::delivered);
}

// A worker that stalled past its lease must not write the final dot even when nobody has taken
// the message yet: another worker may take it the next moment and send it again.
TEST_F(StoreTest, AnExpiredLeaseCannotCommitEvenBeforeItIsRetaken) {
  std::string id = q_->add(sample(), t0);
  auto a = q_->take_due("w1", t0, 10s);
  ASSERT_TRUE(a);
  EXPECT_FALSE(q_->committing(a->first, t0 + 10s));  // expires at t0 + 10s: not live any more
  EXPECT_FALSE(q_->get(id)->committing);
  auto b = q_->take_due("w2", t0 + 11s, 10s);  // so it is leased again, not unknown
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first.id, id);
  EXPECT_TRUE(q_->committing(b->first, t0 + 19s));
}

TEST_F(StoreTest, ExpiredAfterCommittingBecomesUnknownAndOnlyRetrySendsIt) {
  std::string id = q_->add(sample(), t0);
  auto a = q_->take_due("w1", t0, 10s);
  ASSERT_TRUE(a);
  ASSERT_TRUE(q_->committing(a->first, t0 + 1s));
  // w1 died after starting the final dot: never leased again silently.
  EXPECT_FALSE(q_->take_due("w2", t0 + 11s, 10s));
  auto e = q_->get(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, status::unknown);
  EXPECT_EQ(e->last_cause, "smtp.outcome-unknown");
  EXPECT_FALSE(e->lease_owner);
  EXPECT_FALSE(e->committing);
  EXPECT_FALSE(q_->take_due("w2", t0 + 1h, 10s));
  EXPECT_FALSE(q_->next_due());
  outcome o;
  EXPECT_FALSE(q_->finish(a->first, o, t0 + 12s));  // too late for w1, too
  EXPECT_EQ(q_->get(id)->state, status::unknown);
  auto unknown = q_->list({{status::unknown}, 0});
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].id, id);
  EXPECT_FALSE(q_->release(id, t0 + 1h));  // not held
  EXPECT_TRUE(q_->retry(id, t0 + 2h));     // the user decides
  e = q_->get(id);
  EXPECT_EQ(e->state, status::queued);
  EXPECT_EQ(e->next_attempt, t0 + 2h);
  auto b = q_->take_due("w2", t0 + 2h, 10s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->first.id, id);
}

TEST_F(StoreTest, RenewExtendsALiveLease) {
  std::string id = q_->add(sample(), t0);
  auto a = q_->take_due("w1", t0, 10s);
  ASSERT_TRUE(a);
  EXPECT_TRUE(q_->renew(a->first, t0 + 100s));
  EXPECT_EQ(q_->get(id)->lease_expires, t0 + 100s);
  EXPECT_FALSE(q_->take_due("w2", t0 + 50s, 10s));
  EXPECT_TRUE(q_->take_due("w2", t0 + 100s, 10s));
}

TEST_F(StoreTest, HoldReleaseRetryDrop) {
  std::string id = q_->add(sample(), t0);
  EXPECT_TRUE(q_->hold(id));
  EXPECT_EQ(q_->get(id)->state, status::held);
  EXPECT_FALSE(q_->hold(id));  // already held
  EXPECT_FALSE(q_->take_due("w1", t0 + 1h, 60s));
  EXPECT_FALSE(q_->next_due());
  EXPECT_EQ(q_->list({{status::held}, 0}).size(), 1u);
  EXPECT_TRUE(q_->release(id, t0 + 2h));
  EXPECT_FALSE(q_->release(id, t0 + 2h));  // not held any more
  EXPECT_EQ(q_->get(id)->next_attempt, t0 + 2h);
  EXPECT_FALSE(q_->take_due("w1", t0 + 1h, 60s));
  // Leased with a live lease (the real clock decides for drop and hold): neither applies.
  auto now = clock::now();
  auto l = q_->take_due("w1", now, 3600s);
  ASSERT_TRUE(l);
  EXPECT_FALSE(q_->drop(id));
  EXPECT_FALSE(q_->hold(id));
  EXPECT_FALSE(q_->retry(id, now));
  EXPECT_TRUE(q_->get(id));
  outcome o;
  o.next = status::queued;
  o.retry_at = now + 1h;
  ASSERT_TRUE(q_->finish(l->first, o, now));
  EXPECT_TRUE(q_->retry(id, now));  // queued → due now
  EXPECT_EQ(q_->get(id)->next_attempt,
            clock::time_point(std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch())));
  EXPECT_TRUE(q_->drop(id));
  EXPECT_FALSE(q_->get(id));
  EXPECT_FALSE(q_->drop(id));
  EXPECT_FALSE(q_->retry(id, now));
  EXPECT_FALSE(q_->hold("no-such-id"));
}

TEST_F(StoreTest, ListIsOldestFirstWithStatesAndLimit) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(q_->add(sample(), t0 + std::chrono::seconds(i)));
  ASSERT_TRUE(q_->hold(ids[1]));
  auto all = q_->list({});
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(all[i].id, ids[i]);
  auto two = q_->list({{}, 2});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].id, ids[1]);
  auto queued = q_->list({{status::queued}, 0});
  EXPECT_EQ(queued.size(), 4u);
  auto both = q_->list({{status::queued, status::held}, 0});
  EXPECT_EQ(both.size(), 5u);
  EXPECT_TRUE(q_->list({{status::failed, status::unknown}, 0}).empty());
  EXPECT_EQ(q_->next_due(), t0);
}

TEST_F(StoreTest, OpenStoreTakesBothSchemes) {
  std::string url = location_;
  ASSERT_EQ(url.rfind("postgresql://", 0), 0u) << url;
  std::string short_scheme = "postgres://" + url.substr(std::string("postgresql://").size());
  auto q = open_store(short_scheme);
  EXPECT_EQ(q->location(), redact_postgresql_url(short_scheme));
  std::string id = q->add(sample(), t0);
  EXPECT_TRUE(q_->get(id));  // the same table
}

TEST_F(StoreTest, TakeDueForOnlyTheSameAccountAndDelivery) {
  new_message other = sample();
  other.account = "private";
  std::string a = q_->add(other, t0);
  new_message route = sample();
  route.delivery = R"({"server":"127.0.0.1:465","tls":true})";
  std::string b = q_->add(route, t0 + 1s);
  std::string c = q_->add(sample(), t0 + 2s);
  const new_message m = sample();
  auto l = q_->take_due_for("w1", t0 + 1min, 60s, m.account, m.delivery);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->first.id, c);
  EXPECT_FALSE(q_->take_due_for("w1", t0 + 1min, 60s, m.account, m.delivery));
  auto l2 = q_->take_due_for("w1", t0 + 1min, 60s, "private", m.delivery);
  ASSERT_TRUE(l2);
  EXPECT_EQ(l2->first.id, a);
  auto l3 = q_->take_due("w1", t0 + 1min, 60s);
  ASSERT_TRUE(l3);
  EXPECT_EQ(l3->first.id, b);
}

TEST_F(StoreTest, CountsPerState) {
  std::string a = q_->add(sample(), t0);
  std::string b = q_->add(sample(), t0);
  q_->add(sample(), t0);
  ASSERT_TRUE(q_->hold(a));
  auto l = q_->take_due("w1", t0, 60s);
  ASSERT_TRUE(l);
  ASSERT_TRUE(q_->finish(l->first, outcome{}, t0));
  std::map<status, std::size_t> c;
  for (auto [s, n] : q_->counts()) c[s] = n;
  EXPECT_EQ(c[status::held], 1u);
  EXPECT_EQ(c[status::delivered], 1u);
  EXPECT_EQ(c[status::queued], 1u);
  EXPECT_EQ(c[status::failed], 0u);
  (void)b;
}

// Two (here four) workers on separate connections, racing: every message is taken exactly once.
TEST_F(StoreTest, ConcurrentTakersNeverGetTheSameMessage) {
  constexpr int n = 300, workers = 4;
  std::set<std::string> added;
  for (int i = 0; i < n; ++i) added.insert(q_->add(sample(), t0));
  std::vector<std::vector<std::string>> taken(workers);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      try {
        auto mine = open();
        std::string name = "w" + std::to_string(w);
        while (auto l = mine->take_due(name, t0 + 1s, 3600s)) {
          taken[w].push_back(l->first.id);
          if (!mine->committing(l->first, t0 + 1s)) ++errors;
          if (!mine->finish(l->first, outcome{}, t0 + 2s)) ++errors;
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::multiset<std::string> all;
  for (const auto& t : taken) all.insert(t.begin(), t.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), added);
  for (const auto& id : added) EXPECT_EQ(all.count(id), 1u) << id;
  EXPECT_EQ(q_->list({{status::delivered}, 0}).size(), static_cast<std::size_t>(n));
}

// Several processes starting on an empty database at once all find (or make) one table.
TEST_F(StoreTest, ConcurrentOpenCreatesTheSchemaOnce) {
  admin("DROP SCHEMA " + schema_ + " CASCADE");
  admin("CREATE SCHEMA " + schema_);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 6; ++w) {
    threads.emplace_back([&] {
      try {
        open()->add(sample(), t0);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(admin("SELECT count(*) FROM " + schema_ + ".postern_queue"), "6");
  EXPECT_EQ(admin("SELECT string_agg(version::text, ',') FROM " + schema_ + ".postern_queue_schema"), "1");
}

TEST_F(StoreTest, ANewerSchemaIsRefused) {
  admin("UPDATE " + schema_ + ".postern_queue_schema SET version = 99");
  try {
    open();
    FAIL() << "opened a queue of schema version 99";
  } catch (const store_error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
}

std::string password_of(const std::string& url) {
  auto colon = url.find(':', url.find("://") + 3);
  return url.substr(colon + 1, url.find('@') - colon - 1);
}

TEST_F(StoreTest, PasswordsStayOutOfLocationAndErrors) {
  std::string password = password_of(base_url());
  ASSERT_GE(password.size(), 3u) << "the harness' URL carries a password";
  EXPECT_EQ(q_->location().find(password), std::string::npos) << q_->location();
  EXPECT_NE(q_->location().find("127.0.0.1"), std::string::npos) << q_->location();
  // Wrong password: PostgreSQL's reason, not ours.
  std::string wrong = base_url();
  wrong.replace(wrong.find(password), password.size(), password + "-wrong");
  try {
    open_postgresql(wrong);
    FAIL() << "connected with a wrong password";
  } catch (const store_error& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find(password), std::string::npos) << what;
    EXPECT_NE(what.find("password authentication failed"), std::string::npos) << what;
  }
  // Nothing listening: the port is named, the password is not.
  std::string closed = "postgresql://postern:" + password + "@127.0.0.1:1/queue?connect_timeout=5";
  try {
    open_postgresql(closed);
    FAIL() << "connected to port 1";
  } catch (const store_error& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find(password), std::string::npos) << what;
    EXPECT_NE(what.find("127.0.0.1:1/queue"), std::string::npos) << what;
    EXPECT_NE(what.find("refused"), std::string::npos) << what;
  }
}

TEST_F(StoreTest, ALostConnectionIsAStoreErrorAndTheNextCallReconnects) {
  std::string id = q_->add(sample(), t0);
  // The server ends every other session of ours (a restart, a failover, a network cut).
  std::string killed = admin(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'postern' "
      "AND pid <> pg_backend_pid()");
  ASSERT_GE(std::stoi(killed), 1);  // ours, and maybe a closed one of the last test not yet gone
  try {
    q_->take_due("w1", t0, 60s);
    FAIL() << "take_due on a terminated connection succeeded";
  } catch (const store_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("connection"), std::string::npos) << what;
    EXPECT_EQ(what.find(password_of(base_url())), std::string::npos) << what;
  }
  // Nothing was taken; the store reconnects and goes on.
  auto l = q_->take_due("w1", t0, 60s);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->first.id, id);
}

}  // namespace
}  // namespace postern::queue
