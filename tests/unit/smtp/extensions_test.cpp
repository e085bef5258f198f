// The session with CHUNKING (RFC 3030), DSN (RFC 3461) and SMTPUTF8 (RFC 6531): scripted server
// replies and the exact client bytes, as session_test.cpp does for the base protocol.
#include <gtest/gtest.h>

#include "postern/smtp/commands.hpp"
#include "postern/smtp/data.hpp"
#include "postern/smtp/dsn.hpp"
#include "postern/smtp/error.hpp"
#include "postern/smtp/session.hpp"

namespace postern::smtp {
namespace {

const std::string greeting = "220 mx.test ESMTP\r\n";

std::string ehlo_with(std::initializer_list<const char*> caps) {
  std::string out = "250-mx.test\r\n";
  for (auto it = caps.begin(); it != caps.end(); ++it)
    out += std::string(std::next(it) == caps.end() ? "250 " : "250-") + *it + "\r\n";
  return out;
}

struct conversation {
  std::string client;
  std::size_t writes = 0;
};

conversation drive(session& s, const std::vector<std::string>& server) {
  conversation c;
  std::size_t next = 0;
  for (int i = 0; i < 10000; ++i) {
    action a = s.next();
    if (a.kind == action_kind::write) {
      c.client += a.bytes;
      ++c.writes;
      s.written();
    } else if (a.kind == action_kind::read) {
      if (next < server.size())
        s.received(server[next++]);
      else
        s.connection_lost();
    } else if (a.kind == action_kind::start_tls) {
      s.tls_started();
    } else {
      return c;
    }
  }
  ADD_FAILURE() << "session did not finish";
  return c;
}

session_config cfg(std::size_t chunk = 1024 * 1024) {
  session_config c;
  c.ehlo_domain = "client.test";
  c.chunk_size = chunk;
  return c;
}

const std::string message = "Subject: x\r\n\r\n.leading dot\r\nbody\r\n";

TEST(chunking, pipelined_bdat_is_not_dot_stuffed_and_joins_mail_and_rcpt) {
  session s(cfg(), {"a@x.test", {"b@y.test"}}, encode_data(message));
  auto c = drive(s, {greeting, ehlo_with({"PIPELINING", "CHUNKING"}),
                     "250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n", "221 bye\r\n"});
  EXPECT_EQ(c.client, "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT " +
                          std::to_string(message.size()) + " LAST\r\n" + message + "QUIT\r\n");
  EXPECT_EQ(c.writes, 3u) << "EHLO, then MAIL+RCPT+BDAT in one flight, then QUIT";
  EXPECT_TRUE(s.result().delivered);
  EXPECT_TRUE(s.result().used_chunking);
}

TEST(chunking, chunks_split_at_chunk_size_and_only_the_last_says_last) {
  const std::string big(2500, 'x');
  const std::string m = "Subject: big\r\n\r\n" + big + "\r\n";
  session s(cfg(1000), {"a@x.test", {"b@y.test"}}, encode_data(m));
  auto c = drive(s, {greeting, ehlo_with({"PIPELINING", "CHUNKING"}),
                     "250 ok\r\n250 ok\r\n250 c1\r\n250 c2\r\n250 done\r\n", "221 bye\r\n"});
  const std::string expected =
      "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 1000\r\n" + m.substr(0, 1000) +
      "BDAT 1000\r\n" + m.substr(1000, 1000) + "BDAT " + std::to_string(m.size() - 2000) + " LAST\r\n" +
      m.substr(2000) + "QUIT\r\n";
  EXPECT_EQ(c.client, expected);
  ASSERT_TRUE(s.result().final_reply);
  EXPECT_EQ(s.result().final_reply->lines[0], "done");
}

TEST(chunking, without_pipelining_each_chunk_waits_for_its_reply) {
  const std::string m = "Subject: s\r\n\r\n" + std::string(1500, 'y') + "\r\n";
  session s(cfg(1000), {"a@x.test", {"b@y.test"}}, encode_data(m));
  // A refusal of the first chunk: the second is never sent.
  auto c = drive(s, {greeting, ehlo_with({"CHUNKING"}), "250 ok\r\n", "250 ok\r\n", "554 5.6.0 no\r\n"});
  EXPECT_EQ(c.client.find("BDAT " + std::to_string(m.size() - 1000) + " LAST"), std::string::npos);
  EXPECT_EQ(s.result().error, errc::rejected);
  EXPECT_FALSE(s.result().delivered);
}

TEST(chunking, no_chunking_or_not_offered_uses_data) {
  session_config c1 = cfg();
  c1.use_chunking = false;
  session s(c1, {"a@x.test", {"b@y.test"}}, encode_data(message));
  auto c = drive(s, {greeting, ehlo_with({"CHUNKING"}), "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_NE(c.client.find("DATA\r\n" + encode_data(message)), std::string::npos);
  EXPECT_EQ(c.client.find("BDAT"), std::string::npos);
  EXPECT_TRUE(s.result().delivered);
  EXPECT_FALSE(s.result().used_chunking);
}

TEST(chunking, pipelined_bdat_with_every_recipient_refused_reads_the_chunk_replies) {
  session s(cfg(), {"a@x.test", {"b@y.test"}}, encode_data(message));
  drive(s, {greeting, ehlo_with({"PIPELINING", "CHUNKING"}),
            "250 ok\r\n550 no\r\n554 5.5.1 no valid recipients\r\n"});
  EXPECT_EQ(s.result().error, errc::no_recipient_accepted);
  EXPECT_TRUE(s.can_continue()) << "every reply was read: the connection can carry the next message";
}

TEST(chunking, binarymime_only_for_content_8bitmime_cannot_carry) {
  const std::string long_line = "Subject: s\r\n\r\n" + std::string(1200, 'z') + "\r\n";
  session s(cfg(), {"a@x.test", {"b@y.test"}}, encode_data(long_line));
  auto c = drive(s, {greeting, ehlo_with({"CHUNKING", "BINARYMIME", "8BITMIME"}), "250 ok\r\n", "250 ok\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_NE(c.client.find("MAIL FROM:<a@x.test> BODY=BINARYMIME\r\n"), std::string::npos);
  session t(cfg(), {"a@x.test", {"b@y.test"}}, encode_data(message));
  auto d = drive(t, {greeting, ehlo_with({"CHUNKING", "BINARYMIME", "8BITMIME"}), "250 ok\r\n", "250 ok\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_NE(d.client.find("MAIL FROM:<a@x.test>\r\n"), std::string::npos);
}

TEST(dsn, parameters_go_on_mail_and_every_rcpt_when_offered) {
  dsn_request d;
  ASSERT_TRUE(parse_dsn_notify("success,failure", d));
  d.ret = dsn_return::headers;
  d.envid = "id+1 x";
  envelope env{"a@x.test", {"b@y.test", "c=d@y.test"}, d};
  session s(cfg(), env, encode_data(message));
  auto c = drive(s, {greeting, ehlo_with({"DSN"}), "250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_NE(c.client.find("MAIL FROM:<a@x.test> RET=HDRS ENVID=id+2B1+20x\r\n"), std::string::npos)
      << c.client;
  EXPECT_NE(c.client.find("RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@y.test\r\n"),
            std::string::npos);
  EXPECT_NE(c.client.find("RCPT TO:<c=d@y.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+3Dd@y.test\r\n"),
            std::string::npos);
  EXPECT_TRUE(s.result().used_dsn);
}

TEST(dsn, not_offered_goes_without_or_fails_before_mail_when_required) {
  dsn_request d;
  d.notify_never = true;
  session s(cfg(), {"a@x.test", {"b@y.test"}, d}, encode_data(message));
  auto c = drive(s, {greeting, ehlo_with({"8BITMIME"}), "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_EQ(c.client.find("NOTIFY"), std::string::npos);
  EXPECT_TRUE(s.result().delivered);
  EXPECT_TRUE(s.result().dsn_ignored);

  d.required = true;
  session r(cfg(), {"a@x.test", {"b@y.test"}, d}, encode_data(message));
  auto rc = drive(r, {greeting, ehlo_with({"8BITMIME"})});
  EXPECT_EQ(rc.client, "EHLO client.test\r\n") << "nothing of the transaction is sent";
  EXPECT_EQ(r.result().error, errc::dsn_unsupported);
  EXPECT_STREQ(cause(r.result()), "smtp.dsn-unsupported");
}

TEST(smtputf8, offered_sends_the_parameter_and_the_addresses_as_they_are) {
  envelope env{
      "j\xc3\xb6rg@b\xc3\xbc"
      "cher.test",
      {"ann@y.test"}};
  session s(cfg(), env, encode_data(message));
  auto c = drive(s, {greeting, ehlo_with({"SMTPUTF8"}), "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_NE(c.client.find("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc"
                          "cher.test> SMTPUTF8\r\n"),
            std::string::npos);
  EXPECT_TRUE(s.result().used_smtputf8);
}

TEST(smtputf8, utf8_headers_alone_ask_for_smtputf8_when_offered) {
  const std::string m =
      "Subject: Gr\xc3\xbc\xc3\x9f"
      "e\r\n\r\nbody\r\n";
  session s(cfg(), {"a@x.test", {"b@y.test"}}, encode_data(m));
  auto c = drive(s, {greeting, ehlo_with({"SMTPUTF8", "8BITMIME"}), "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_NE(c.client.find("MAIL FROM:<a@x.test> BODY=8BITMIME SMTPUTF8\r\n"), std::string::npos) << c.client;
}

TEST(smtputf8, without_it_domains_become_a_labels_through_the_injected_function) {
  session_config c1 = cfg();
  c1.domain_to_ascii = [](std::string_view d) -> std::optional<std::string> {
    if (d ==
        "b\xc3\xbc"
        "cher.test")
      return "xn--bcher-kva.test";
    return std::nullopt;
  };
  envelope env{
      "a@b\xc3\xbc"
      "cher.test",
      {"ann@b\xc3\xbc"
       "cher.test"}};
  session s(c1, env, encode_data(message));
  auto c = drive(s, {greeting, ehlo_with({"8BITMIME"}), "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_NE(c.client.find("MAIL FROM:<a@xn--bcher-kva.test>\r\nRCPT TO:<ann@xn--bcher-kva.test>\r\n"),
            std::string::npos)
      << c.client;
  ASSERT_EQ(s.result().recipients.size(), 1u);
  EXPECT_EQ(s.result().recipients[0].address,
            "ann@b\xc3\xbc"
            "cher.test")
      << "reported as the user gave it";
}

TEST(smtputf8, without_it_a_utf8_local_part_fails_before_mail) {
  session_config c1 = cfg();
  c1.domain_to_ascii = [](std::string_view d) -> std::optional<std::string> { return std::string(d); };
  session s(c1, {"a@x.test", {"j\xc3\xb6rg@y.test"}}, encode_data(message));
  auto c = drive(s, {greeting, ehlo_with({"8BITMIME"})});
  EXPECT_EQ(c.client, "EHLO client.test\r\n");
  EXPECT_EQ(s.result().error, errc::utf8_unsupported);
  EXPECT_STREQ(cause(s.result()), "smtp.utf8-unsupported");
  EXPECT_TRUE(s.can_continue());
}

TEST(dsn_syntax, notify_values) {
  dsn_request d;
  EXPECT_TRUE(parse_dsn_notify("never", d));
  EXPECT_EQ(notify_value(d), "NEVER");
  EXPECT_TRUE(parse_dsn_notify("Delay , success", d));
  EXPECT_EQ(notify_value(d), "SUCCESS,DELAY");
  EXPECT_FALSE(parse_dsn_notify("never,success", d));
  EXPECT_FALSE(parse_dsn_notify("success,", d));
  EXPECT_FALSE(parse_dsn_notify("sometimes", d));
  EXPECT_FALSE(parse_dsn_notify("", d));
  EXPECT_EQ(notify_value(d), "SUCCESS,DELAY") << "a failed parse leaves the request unchanged";
  EXPECT_EQ(parse_dsn_return("HDRS"), dsn_return::headers);
  EXPECT_EQ(parse_dsn_return("full"), dsn_return::full);
  EXPECT_FALSE(parse_dsn_return("all"));
  EXPECT_TRUE(valid_envid("QQ314159"));
  EXPECT_FALSE(valid_envid(std::string(101, 'a')));
  EXPECT_FALSE(valid_envid("a\r\nb"));
}

TEST(dsn_syntax, xtext_and_orcpt) {
  EXPECT_EQ(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(xtext_encode("\xc3\xa9"), "+C3+A9");
  EXPECT_EQ(orcpt_value("b@y.test"), "rfc822;b@y.test");
  EXPECT_EQ(orcpt_value("j\xc3\xb6rg+x@y.test"), "utf-8;j\\x{F6}rg\\x{2B}x@y.test");
  std::error_code ec;
  EXPECT_EQ(rcpt_to("b@y", {.notify = "NEVER", .orcpt = "a b"}, ec), "");
  EXPECT_EQ(ec, errc::invalid_argument) << "a space would split the command";
}

TEST(data_form, normalise_line_ends_is_what_encode_data_stuffs) {
  EXPECT_EQ(normalise_line_ends("a\nb\rc\r\n.d"), "a\r\nb\r\nc\r\n.d\r\n");
  EXPECT_EQ(normalise_line_ends(""), "");
  const std::string m = "x\n.y\n";
  EXPECT_EQ(decode_data(encode_data(m)), normalise_line_ends(m));
  EXPECT_EQ(normalise_line_ends(normalise_line_ends(m)), normalise_line_ends(m));
}

}  // namespace
}  // namespace postern::smtp
