#include "postern/smtp/session.hpp"

#include <gtest/gtest.h>

#include "postern/smtp/data.hpp"
#include "postern/smtp/error.hpp"

// Transcript tests in the style of curl's test900: a scripted server, and the exact bytes
// the client must write. "<TLS>" in the client stream marks the TLS handshake.
namespace postern::smtp {
namespace {

const std::string message = "Subject: hi\r\n\r\nHello.\r\n.dot line\n";
const std::string wire = encode_data(message);
const std::string size_param = " SIZE=" + std::to_string(scan_message(message).wire_size);

const std::string greeting = "220 mx.example.com ESMTP Postfix\r\n";
const std::string ehlo_pipelining =
    "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 "
    "ENHANCEDSTATUSCODES\r\n";
const std::string ehlo_plain = "250-mx.example.com\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";

class fake_mechanism final : public sasl_mechanism {
 public:
  std::string mech = "PLAIN";
  std::optional<std::string> initial;
  std::vector<std::string> responses;
  std::vector<std::string> challenges;
  bool fail_step = false;

  std::string name() const override { return mech; }
  std::optional<std::string> initial_response(std::error_code&) override { return initial; }
  std::string step(std::string_view challenge, std::error_code& ec) override {
    challenges.emplace_back(challenge);
    if (fail_step || challenges.size() > responses.size()) {
      ec = make_error_code(errc::auth_failed);
      return {};
    }
    return responses[challenges.size() - 1];
  }
};

struct conversation {
  std::string client;
  std::vector<std::string> writes;
  std::vector<wait_kind> waits;
};

// Each read action gets the next chunk; when the script is exhausted the connection drops.
conversation drive(session& s, const std::vector<std::string>& server) {
  conversation c;
  std::size_t next_chunk = 0;
  for (int i = 0; i < 10000; ++i) {
    action a = s.next();
    switch (a.kind) {
      case action_kind::write:
        c.client += a.bytes;
        c.writes.emplace_back(a.bytes);
        s.written();
        break;
      case action_kind::read:
        c.waits.push_back(a.wait);
        if (next_chunk < server.size())
          s.received(server[next_chunk++]);
        else
          s.connection_lost();
        break;
      case action_kind::start_tls:
        c.client += "<TLS>";
        s.tls_started();
        break;
      case action_kind::finished:
      case action_kind::failed:
        return c;
    }
  }
  ADD_FAILURE() << "session did not finish";
  return c;
}

std::vector<std::string> bytewise(const std::vector<std::string>& script) {
  std::vector<std::string> out;
  for (const auto& chunk : script)
    for (char ch : chunk) out.emplace_back(1, ch);
  return out;
}

std::string transcript_text(const session& s) {
  std::string out;
  for (const auto& e : s.transcript()) {
    out += e.from == transcript_event::who::client   ? "C: "
           : e.from == transcript_event::who::server ? "S: "
                                                     : "I: ";
    out += e.text;
    out += '\n';
  }
  return out;
}

session_config config() {
  session_config c;
  c.ehlo_domain = "client.test";
  return c;
}

envelope two_recipients() { return envelope{"a@x.test", {"b@y.test", "c@y.test"}}; }

TEST(session, success_with_pipelining) {
  const std::vector<std::string> script = {
      greeting, ehlo_pipelining,
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
      "250 2.0.0 Ok: queued as 4F2B1\r\n", "221 2.0.0 Bye\r\n"};
  const std::string expected =
      "EHLO client.test\r\n"
      "MAIL FROM:<a@x.test>" +
      size_param + "\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n" + wire + "QUIT\r\n";
  session s(config(), two_recipients(), wire);
  auto c = drive(s, script);
  EXPECT_EQ(c.client, expected);
  EXPECT_EQ(c.writes.size(), 4u) << "MAIL, RCPTs and DATA go in one write";
  EXPECT_EQ(c.waits, (std::vector<wait_kind>{wait_kind::greeting, wait_kind::command, wait_kind::command,
                                             wait_kind::data_termination, wait_kind::command}));
  const auto& r = s.result();
  EXPECT_TRUE(r.delivered);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(s.current_state(), state::done);
  EXPECT_TRUE(r.used_pipelining);
  ASSERT_EQ(r.recipients.size(), 2u);
  EXPECT_TRUE(r.recipients[0].accepted && r.recipients[1].accepted);
  ASSERT_TRUE(r.final_reply);
  EXPECT_EQ(r.final_reply->lines[0], "2.0.0 Ok: queued as 4F2B1");
  EXPECT_TRUE(r.caps.pipelining);
  EXPECT_STREQ(cause(r), "");

  const std::string t = transcript_text(s);
  EXPECT_NE(t.find("I: state: greeting -> ehlo\n"), std::string::npos);
  EXPECT_NE(t.find("C: RCPT TO:<c@y.test>\nC: DATA\n"), std::string::npos);
  EXPECT_NE(t.find("S: 250-PIPELINING\n"), std::string::npos);
  EXPECT_NE(t.find("I: <message: " + std::to_string(wire.size()) + " octets>\n"), std::string::npos);
  EXPECT_EQ(t.find("Hello."), std::string::npos) << "content is not recorded";

  // Same conversation with every byte in its own read, and with everything in one read.
  session s2(config(), two_recipients(), wire);
  EXPECT_EQ(drive(s2, bytewise(script)).client, expected);
  EXPECT_TRUE(s2.result().delivered);
  std::string all;
  for (const auto& chunk : script) all += chunk;
  session s3(config(), two_recipients(), wire);
  EXPECT_EQ(drive(s3, {all}).client, expected);
  EXPECT_TRUE(s3.result().delivered);
}

TEST(session, success_without_pipelining) {
  const std::vector<std::string> script = {
      greeting,           ehlo_plain,         "250 2.1.0 Ok\r\n",     "250 2.1.5 Ok\r\n",
      "250 2.1.5 Ok\r\n", "354 go ahead\r\n", "250 2.0.0 queued\r\n", "221 bye\r\n"};
  session s(config(), two_recipients(), wire);
  auto c = drive(s, script);
  EXPECT_EQ(c.writes, (std::vector<std::string>{
                          "EHLO client.test\r\n", "MAIL FROM:<a@x.test>" + size_param + "\r\n",
                          "RCPT TO:<b@y.test>\r\n", "RCPT TO:<c@y.test>\r\n", "DATA\r\n", wire, "QUIT\r\n"}));
  EXPECT_EQ(c.waits[5], wait_kind::data_initiation);
  EXPECT_TRUE(s.result().delivered);
  EXPECT_FALSE(s.result().used_pipelining);

  // The server offers PIPELINING but the caller turned it off.
  auto cfg = config();
  cfg.use_pipelining = false;
  session s2(cfg, two_recipients(), wire);
  std::vector<std::string> script2 = script;
  script2[1] = ehlo_pipelining;
  EXPECT_EQ(drive(s2, script2).writes.size(), 7u);
  EXPECT_TRUE(s2.result().delivered);
}

TEST(session, starttls_discards_caps_and_repeats_ehlo) {
  auto cfg = config();
  cfg.starttls = true;
  session s(cfg, envelope{"a@x.test", {"b@y.test"}}, wire);
  auto c = drive(
      s, {greeting, "250-mx.example.com\r\n250-SIZE 1000\r\n250-AUTH LOGIN\r\n250 STARTTLS\r\n",
          "220 2.0.0 Ready to start TLS\r\n", "250-mx.example.com\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n",
          "250 ok\r\n250 ok\r\n354 go\r\n", "250 queued\r\n", "221 bye\r\n"});
  EXPECT_EQ(c.client,
            "EHLO client.test\r\nSTARTTLS\r\n<TLS>EHLO client.test\r\n"
            "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" +
                wire + "QUIT\r\n");
  const auto& r = s.result();
  EXPECT_TRUE(r.delivered);
  EXPECT_FALSE(r.caps.size) << "the pre-TLS SIZE must not survive";
  EXPECT_FALSE(r.caps.starttls);
  EXPECT_EQ(r.caps.auth, std::vector<std::string>{"PLAIN"});
  EXPECT_NE(transcript_text(s).find("state: tls_handshake -> ehlo_after_tls"), std::string::npos);
}

TEST(session, bytes_after_starttls_220) {
  auto cfg = config();
  cfg.starttls = true;
  const std::string caps = "250-mx\r\n250 STARTTLS\r\n";
  for (const std::string injected :
       {"220 Ready\r\n250-injected\r\n", "220 Ready\r\n2", "220 Ready\r\n\r\n"}) {
    session s(cfg, two_recipients(), wire);
    auto c = drive(s, {greeting, caps, injected});
    EXPECT_EQ(c.client, "EHLO client.test\r\nSTARTTLS\r\n");
    EXPECT_EQ(s.result().error, errc::bytes_after_starttls);
    EXPECT_EQ(s.result().failed_in, state::starttls);
    EXPECT_EQ(s.result().last_reply->code, 220);
  }
  // Plaintext arriving while the handshake is due is the same attack.
  session s(cfg, two_recipients(), wire);
  drive(s, {greeting, caps});
  session s2(cfg, two_recipients(), wire);
  s2.received(greeting);
  s2.written();
  s2.received(caps);
  s2.written();
  s2.received("220 go\r\n");
  ASSERT_EQ(s2.next().kind, action_kind::start_tls);
  s2.received("250 evil\r\n");
  EXPECT_EQ(s2.result().error, errc::bytes_after_starttls);
  EXPECT_EQ(s2.next().kind, action_kind::failed);
}

TEST(session, starttls_missing_and_refused) {
  auto cfg = config();
  cfg.starttls = true;
  session s(cfg, two_recipients(), wire);
  auto c = drive(s, {greeting, ehlo_pipelining});
  EXPECT_EQ(c.client, "EHLO client.test\r\n");
  EXPECT_EQ(s.result().error, errc::starttls_missing);
  EXPECT_STREQ(cause(s.result()), "smtp.starttls-missing");
  ASSERT_TRUE(s.result().last_reply);
  EXPECT_EQ(s.result().last_reply->code, 250);

  session s2(cfg, two_recipients(), wire);
  drive(s2, {greeting, "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 TLS not available due to local problem\r\n"});
  EXPECT_EQ(s2.result().error, errc::starttls_refused);
  EXPECT_STREQ(cause(s2.result()), "smtp.transient");
}

TEST(session, helo_fallback) {
  session s(config(), envelope{"a@x.test", {"b@y.test"}}, wire);
  auto c = drive(s, {greeting, "502 5.5.2 Error: command not recognized\r\n", "250 mx.example.com\r\n",
                     "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n", "221 bye\r\n"});
  EXPECT_EQ(c.client,
            "EHLO client.test\r\nHELO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" +
                wire + "QUIT\r\n");
  EXPECT_TRUE(s.result().delivered);
  EXPECT_TRUE(s.result().caps.keywords.empty());
}

TEST(session, auth_with_initial_response_is_redacted) {
  fake_mechanism mech;
  mech.initial = "AGFAYgBzZWNyZXQ=";
  auto cfg = config();
  cfg.tls_active = true;
  cfg.auth = &mech;
  session s(cfg, envelope{"a@x.test", {"b@y.test"}}, wire);
  auto c = drive(s, {greeting, "250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n",
                     "235 2.7.0 Authentication successful\r\n", "250 ok\r\n250 ok\r\n354 go\r\n",
                     "250 ok\r\n", "221 bye\r\n"});
  EXPECT_EQ(c.client,
            "EHLO client.test\r\nAUTH PLAIN AGFAYgBzZWNyZXQ=\r\nMAIL FROM:<a@x.test>\r\nRCPT "
            "TO:<b@y.test>\r\nDATA\r\n" +
                wire + "QUIT\r\n");
  EXPECT_TRUE(s.result().delivered);
  EXPECT_EQ(s.result().auth_mechanism, "PLAIN");
  const std::string t = transcript_text(s);
  EXPECT_NE(t.find("C: AUTH PLAIN <redacted>\n"), std::string::npos);
  EXPECT_EQ(t.find("AGFAYg"), std::string::npos);
}

TEST(session, auth_challenge_exchange_is_redacted) {
  fake_mechanism mech;
  mech.mech = "LOGIN";
  mech.responses = {"dXNlcg==", "c2VjcmV0"};
  auto cfg = config();
  cfg.tls_active = true;
  cfg.auth = &mech;
  session s(cfg, envelope{"a@x.test", {"b@y.test"}}, wire);
  auto c = drive(s, {greeting, "250-mx\r\n250 AUTH=LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n",
                     "535 5.7.8 Error: authentication failed\r\n"});
  EXPECT_EQ(c.client, "EHLO client.test\r\nAUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\n");
  EXPECT_EQ(mech.challenges, (std::vector<std::string>{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}));
  EXPECT_EQ(s.result().error, errc::auth_failed);
  EXPECT_EQ(s.result().failed_in, state::auth);
  EXPECT_EQ(s.result().last_reply->code, 535);
  const std::string t = transcript_text(s);
  EXPECT_NE(t.find("C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("dXNlcg"), std::string::npos);
  EXPECT_EQ(t.find("c2VjcmV0"), std::string::npos);
  EXPECT_NE(t.find("C: <redacted>\nS: 334 UGFzc3dvcmQ6\nC: <redacted>\n"), std::string::npos) << t;
}

TEST(session, auth_step_failure_cancels) {
  fake_mechanism mech;
  mech.fail_step = true;
  auto cfg = config();
  cfg.tls_active = true;
  cfg.auth = &mech;
  session s(cfg, two_recipients(), wire);
  auto c = drive(
      s, {greeting, "250-mx\r\n250 AUTH PLAIN\r\n", "334 \r\n", "501 5.7.0 Authentication aborted\r\n"});
  EXPECT_EQ(c.client, "EHLO client.test\r\nAUTH PLAIN\r\n*\r\n");
  EXPECT_EQ(s.result().error, errc::auth_failed);
  EXPECT_EQ(mech.challenges, std::vector<std::string>{""});
}

TEST(session, auth_refusals) {
  fake_mechanism mech;
  auto cfg = config();
  cfg.auth = &mech;
  {  // plaintext, not allowed
    session s(cfg, two_recipients(), wire);
    auto c = drive(s, {greeting, "250-mx\r\n250 AUTH PLAIN\r\n"});
    EXPECT_EQ(c.client, "EHLO client.test\r\n");
    EXPECT_EQ(s.result().error, errc::auth_needs_tls);
    EXPECT_STREQ(cause(s.result()), "smtp.auth-needs-tls");
  }
  cfg.tls_active = true;
  {  // no AUTH offered
    session s(cfg, two_recipients(), wire);
    drive(s, {greeting, "250-mx\r\n250 PIPELINING\r\n"});
    EXPECT_EQ(s.result().error, errc::auth_mech_unsupported);
  }
  const std::pair<std::string, errc> cases[] = {
      {"504 5.5.4 Unrecognized authentication type\r\n", errc::auth_mech_unsupported},
      {"538 5.7.11 Encryption required\r\n", errc::auth_needs_tls},
      {"454 4.7.0 Temporary authentication failure\r\n", errc::transient},
      {"535 5.7.8 nope\r\n", errc::auth_failed}};
  for (const auto& [reply_text, expected] : cases) {
    session s(cfg, two_recipients(), wire);
    drive(s, {greeting, "250-mx\r\n250 AUTH LOGIN\r\n", reply_text});
    EXPECT_EQ(s.result().error, expected) << reply_text;
    EXPECT_EQ(s.result().auth_mechanism, "PLAIN") << "the mechanism tried is recorded";
  }
}

TEST(session, some_recipients_refused) {
  session s(config(), envelope{"a@x.test", {"b@y.test", "nobody@y.test", "c@y.test"}}, wire);
  auto c =
      drive(s, {greeting, ehlo_pipelining,
                "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@y.test>: Recipient address rejected\r\n"
                "250 2.1.5 Ok\r\n354 go\r\n",
                "250 2.0.0 queued\r\n", "221 bye\r\n"});
  const auto& r = s.result();
  EXPECT_TRUE(r.delivered);
  EXPECT_FALSE(r.error);
  ASSERT_EQ(r.recipients.size(), 3u);
  EXPECT_TRUE(r.recipients[0].accepted);
  EXPECT_FALSE(r.recipients[1].accepted);
  EXPECT_EQ(r.recipients[1].address, "nobody@y.test");
  EXPECT_EQ(r.recipients[1].response.code, 550);
  EXPECT_EQ(r.recipients[1].response.enhanced, (enhanced_status{5, 1, 1}));
  EXPECT_TRUE(r.recipients[2].accepted);
}

TEST(session, all_recipients_refused_pipelined_354_ends_empty_data) {
  session s(config(), two_recipients(), wire);
  auto c = drive(s, {greeting, ehlo_pipelining, "250 Ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n354 go\r\n",
                     "554 5.5.1 Error: no valid recipients\r\n"});
  EXPECT_EQ(c.client, "EHLO client.test\r\nMAIL FROM:<a@x.test>" + size_param +
                          "\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n.\r\n");
  EXPECT_EQ(s.result().error, errc::no_recipient_accepted);
  EXPECT_FALSE(s.result().delivered);
  EXPECT_EQ(s.result().last_reply->code, 550);
  EXPECT_STREQ(cause(s.result()), "smtp.rejected");
}

TEST(session, all_recipients_refused) {
  {  // pipelined, DATA refused
    session s(config(), two_recipients(), wire);
    auto c =
        drive(s, {greeting, ehlo_pipelining,
                  "250 Ok\r\n450 4.2.0 greylisted\r\n451 4.3.0 later\r\n554 5.5.1 no valid recipients\r\n"});
    EXPECT_EQ(s.result().error, errc::no_recipient_accepted);
    EXPECT_STREQ(cause(s.result()), "smtp.transient") << "every refusal was 4xx";
  }
  {  // one at a time: DATA never sent
    session s(config(), two_recipients(), wire);
    auto c = drive(s, {greeting, ehlo_plain, "250 Ok\r\n", "550 no\r\n", "450 later\r\n"});
    EXPECT_EQ(c.client, "EHLO client.test\r\nMAIL FROM:<a@x.test>" + size_param +
                            "\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n");
    EXPECT_EQ(s.result().error, errc::no_recipient_accepted);
    EXPECT_EQ(s.result().failed_in, state::rcpt);
    EXPECT_STREQ(cause(s.result()), "smtp.rejected");
  }
}

TEST(session, size_exceeded_before_mail) {
  session s(config(), two_recipients(), wire);
  auto c = drive(s, {greeting, "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n"});
  EXPECT_EQ(c.client, "EHLO client.test\r\n");
  EXPECT_EQ(s.result().error, errc::message_too_big);
  EXPECT_EQ(s.result().failed_in, state::mail);

  session s2(config(), two_recipients(), wire);  // "SIZE" alone: no fixed limit
  drive(s2, {greeting, "250-mx\r\n250 SIZE\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
             "250 ok\r\n"});
  EXPECT_TRUE(s2.result().delivered);

  session s3(config(), two_recipients(), wire);  // the server's own SIZE refusal
  drive(s3, {greeting, ehlo_plain, "552 5.3.4 Message size exceeds fixed limit\r\n"});
  EXPECT_EQ(s3.result().error, errc::message_too_big);
}

TEST(session, connection_lost_after_final_dot_is_outcome_unknown) {
  session s(config(), two_recipients(), wire);
  auto c = drive(s, {greeting, ehlo_pipelining, "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n"});
  EXPECT_TRUE(c.client.ends_with(wire));
  EXPECT_EQ(s.result().error, errc::outcome_unknown);
  EXPECT_EQ(s.result().failed_in, state::content);
  EXPECT_FALSE(s.result().delivered);
  EXPECT_STREQ(cause(s.result()), "smtp.outcome-unknown");

  session s2(config(), two_recipients(), wire);  // before DATA: plainly lost
  drive(s2, {greeting, ehlo_pipelining});
  EXPECT_EQ(s2.result().error, errc::connection_lost);
  EXPECT_EQ(s2.result().failed_in, state::mail);

  session s3(config(), two_recipients(), wire);  // during QUIT: delivered stays
  drive(s3, {greeting, ehlo_pipelining, "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n", "250 queued\r\n"});
  EXPECT_TRUE(s3.result().delivered);
  EXPECT_FALSE(s3.result().error);
  EXPECT_EQ(s3.current_state(), state::done);
}

TEST(session, starttls_required_530) {
  session s(config(), two_recipients(), wire);
  drive(s, {greeting, ehlo_plain, "530 5.7.0 Must issue a STARTTLS command first\r\n"});
  EXPECT_EQ(s.result().error, errc::starttls_required);
  EXPECT_EQ(s.result().failed_in, state::mail);
  EXPECT_STREQ(cause(s.result()), "smtp.starttls-required");

  auto cfg = config();
  cfg.tls_active = true;  // on TLS the 530 is a plain refusal
  session s2(cfg, two_recipients(), wire);
  drive(s2, {greeting, ehlo_plain, "530 5.7.0 Authentication required\r\n"});
  EXPECT_EQ(s2.result().error, errc::rejected);
}

TEST(session, greeting_refusals) {
  session s(config(), two_recipients(), wire);
  auto c = drive(s, {"554 5.7.1 mx.example.com ESMTP not accepting connections\r\n"});
  EXPECT_TRUE(c.client.empty());
  EXPECT_EQ(s.result().error, errc::rejected);
  EXPECT_EQ(s.result().failed_in, state::greeting);
  EXPECT_EQ(s.result().last_reply->code, 554);

  session s2(config(), two_recipients(), wire);
  drive(s2, {"421 4.3.2 Service not available\r\n"});
  EXPECT_EQ(s2.result().error, errc::transient);

  session s3(config(), two_recipients(), wire);
  drive(s3, {"250 hello?\r\n"});
  EXPECT_EQ(s3.result().error, errc::bad_reply);
}

TEST(session, garbage_is_bad_reply_with_escaped_evidence) {
  session s(config(), two_recipients(), wire);
  drive(s, {std::string("\x16\x03\x03\x00\x02\x02\x28\n", 8)});
  EXPECT_EQ(s.result().error, errc::bad_reply);
  EXPECT_FALSE(s.result().last_reply);
  EXPECT_NE(transcript_text(s).find("S: \\x16\\x03\\x03\\x00\\x02\\x02(\n"), std::string::npos)
      << transcript_text(s);

  session s2(config(), two_recipients(), wire);
  drive(s2, {greeting, "250-" + std::string(100000, 'x')});
  EXPECT_EQ(s2.result().error, errc::reply_line_too_long);
  EXPECT_STREQ(cause(s2.result()), "smtp.reply-too-long");
}

TEST(session, mail_parameters_from_facts) {
  const std::string eight = encode_data("Subject: caf\xc3\xa9\r\n\r\nx\r\n");
  {
    session s(config(), envelope{"j\xc3\xb6rg@x.test", {"b@y.test"}}, eight);
    auto c = drive(s, {greeting, "250-mx\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n", "250 ok\r\n"});
    EXPECT_EQ(c.writes.at(1), "MAIL FROM:<j\xc3\xb6rg@x.test> BODY=8BITMIME SMTPUTF8\r\n");
  }
  {
    session s(config(), envelope{"a@x.test", {"b\xc3\xb6@y.test"}}, eight);
    auto c = drive(s, {greeting, "250-mx\r\n250 8BITMIME\r\n"});
    // A UTF-8 local part without SMTPUTF8 (extensions_test.cpp has the IDNA cases).
    EXPECT_EQ(s.result().error, errc::utf8_unsupported);
    EXPECT_EQ(c.writes.size(), 1u);
  }
  {
    session s(config(), envelope{"a@x.test", {"b@y.test>\r\nRCPT TO:<evil@z"}}, eight);
    auto c = drive(s, {greeting, ehlo_pipelining});
    EXPECT_EQ(s.result().error, errc::invalid_address);
    EXPECT_EQ(c.writes.size(), 1u) << "nothing of the transaction is sent";
  }
}

TEST(session, final_reply_refusal) {
  session s(config(), two_recipients(), wire);
  drive(s, {greeting, ehlo_pipelining, "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n",
            "554 5.7.1 Message rejected as spam\r\n"});
  EXPECT_EQ(s.result().error, errc::rejected);
  EXPECT_EQ(s.result().failed_in, state::content);
  EXPECT_EQ(s.result().final_reply->code, 554);
  EXPECT_FALSE(s.result().delivered);
}

TEST(session, next_is_idempotent) {
  session s(config(), two_recipients(), wire);
  EXPECT_EQ(s.next().kind, action_kind::read);
  EXPECT_EQ(s.next().wait, wait_kind::greeting);
  s.received(greeting);
  auto a = s.next();
  auto b = s.next();
  EXPECT_EQ(a.kind, action_kind::write);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.bytes, "EHLO client.test\r\n");
}

// Several messages over one connection: no QUIT between them, RSET only after a failure.
TEST(session, several_messages_over_one_connection) {
  session_config cfg;
  cfg.ehlo_domain = "client.example";
  cfg.quit_when_done = false;
  session s(cfg, {"a@example.org", {"b@example.org"}}, wire);
  auto c1 = drive(s, {greeting, ehlo_plain, "250 2.1.0 Ok\r\n", "250 2.1.5 Ok\r\n", "354 go\r\n",
                      "250 2.0.0 queued 1\r\n"});
  EXPECT_EQ(s.current_state(), state::done);
  EXPECT_TRUE(s.result().delivered);
  EXPECT_EQ(c1.client.find("QUIT"), std::string::npos);
  ASSERT_TRUE(s.can_continue());

  // Second message: every recipient refused, so it fails but the connection stays usable.
  s.next_message({"a@example.org", {"nobody@example.org"}}, wire);
  auto c2 = drive(s, {"250 2.1.0 Ok\r\n", "550 5.1.1 no such user\r\n"});
  EXPECT_EQ(c2.client, "MAIL FROM:<a@example.org>" + size_param + "\r\nRCPT TO:<nobody@example.org>\r\n");
  EXPECT_EQ(s.result().error, make_error_code(errc::no_recipient_accepted));
  ASSERT_TRUE(s.can_continue());

  // Third message: RSET first, then the transaction.
  s.next_message({"a@example.org", {"c@example.org"}}, wire);
  auto c3 = drive(s, {"250 2.0.0 Ok\r\n", "250 2.1.0 Ok\r\n", "250 2.1.5 Ok\r\n", "354 go\r\n",
                      "250 2.0.0 queued 3\r\n"});
  EXPECT_EQ(c3.client, "RSET\r\nMAIL FROM:<a@example.org>" + size_param +
                           "\r\nRCPT TO:<c@example.org>\r\nDATA\r\n" + wire);
  EXPECT_TRUE(s.result().delivered);
  ASSERT_EQ(s.result().recipients.size(), 1u);
  EXPECT_EQ(s.result().recipients[0].address, "c@example.org");

  s.finish();
  auto c4 = drive(s, {"221 2.0.0 Bye\r\n"});
  EXPECT_EQ(c4.client, "QUIT\r\n");
  EXPECT_EQ(s.current_state(), state::done);
  EXPECT_FALSE(s.can_continue());
}

TEST(session, a_421_ends_the_connection_for_later_messages) {
  session_config cfg;
  cfg.quit_when_done = false;
  session s(cfg, {"a@example.org", {"b@example.org"}}, wire);
  drive(s, {greeting, ehlo_plain, "421 4.3.2 shutting down\r\n"});
  EXPECT_EQ(s.current_state(), state::failed);
  EXPECT_FALSE(s.can_continue());
}

}  // namespace
}  // namespace postern::smtp
