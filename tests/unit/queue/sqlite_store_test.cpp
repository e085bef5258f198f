#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "postern/queue/store.hpp"

namespace postern::queue {
namespace {

using std::chrono::seconds;
const clock::time_point t0 = clock::time_point(seconds(1'800'000'000));

class SqliteStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("postern-queue-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "sub" / "queue.sqlite").string();
    q_ = open_store(path_);
  }
  void TearDown() override {
    q_.reset();
    std::filesystem::remove_all(dir_);
  }
  new_message msg(const std::string& to = "b@example.org") {
    new_message m;
    m.envelope.mail_from = "a@example.org";
    m.envelope.rcpt_to = {to, "c@example.org"};
    m.envelope.dsn = smtp::dsn_request{};
    m.envelope.dsn->notify_failure = true;
    m.envelope.dsn->envid = "env-1";
    m.content = std::string("Subject: x\r\n\r\nbody\0with nul\r\n", 30);
    m.account = "acct";
    m.delivery = R"({"host":"127.0.0.1"})";
    m.origin = "test";
    return m;
  }
  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<store> q_;
};

TEST_F(SqliteStore, AddTakeFinishDelivered) {
  const auto id = q_->add(msg(), t0);
  auto e = q_->get(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, status::queued);
  EXPECT_EQ(e->message.content.size(), 30u);  // bytes kept exactly, NUL included
  EXPECT_EQ(e->message.envelope.rcpt_to, (std::vector<std::string>{"b@example.org", "c@example.org"}));
  ASSERT_TRUE(e->message.envelope.dsn);
  EXPECT_TRUE(e->message.envelope.dsn->notify_failure);
  EXPECT_EQ(e->message.envelope.dsn->envid, "env-1");
  EXPECT_EQ(e->created, t0);

  EXPECT_FALSE(q_->take_due("w", t0 - seconds(1), seconds(60)));  // not due yet
  auto t = q_->take_due("w", t0, seconds(60));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->first.id, id);
  EXPECT_EQ(t->second.lease_owner, "w");
  EXPECT_FALSE(q_->take_due("w2", t0, seconds(60)));  // leased
  EXPECT_EQ(q_->next_due(), t0 + seconds(60));        // the lease expiry
  EXPECT_TRUE(q_->committing(t->first, t0));
  outcome o;
  o.next = status::delivered;
  o.reply = "250 ok";
  EXPECT_TRUE(q_->finish(t->first, o, t0 + seconds(1)));
  EXPECT_FALSE(q_->finish(t->first, o, t0 + seconds(1)));  // the lease is gone
  e = q_->get(id);
  EXPECT_EQ(e->state, status::delivered);
  EXPECT_EQ(e->attempts, 1u);
  EXPECT_EQ(e->last_reply, "250 ok");
  EXPECT_FALSE(e->lease_owner);
  EXPECT_TRUE(q_->list({}).empty());  // delivered is not listed by default
  EXPECT_EQ(q_->list({{status::delivered}, 0}).size(), 1u);
  EXPECT_EQ(q_->purge_delivered(t0 + seconds(2)), 1u);
  EXPECT_FALSE(q_->get(id));
}

TEST_F(SqliteStore, RetryLaterAndNextDue) {
  const auto id = q_->add(msg(), t0);
  auto t = q_->take_due("w", t0, seconds(60));
  outcome o;
  o.next = status::queued;
  o.retry_at = t0 + seconds(120);
  o.cause = "net.refused";
  ASSERT_TRUE(q_->finish(t->first, o, t0));
  EXPECT_EQ(q_->next_due(), t0 + seconds(120));
  EXPECT_FALSE(q_->take_due("w", t0 + seconds(119), seconds(60)));
  auto again = q_->take_due("w", t0 + seconds(120), seconds(60));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->second.attempts, 1u);
  EXPECT_EQ(again->second.last_cause, "net.refused");
  EXPECT_NE(again->first.token, t->first.token);
  (void)id;
}

TEST_F(SqliteStore, AnExpiredLeaseCannotCommitEvenBeforeItIsRetaken) {
  const auto a = q_->add(msg("a@x"), t0);
  auto t = q_->take_due("stalled", t0, seconds(10));
  ASSERT_TRUE(t);
  EXPECT_TRUE(q_->committing(t->first, t0 + seconds(9)));
  const auto b = q_->add(msg("b@x"), t0);
  auto tb = q_->take_due("stalled", t0, seconds(10));
  ASSERT_TRUE(tb);
  EXPECT_EQ(tb->first.id, b);
  EXPECT_FALSE(q_->committing(tb->first, t0 + seconds(10)));  // its lease ended: no final dot
  EXPECT_FALSE(q_->get(b)->committing);
  EXPECT_EQ(q_->get(a)->state, status::queued);
}

TEST_F(SqliteStore, ExpiredLeaseIsTakenAgainUnlessCommitting) {
  const auto a = q_->add(msg("a@x"), t0);
  const auto b = q_->add(msg("b@x"), t0 + seconds(1));
  auto ta = q_->take_due("dead-1", t0 + seconds(1), seconds(10));
  auto tb = q_->take_due("dead-2", t0 + seconds(1), seconds(10));
  ASSERT_TRUE(ta && tb);
  EXPECT_EQ(ta->first.id, a);
  EXPECT_TRUE(q_->committing(tb->first, t0 + seconds(1)));  // b's worker died after starting the final dot
  // Both leases expire; a is due again; b becomes unknown.
  auto again = q_->take_due("w", t0 + seconds(30), seconds(10));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->first.id, a);
  EXPECT_FALSE(q_->take_due("w", t0 + seconds(30), seconds(10)));
  auto eb = q_->get(b);
  EXPECT_EQ(eb->state, status::unknown);
  EXPECT_EQ(eb->last_cause, "smtp.outcome-unknown");
  // The dead workers' leases are stale.
  EXPECT_FALSE(q_->committing(ta->first, t0 + seconds(30)));
  EXPECT_FALSE(q_->finish(tb->first, outcome{}, t0 + seconds(31)));
  ASSERT_TRUE(q_->finish(again->first, outcome{}, t0 + seconds(31)));
  // Only retry() sends an unknown one again.
  EXPECT_TRUE(q_->retry(b, t0 + seconds(40)));
  auto tb2 = q_->take_due("w", t0 + seconds(40), seconds(10));
  ASSERT_TRUE(tb2);
  EXPECT_EQ(tb2->first.id, b);
}

