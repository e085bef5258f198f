#include "postern/queue/schedule.hpp"

#include <gtest/gtest.h>

namespace postern::queue {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const clock::time_point t0 = clock::time_point(seconds(1'800'000'000));

TEST(Backoff, DoublesFromOneMinuteToTheHourCap) {
  retry_policy p;
  EXPECT_EQ(backoff_delay(p, 1, 0.5), seconds(60));
  EXPECT_EQ(backoff_delay(p, 2, 0.5), seconds(120));
  EXPECT_EQ(backoff_delay(p, 3, 0.5), seconds(240));
  EXPECT_EQ(backoff_delay(p, 7, 0.5), seconds(3600));  // 64 min capped at 60
  EXPECT_EQ(backoff_delay(p, 1000, 0.5), seconds(3600));
  EXPECT_EQ(backoff_delay(p, 4'000'000'000u, 0.5), seconds(3600));
}

TEST(Backoff, JitterStaysWithinItsBandAndTheCap) {
  retry_policy p;
  p.jitter = 0.2;
  EXPECT_EQ(backoff_delay(p, 1, 0.0), seconds(48));
  EXPECT_EQ(backoff_delay(p, 1, 1.0), seconds(72));
  EXPECT_EQ(backoff_delay(p, 20, 1.0), seconds(3600));  // never above the cap
  EXPECT_EQ(backoff_delay(p, 20, 0.0), seconds(2880));
  EXPECT_EQ(backoff_delay(p, 1, -5.0), seconds(48));  // u out of range is clamped
}

TEST(Backoff, ConfigurableAndZero) {
  retry_policy p;
  p.first = seconds(0);
  EXPECT_EQ(backoff_delay(p, 5, 0.7), seconds(0));
  p.first = seconds(10);
  p.factor = 3;
  p.max_delay = seconds(100);
  p.jitter = 0;
  EXPECT_EQ(backoff_delay(p, 2, 0.9), seconds(30));
  EXPECT_EQ(backoff_delay(p, 3, 0.9), seconds(90));
  EXPECT_EQ(backoff_delay(p, 4, 0.9), seconds(100));
}

TEST(Classify, Causes) {
  EXPECT_EQ(classify_cause(""), verdict::delivered);
  EXPECT_EQ(classify_cause("smtp.transient"), verdict::retry);
  EXPECT_EQ(classify_cause("net.refused"), verdict::retry);
  EXPECT_EQ(classify_cause("net.timeout"), verdict::retry);
  EXPECT_EQ(classify_cause("net.greeting-timeout"), verdict::retry);
  EXPECT_EQ(classify_cause("smtp.outcome-unknown"), verdict::unknown);
  EXPECT_EQ(classify_cause("smtp.rejected"), verdict::failed);
  EXPECT_EQ(classify_cause("tls.kx.rsa-only"), verdict::failed);
  EXPECT_EQ(classify_cause("smtp.auth-failed"), verdict::failed);
}

TEST(Classify, BulkOutcomes) {
  client::bulk_outcome ok;
  ok.ok = true;
  ok.code = 250;
  EXPECT_EQ(classify(ok), verdict::delivered);

  client::bulk_outcome lost;
  lost.unknown = true;
  lost.cause = "smtp.outcome-unknown";
  EXPECT_EQ(classify(lost), verdict::unknown);

  client::bulk_outcome later;
  later.cause = "smtp.transient";
  later.code = 451;
  EXPECT_EQ(classify(later), verdict::retry);

  client::bulk_outcome refused;
  refused.cause = "smtp.rejected";
  refused.code = 550;
  refused.recipients = {{"a@x", false, "550 5.1.1 no"}};
  EXPECT_EQ(classify(refused), verdict::failed);

  client::bulk_outcome partial;
  partial.cause = "smtp.rejected";
  partial.code = 250;
  partial.recipients = {{"a@x", true, "250 ok"}, {"bad@x", false, "550 5.1.1 no"}};
  EXPECT_EQ(classify(partial), verdict::partial);

  client::bulk_outcome not_ok_no_cause;
  EXPECT_EQ(classify(not_ok_no_cause), verdict::failed);
}

TEST(Classify, MessageReports) {
  send::message_report m;
  m.delivered = true;
  m.recipients = {{"a@x", true, "250"}};
  EXPECT_EQ(classify(m), verdict::delivered);
  m.recipients.push_back({"b@x", false, "451 later"});
  m.error = send::failure{"smtp.transient", "b@x refused", ""};
  EXPECT_EQ(classify(m), verdict::partial);
  send::message_report t;
  t.error = send::failure{"net.closed", "closed", ""};
  EXPECT_EQ(classify(t), verdict::retry);
}

TEST(Decide, RetryUntilTheGiveUpAgeThenFailed) {
  retry_policy p;
  p.jitter = 0;
  attempt_facts f{"net.refused", "", "connection refused", {}};
  auto o = decide(verdict::retry, f, p, t0, 1, t0 + seconds(5), 0.5);
  EXPECT_EQ(o.next, status::queued);
  EXPECT_EQ(o.retry_at, t0 + seconds(65));
  EXPECT_EQ(o.cause, "net.refused");

  // The last retry is placed at the give-up time, not after it.
  o = decide(verdict::retry, f, p, t0, 40, t0 + hours(120) - seconds(10), 0.5);
  EXPECT_EQ(o.next, status::queued);
  EXPECT_EQ(o.retry_at, t0 + hours(120));

  o = decide(verdict::retry, f, p, t0, 41, t0 + hours(120), 0.5);
  EXPECT_EQ(o.next, status::failed);
  EXPECT_EQ(o.cause, "queue.given-up");
  EXPECT_NE(o.summary.find("41 attempts"), std::string::npos) << o.summary;
  EXPECT_NE(o.summary.find("[net.refused] connection refused"), std::string::npos) << o.summary;
}

TEST(Decide, OtherVerdicts) {
  retry_policy p;
  auto d = decide(verdict::delivered, {"", "250 ok", "", {}}, p, t0, 1, t0, 0.5);
  EXPECT_EQ(d.next, status::delivered);
  EXPECT_EQ(d.cause, "");
  auto u = decide(verdict::unknown, {"", "", "lost", {}}, p, t0, 1, t0, 0.5);
  EXPECT_EQ(u.next, status::unknown);
  EXPECT_EQ(u.cause, "smtp.outcome-unknown");
  auto f = decide(verdict::failed, {"smtp.rejected", "550 5.7.1 no", "refused", {}}, p, t0, 1, t0, 0.5);
  EXPECT_EQ(f.next, status::failed);
  EXPECT_EQ(f.reply, "550 5.7.1 no");
  auto part =
      decide(verdict::partial,
             {"smtp.rejected", "250 ok", "", {{"a@x", true, "250"}, {"bad@x", false, "550 5.1.1 no"}}}, p, t0,
             1, t0, 0.5);
  EXPECT_EQ(part.next, status::failed);
  EXPECT_EQ(part.cause, "queue.partial");
  EXPECT_NE(part.summary.find("bad@x (550 5.1.1 no)"), std::string::npos) << part.summary;
  EXPECT_EQ(part.summary.find("a@x"), std::string::npos) << part.summary;
}

TEST(Verdict, Names) {
  EXPECT_STREQ(to_string(verdict::partial), "partial");
  EXPECT_STREQ(to_string(verdict::retry), "retry");
}

}  // namespace
}  // namespace postern::queue
