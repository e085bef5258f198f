// PIPELINING across messages (RFC 2920): the next message's commands go out right after the
// previous final dot, and every reply is still attributed to the right message.
#include <gtest/gtest.h>

#include "postern/smtp/data.hpp"
#include "postern/smtp/error.hpp"
#include "postern/smtp/session.hpp"

namespace postern::smtp {
namespace {

const std::string greeting = "220 mx.test ESMTP\r\n";
const std::string ehlo_pipelining = "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
const std::string ehlo_chunking = "250-mx.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n";

std::string body(int n) { return encode_data("Subject: " + std::to_string(n) + "\r\n\r\nmessage " + std::to_string(n) + "\r\n"); }
envelope to(int n) { return envelope{"a@x.test", {"r" + std::to_string(n) + "@y.test"}}; }

struct outcome {
  bool sent = true;  // false: pipelined, then the connection ended before it was the current message
  bool delivered = false;
  std::error_code error;
  std::string final_reply;
};

struct run {
  std::vector<std::string> log;  // "C: …" per write, "S: …" per read, in order
  std::vector<outcome> outcomes;
  std::size_t index_of(std::string_view needle) const {
    for (std::size_t i = 0; i < log.size(); ++i)
      if (log[i].find(needle) != std::string::npos) return i;
    return log.size();
  }
};

// Drives one connection carrying message 1 (given to the session) and then @p count - 1 more,
// pipelining each behind the previous final dot whenever the session allows it.
// With @p coalesce the next message is given before the write that ends the current one, so its
// commands join that write (what postern::send does).
run drive(session& s, int count, const std::vector<std::string>& server, bool coalesce = false) {
  run r;
  int next_msg = 2;
  std::size_t chunk = 0;
  bool quitting = false;
  for (int guard = 0; guard < 10000; ++guard) {
    action a = s.next();
    switch (a.kind) {
      case action_kind::write:
        if (coalesce && s.write_ends_content() && s.can_pipeline_next() && next_msg <= count &&
            s.pipeline_next(to(next_msg), body(next_msg))) {
          ++next_msg;
          a = s.next();
        }
        r.log.push_back("C: " + std::string(a.bytes));
        s.written();
        if (s.can_pipeline_next() && next_msg <= count && s.pipeline_next(to(next_msg), body(next_msg)))
          ++next_msg;
        break;
      case action_kind::read:
        if (chunk < server.size()) {
          r.log.push_back("S: " + server[chunk]);
          s.received(server[chunk++]);
        } else {
          r.log.push_back("S: <connection lost>");
          s.connection_lost();
        }
        break;
      case action_kind::start_tls:
        s.tls_started();
        break;
      case action_kind::finished:
      case action_kind::failed: {
        if (quitting) return r;
        const auto& res = s.result();
        r.outcomes.push_back({true, res.delivered, res.error, res.final_reply ? res.final_reply->to_string() : ""});
        if (s.has_pipelined()) {
          if (s.can_continue()) {
            s.next_pipelined();
            break;
          }
          r.outcomes.push_back({false, false, {}, ""});
          return r;
        }
        if (next_msg <= count && s.can_continue()) {
          s.next_message(to(next_msg), body(next_msg));
          ++next_msg;
          break;
        }
        if (!s.can_continue()) return r;
        quitting = true;
        s.finish();
        break;
      }
    }
  }
  ADD_FAILURE() << "the session did not end";
  return r;
}

session_config config() {
  session_config c;
  c.ehlo_domain = "client.test";
  c.quit_when_done = false;
  return c;
}

TEST(pipelining, next_mail_goes_before_the_previous_dot_reply) {
  session s(config(), to(1), body(1));
  auto r = drive(s, 3,
                 {greeting, ehlo_pipelining, "250 ok\r\n250 ok\r\n354 go\r\n",
                  "250 queued 1\r\n250 ok\r\n250 ok\r\n354 go\r\n", "250 queued 2\r\n250 ok\r\n250 ok\r\n354 go\r\n",
                  "250 queued 3\r\n", "221 bye\r\n"});
  // The transcript: MAIL for message 2 written before message 1's 250 arrived, and no RSET.
  const auto mail2 = r.index_of("RCPT TO:<r2@y.test>");
  const auto queued1 = r.index_of("250 queued 1");
  ASSERT_LT(mail2, r.log.size());
  EXPECT_LT(mail2, queued1);
  EXPECT_EQ(r.log[mail2], "C: MAIL FROM:<a@x.test>\r\nRCPT TO:<r2@y.test>\r\nDATA\r\n");
  EXPECT_EQ(r.index_of("RSET"), r.log.size());
  EXPECT_LT(r.index_of("RCPT TO:<r3@y.test>"), r.index_of("250 queued 2"));
  ASSERT_EQ(r.outcomes.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(r.outcomes[i].delivered) << i;
    EXPECT_EQ(r.outcomes[i].final_reply, "250 queued " + std::to_string(i + 1));
  }
  // The content of message 2 waits for its own 354, which comes after message 1's reply.
  EXPECT_GT(r.index_of("message 2"), queued1);
  EXPECT_EQ(r.log.back(), "S: 221 bye\r\n");
}

TEST(pipelining, the_next_commands_can_join_the_write_that_ends_the_content) {
  session s(config(), to(1), body(1));
  auto r = drive(s, 3,
                 {greeting, ehlo_pipelining, "250 ok\r\n250 ok\r\n354 go\r\n",
                  "250 queued 1\r\n250 ok\r\n250 ok\r\n354 go\r\n", "250 queued 2\r\n250 ok\r\n250 ok\r\n354 go\r\n",
                  "250 queued 3\r\n", "221 bye\r\n"},
                 true);
  const auto w = r.index_of("message 1");
  ASSERT_LT(w, r.log.size());
  EXPECT_EQ(r.log[w], "C: " + body(1) + "MAIL FROM:<a@x.test>\r\nRCPT TO:<r2@y.test>\r\nDATA\r\n");
  ASSERT_EQ(r.outcomes.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.outcomes[i].final_reply, "250 queued " + std::to_string(i + 1));
  EXPECT_LT(r.index_of("RCPT TO:<r3@y.test>"), r.index_of("250 queued 2"));
}

TEST(pipelining, coalesced_bdat_flights_and_a_lost_connection) {
  session s(config(), to(1), body(1));
  auto r = drive(s, 3,
                 {greeting, ehlo_chunking, "250 ok\r\n250 ok\r\n250 queued 1\r\n250 reset\r\n250 ok\r\n250 ok\r\n"},
                 true);
  // Message 1's whole transaction and message 2's RSET, MAIL, RCPT in one write.
  const auto w = r.index_of("RCPT TO:<r1@y.test>");
  ASSERT_LT(w, r.log.size());
  EXPECT_EQ(r.log[w].rfind("C: MAIL FROM:<a@x.test>\r\nRCPT TO:<r1@y.test>\r\nBDAT ", 0), 0u) << r.log[w];
  EXPECT_NE(r.log[w].find("RSET\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<r2@y.test>\r\n"), std::string::npos);
  ASSERT_EQ(r.outcomes.size(), 3u);
  EXPECT_TRUE(r.outcomes[0].delivered);
  EXPECT_EQ(r.outcomes[1].error, make_error_code(errc::outcome_unknown));  // its LAST chunk went
  EXPECT_FALSE(r.outcomes[2].sent);
}

TEST(pipelining, refusals_in_the_middle_are_attributed_and_nothing_else_is_lost) {
  // 1: its dot refused; 2 (pipelined behind it): every recipient refused; 3: RSET, then delivered.
  session s(config(), to(1), body(1));
  auto r = drive(s, 4,
                 {greeting, ehlo_pipelining, "250 ok\r\n250 ok\r\n354 go\r\n",
                  "554 5.7.1 spam\r\n250 ok\r\n550 5.1.1 no such user\r\n554 no valid recipients\r\n",
                  "250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n", "250 queued 3\r\n250 ok\r\n250 ok\r\n354 go\r\n",
                  "250 queued 4\r\n", "221 bye\r\n"});
  ASSERT_EQ(r.outcomes.size(), 4u);
  EXPECT_EQ(r.outcomes[0].error, make_error_code(errc::rejected));
  EXPECT_EQ(r.outcomes[0].final_reply, "554 5.7.1 spam");
  EXPECT_EQ(r.outcomes[1].error, make_error_code(errc::no_recipient_accepted));
  EXPECT_TRUE(r.outcomes[2].delivered);
  EXPECT_EQ(r.outcomes[2].final_reply, "250 queued 3");
  EXPECT_TRUE(r.outcomes[3].delivered);
  EXPECT_EQ(r.outcomes[3].final_reply, "250 queued 4");
  // Message 2's content was never written; message 3 started with RSET after the failure.
  EXPECT_EQ(r.index_of("message 2"), r.log.size());
  EXPECT_LT(r.index_of("RSET"), r.index_of("RCPT TO:<r3@y.test>"));
}

TEST(pipelining, a_lost_connection_after_a_dot_makes_that_message_unknown_and_the_next_not_sent) {
  session s(config(), to(1), body(1));
  auto r = drive(s, 3,
                 {greeting, ehlo_pipelining, "250 ok\r\n250 ok\r\n354 go\r\n",
                  "250 queued 1\r\n250 ok\r\n250 ok\r\n354 go\r\n"});
  ASSERT_EQ(r.outcomes.size(), 3u);
  EXPECT_TRUE(r.outcomes[0].delivered);
  EXPECT_EQ(r.outcomes[1].error, make_error_code(errc::outcome_unknown));
  EXPECT_FALSE(r.outcomes[2].sent);  // its MAIL went, its content never: not sent, to try elsewhere
  EXPECT_EQ(r.index_of("message 3"), r.log.size());
}

TEST(pipelining, a_421_to_the_dot_ends_the_connection_and_the_next_is_not_sent) {
  session s(config(), to(1), body(1));
  auto r = drive(s, 2, {greeting, ehlo_pipelining, "250 ok\r\n250 ok\r\n354 go\r\n", "421 4.3.2 closing\r\n"});
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_EQ(r.outcomes[0].error, make_error_code(errc::transient));
  EXPECT_FALSE(r.outcomes[1].sent);
}

TEST(pipelining, bdat_next_transaction_resets_first_and_sends_its_chunk_after_the_reply) {
  session s(config(), to(1), body(1));
  auto r = drive(s, 3,
                 {greeting, ehlo_chunking, "250 ok\r\n250 ok\r\n250 queued 1\r\n250 reset\r\n250 ok\r\n250 ok\r\n",
                  "250 queued 2\r\n250 ok\r\n250 ok\r\n", "250 queued 3\r\n", "221 bye\r\n"});
  ASSERT_EQ(r.outcomes.size(), 3u);
  EXPECT_EQ(r.outcomes[2].final_reply, "250 queued 3");
  // Message 3 is pipelined behind message 2's LAST chunk in turn; message 2's RCPT replies were
  // in by then, so no RSET in front of it.
  const auto flight3 = r.index_of("RCPT TO:<r3@y.test>");
  EXPECT_LT(flight3, r.index_of("250 queued 2"));
  EXPECT_EQ(r.log[flight3], "C: MAIL FROM:<a@x.test>\r\nRCPT TO:<r3@y.test>\r\n");
  EXPECT_TRUE(r.outcomes[0].delivered);
  EXPECT_EQ(r.outcomes[0].final_reply, "250 queued 1");
  EXPECT_TRUE(r.outcomes[1].delivered);
  EXPECT_EQ(r.outcomes[1].final_reply, "250 queued 2");
  // Message 2's RSET, MAIL, RCPT went before any reply; its LAST chunk only after message 1's.
  const auto flight2 = r.index_of("RCPT TO:<r2@y.test>");
  EXPECT_EQ(r.log[flight2], "C: RSET\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<r2@y.test>\r\n");
  EXPECT_LT(flight2, r.index_of("250 queued 1"));
  EXPECT_GT(r.index_of("message 2"), r.index_of("250 queued 1"));
}

TEST(pipelining, bdat_refused_mail_behind_which_a_message_was_pipelined) {
  // Message 1's MAIL is refused: its RCPT and BDAT replies are skipped, the RSET clears it and
  // message 2 (pipelined) is delivered.
  session s(config(), to(1), body(1));
  auto r = drive(s, 2,
                 {greeting, ehlo_chunking,
                  "451 4.3.0 try later\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n250 reset\r\n250 ok\r\n250 ok\r\n",
                  "250 queued 2\r\n", "221 bye\r\n"});
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_EQ(r.outcomes[0].error, make_error_code(errc::transient));
  EXPECT_TRUE(r.outcomes[1].delivered);
  EXPECT_EQ(r.outcomes[1].final_reply, "250 queued 2");
}

TEST(pipelining, replies_owed_to_a_refused_pipelined_mail_are_not_read_as_the_rset_reply) {
  // Without cross-message pipelining: MAIL refused, its RCPT and DATA still get 503s; the next
  // message's RSET reply is the one after them.
  session s(config(), to(1), body(1));
  auto r = drive(s, 2,
                 {greeting, ehlo_pipelining, "550 5.7.1 sender refused\r\n503 need MAIL\r\n503 need RCPT\r\n",
                  "250 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n", "250 queued 2\r\n", "221 bye\r\n"});
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_EQ(r.outcomes[0].error, make_error_code(errc::rejected));
  EXPECT_TRUE(r.outcomes[1].delivered);
  EXPECT_EQ(r.outcomes[1].final_reply, "250 queued 2");
}

TEST(pipelining, byte_at_a_time_replies_give_the_same_outcomes) {
  const std::vector<std::string> script = {greeting, ehlo_pipelining, "250 ok\r\n250 ok\r\n354 go\r\n",
                                           "250 queued 1\r\n250 ok\r\n250 ok\r\n354 go\r\n", "250 queued 2\r\n",
                                           "221 bye\r\n"};
  std::vector<std::string> bytes;
  for (const auto& c : script)
    for (char ch : c) bytes.emplace_back(1, ch);
  session s(config(), to(1), body(1));
  auto r = drive(s, 2, bytes);
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_EQ(r.outcomes[0].final_reply, "250 queued 1");
  EXPECT_EQ(r.outcomes[1].final_reply, "250 queued 2");
}

TEST(pipelining, not_without_the_servers_pipelining) {
  session s(config(), to(1), body(1));
  auto r = drive(s, 2,
                 {greeting, "250-mx.test\r\n250 8BITMIME\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                  "250 queued 1\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued 2\r\n", "221 bye\r\n"});
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_GT(r.index_of("RCPT TO:<r2@y.test>"), r.index_of("250 queued 1"));
  EXPECT_TRUE(r.outcomes[1].delivered);
}

}  // namespace
}  // namespace postern::smtp