TEST_F(SqliteStore, HoldReleaseDrop) {
  const auto id = q_->add(msg(), t0);
  EXPECT_TRUE(q_->hold(id));
  EXPECT_FALSE(q_->hold(id));
  EXPECT_FALSE(q_->take_due("w", t0 + seconds(5), seconds(10)));
  EXPECT_EQ(q_->next_due(), std::nullopt);
  EXPECT_EQ(q_->list({{status::held}, 0}).size(), 1u);
  EXPECT_TRUE(q_->release(id, t0 + seconds(6)));
  EXPECT_FALSE(q_->release(id, t0 + seconds(6)));
  auto t = q_->take_due("w", t0 + seconds(6), seconds(600));
  ASSERT_TRUE(t);
  EXPECT_FALSE(q_->drop(id));  // leased
  EXPECT_FALSE(q_->hold(id));  // leased
  outcome f;
  f.next = status::failed;
  f.cause = "smtp.rejected";
  ASSERT_TRUE(q_->finish(t->first, f, t0 + seconds(7)));
  EXPECT_EQ(q_->list({{status::failed}, 0}).size(), 1u);
  EXPECT_TRUE(q_->drop(id));
  EXPECT_FALSE(q_->drop(id));
  EXPECT_FALSE(q_->retry("no-such-id", t0));
}

TEST_F(SqliteStore, TwoConnectionsNeverLeaseOneMessageTwice) {
  constexpr int n = 200;
  for (int i = 0; i < n; ++i) q_->add(msg("r" + std::to_string(i) + "@x"), t0);
  std::vector<std::set<std::string>> got(4);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      auto mine = open_store(path_);  // its own connection, as another process would have
      while (auto t = mine->take_due("w" + std::to_string(w), t0 + seconds(1), seconds(600))) {
        got[w].insert(t->first.id);
        outcome o;
        mine->finish(t->first, o, t0 + seconds(1));
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  std::size_t sum = 0;
  for (const auto& g : got) {
    sum += g.size();
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(sum, static_cast<std::size_t>(n));
  EXPECT_EQ(all.size(), static_cast<std::size_t>(n));
}

TEST_F(SqliteStore, TakeDueForMatchesAccountAndDelivery) {
  auto m1 = msg();
  auto m2 = msg();
  m2.delivery = R"({"host":"other"})";
  q_->add(m1, t0);
  q_->add(m2, t0);
  EXPECT_FALSE(q_->take_due_for("w", t0, seconds(60), "acct", R"({"host":"nowhere"})"));
  auto t = q_->take_due_for("w", t0, seconds(60), "acct", R"({"host":"other"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->second.message.delivery, R"({"host":"other"})");
  std::size_t queued = 0;
  for (auto [s, n] : q_->counts())
    if (s == status::queued) queued = n;
  EXPECT_EQ(queued, 2u);
}

TEST(Store, StatusNamesAndLocations) {
  EXPECT_STREQ(to_string(status::unknown), "unknown");
  EXPECT_EQ(parse_status("held"), status::held);
  EXPECT_EQ(parse_status("nope"), std::nullopt);
  EXPECT_THROW(open_store("postgresql://localhost/q"), store_error);
  EXPECT_THROW(open_store(""), store_error);
  EXPECT_NE(default_location().find("postern/queue.sqlite"), std::string::npos);
}

}  // namespace
}  // namespace postern::queue
