#include "postern/relay/server_session.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::relay {
namespace {

using namespace std::chrono_literals;

server_config config() {
  server_config c;
  c.hostname = "relay.test";
  c.peer_address = "127.0.0.1";
  c.max_message_size = 1000;
  c.max_recipients = 3;
  c.now = [] { return std::chrono::system_clock::time_point(1796212800s); };  // 2026-12-02 12:00 UTC
  return c;
}

// Drives a session like the relay does: feeds @p input in pieces of @p piece octets, stores
// every message (queue ids q1, q2, … or a failure when store_fails), and records every reply.
struct driver {
  explicit driver(server_config c = config(), credential_check check = {})
      : s(std::move(c), std::move(check)) {}

  server_session s;
  std::string replies;
  std::vector<received_message> stored;
  bool store_fails = false;
  bool closed = false;
  int tls = 0;

  void pump() {
    for (;;) {
      auto a = s.next();
      if (a.kind == action_kind::write) {
        replies.append(a.bytes);
        s.written();
      } else if (a.kind == action_kind::store) {
        stored.push_back(s.message());
        s.stored(store_fails ? std::nullopt
                             : std::optional<std::string>("q" + std::to_string(stored.size())));
      } else if (a.kind == action_kind::start_tls) {
        ++tls;
        s.tls_started();
      } else {
        closed = a.kind == action_kind::close;
        return;
      }
    }
  }
  std::string run(std::string_view input, std::size_t piece = 0) {
    pump();
    if (piece == 0) piece = input.size() ? input.size() : 1;
    for (std::size_t i = 0; i < input.size() && !closed; i += piece) {
      s.received(input.substr(i, piece));
      pump();
    }
    return replies;
  }
};

std::vector<std::string> codes(const std::string& replies) {
  std::vector<std::string> r;
  std::size_t pos = 0;
  while (pos < replies.size()) {
    auto nl = replies.find("\r\n", pos);
    std::string line = replies.substr(pos, nl - pos);
    if (line.size() > 3 && line[3] == ' ') r.push_back(line.substr(0, 3));
    pos = nl + 2;
  }
  return r;
}

const std::string one_message =
    "EHLO client.test\r\nMAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\n"
    "DATA\r\nSubject: hi\r\n\r\n..leading dot\r\nline\r\n.\r\nQUIT\r\n";

TEST(ServerSession, DeliversOneMessageByteExactAtEveryReadBoundary) {
  for (std::size_t piece = 1; piece <= one_message.size(); ++piece) {
    driver d;
    d.run(one_message, piece);
    ASSERT_EQ(d.stored.size(), 1u) << "piece " << piece;
    const auto& m = d.stored[0];
    EXPECT_EQ(m.mail_from, "a@example.org");
    EXPECT_EQ(m.rcpt_to, std::vector<std::string>{"b@example.net"});
    EXPECT_TRUE(m.eight_bit);
    EXPECT_EQ(m.helo, "client.test");
    EXPECT_EQ(m.content,
              "Received: from client.test ([127.0.0.1])\r\n\tby relay.test (postern relay) with ESMTP;\r\n"
              "\tWed, 02 Dec 2026 12:00:00 +0000\r\nSubject: hi\r\n\r\n.leading dot\r\nline\r\n");
    EXPECT_EQ(codes(d.replies), (std::vector<std::string>{"220", "250", "250", "250", "354", "250", "221"}));
    EXPECT_TRUE(d.closed);
  }
}

TEST(ServerSession, EhloAdvertisesTheExtensions) {
  driver d;
  auto r = d.run("EHLO x\r\n");
  EXPECT_NE(r.find("250-PIPELINING\r\n"), std::string::npos);
  EXPECT_NE(r.find("250-SIZE 1000\r\n"), std::string::npos);
  EXPECT_NE(r.find("250-8BITMIME\r\n"), std::string::npos);
  EXPECT_NE(r.find("250-SMTPUTF8\r\n"), std::string::npos);
  EXPECT_NE(r.find("250-ENHANCEDSTATUSCODES\r\n"), std::string::npos);
  EXPECT_EQ(r.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(r.find("AUTH"), std::string::npos);
}

TEST(ServerSession, KeepsBareCrAndLfAndDotsInsideLines) {
  driver d;
  d.run("EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<b@x.org>\r\nDATA\r\na.b\rc\nd\r\n.\r.x\r\n..\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 1u);
  auto body = d.stored[0].content.substr(d.stored[0].content.find("+0000\r\n") + 7);
  EXPECT_EQ(body, "a.b\rc\nd\r\n\r.x\r\n.\r\n");
  EXPECT_EQ(d.stored[0].mail_from, "");
}

TEST(ServerSession, EmptyMessage) {
  driver d;
  d.run("HELO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_NE(d.stored[0].content.find("with SMTP;"), std::string::npos);
  EXPECT_TRUE(d.stored[0].content.ends_with("+0000\r\n"));
}

TEST(ServerSession, TooBigIsReadToTheEndAndRefusedWithoutStoring) {
  driver d;
  std::string big(5000, 'x');
  auto r = d.run("EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\n" + big + "\r\n.\r\nNOOP\r\n",
                 700);
  EXPECT_TRUE(d.stored.empty());
  EXPECT_NE(r.find("552 5.3.4"), std::string::npos);
  EXPECT_EQ(codes(r).back(), "250");  // the NOOP after it: the session goes on
  EXPECT_EQ(d.s.stats().refused_too_big, 1u);
}

TEST(ServerSession, DeclaredSizeBeyondTheLimitIsRefusedAtMail) {
  driver d;
  auto r = d.run("EHLO x\r\nMAIL FROM:<a@x.org> SIZE=1001\r\n");
  EXPECT_EQ(codes(r).back(), "552");
}

TEST(ServerSession, PipelinedCommandsGetTheirRepliesInOrder) {
  driver d;
  auto r = d.run(
      "EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nRCPT TO:<bad>\r\nRCPT "
      "TO:<c@x.org>\r\nDATA\r\nhi\r\n.\r\n"
      "MAIL FROM:<a@x.org>\r\nRCPT TO:<d@x.org>\r\nDATA\r\nyo\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "250", "250", "250", "501", "250", "354", "250", "250",
                                                "250", "354", "250", "221"}));
  ASSERT_EQ(d.stored.size(), 2u);
  EXPECT_EQ(d.stored[0].rcpt_to, (std::vector<std::string>{"b@x.org", "c@x.org"}));
  EXPECT_NE(r.find("250 2.0.0 Ok: queued as q1\r\n"), std::string::npos);
  EXPECT_NE(r.find("250 2.0.0 Ok: queued as q2\r\n"), std::string::npos);
}

TEST(ServerSession, SequenceErrors) {
  driver d;
  auto r = d.run(
      "MAIL FROM:<a@x.org>\r\nEHLO x\r\nRCPT TO:<b@x.org>\r\nDATA\r\nMAIL FROM:<a@x.org>\r\n"
      "MAIL FROM:<a@x.org>\r\nDATA\r\nRSET\r\nVRFY bob\r\nFOO\r\n\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "503", "250", "503", "503", "250", "503", "554", "250",
                                                "252", "500", "500"}));
}

TEST(ServerSession, TooManyRecipients) {
  driver d;
  auto r = d.run(
      "EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<1@x.org>\r\nRCPT TO:<2@x.org>\r\nRCPT TO:<3@x.org>\r\n"
      "RCPT TO:<4@x.org>\r\n");
  EXPECT_EQ(codes(r).back(), "452");
  EXPECT_NE(r.find("452 4.5.3"), std::string::npos);
}

TEST(ServerSession, ParametersAndAddresses) {
  driver d;
  auto r = d.run(
      "EHLO x\r\nMAIL FROM:<a@x.org> BODY=BINARYMIME\r\nMAIL FROM:<a@x.org> FOO=1\r\nMAIL FROM:<é@x.org>\r\n"
      "MAIL FROM:<é@x.org> SMTPUTF8\r\nRCPT TO:<ü@x.org>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<b@x.org> "
      "NOTIFY=NEVER\r\n"
      "RCPT TO:<@relay.example:c@x.org>\r\nRCPT TO:<\"a b>c\"@x.org>\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "250", "555", "555", "553", "250", "250", "250", "555",
                                                "250", "452"}));
}

TEST(ServerSession, SmtputfReceivedProtocol) {
  driver d;
  d.run("EHLO x\r\nMAIL FROM:<é@x.org> SMTPUTF8\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_TRUE(d.stored[0].smtputf8);
  EXPECT_NE(d.stored[0].content.find("with UTF8SMTP;"), std::string::npos);
}

TEST(ServerSession, LongLineIsRefusedAndTheSessionGoesOn) {
  for (std::size_t piece : {1u, 7u, 100u, 100000u}) {
    driver d;
    auto r = d.run(
        "EHLO x\r\nNOOP " + std::string(600, 'a') + "\r\nNOOP " + std::string(20000, 'b') + "\r\nNOOP\r\n",
        piece);
    EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "250", "500", "500", "250"})) << piece;
  }
}

TEST(ServerSession, EndlessLineClosesTheConnection) {
  driver d;
  d.run("EHLO x\r\n");
  std::string chunk(4096, 'z');
  for (int i = 0; i < 1000 && !d.closed; ++i) d.run(chunk);
  EXPECT_TRUE(d.closed);
  EXPECT_NE(d.replies.find("500 5.5.2"), std::string::npos);
  EXPECT_NE(d.replies.find("421 4.7.0"), std::string::npos);
}

TEST(ServerSession, TooManyErrorsCloses) {
  driver d;
  std::string garbage;
  for (int i = 0; i < 20; ++i) garbage += "\x01\xff garbage\r\n";
  auto r = d.run(garbage);
  EXPECT_TRUE(d.closed);
  EXPECT_EQ(codes(r).back(), "421");
  EXPECT_EQ(d.s.stats().errors, 10u);
}

TEST(ServerSession, HttpRequestClosesAtOnce) {
  driver d;
  auto r = d.run("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "421"}));
  EXPECT_TRUE(d.closed);
}

TEST(ServerSession, StarttlsDropsPipelinedBytesAndForgetsTheSession) {
  auto c = config();
  c.starttls_available = true;
  driver d(c);
  auto r = d.run("EHLO x\r\nSTARTTLS\r\nMAIL FROM:<injected@x.org>\r\n");
  EXPECT_NE(r.find("250-STARTTLS"), std::string::npos);
  EXPECT_EQ(d.tls, 1);
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "250", "220"}));
  r = d.run("MAIL FROM:<a@x.org>\r\nEHLO x\r\nSTARTTLS\r\n");
  EXPECT_EQ(codes(r).size(), 6u);
  EXPECT_EQ(codes(r)[3], "503");  // no EHLO after TLS yet
  EXPECT_EQ(r.find("250-STARTTLS", r.find("503")), std::string::npos);
  EXPECT_EQ(codes(r).back(), "503");  // TLS already active
}

TEST(ServerSession, StarttlsNotOffered) {
  driver d;
  EXPECT_EQ(codes(d.run("EHLO x\r\nSTARTTLS\r\n")).back(), "502");
}

struct auth_fixture {
  static server_config cfg(bool tls) {
    auto c = config();
    c.auth_available = true;
    c.auth_required = true;
    c.starttls_available = true;
    c.tls_active = tls;
    return c;
  }
  static bool check(const std::string& u, const std::string& p) { return u == "alice" && p == "s3cret"; }
};

TEST(ServerSession, AuthOnlyOverTls) {
  driver plain(auth_fixture::cfg(false), auth_fixture::check);
  auto r = plain.run("EHLO x\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\nMAIL FROM:<a@x.org>\r\n");
  EXPECT_EQ(r.find("AUTH PLAIN"), std::string::npos);
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "250", "538", "530"}));
  EXPECT_NE(r.find("STARTTLS command first"), std::string::npos);
}

TEST(ServerSession, AuthPlainAndLogin) {
  driver d(auth_fixture::cfg(true), auth_fixture::check);
  auto r = d.run(
      "EHLO x\r\nMAIL FROM:<a@x.org>\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\nAUTH PLAIN\r\nAGFsaWNlAHMzY3JldA==\r\n"
      "AUTH LOGIN\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
  EXPECT_NE(r.find("250-AUTH PLAIN LOGIN"), std::string::npos);
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "250", "530", "535", "334", "235", "503", "250", "250",
                                                "354", "250"}));
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].auth_user, "alice");
  EXPECT_NE(d.stored[0].content.find("with ESMTPSA;"), std::string::npos);

  driver l(auth_fixture::cfg(true), auth_fixture::check);
  r = l.run("EHLO x\r\nAUTH LOGIN\r\nYWxpY2U=\r\nczNjcmV0\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "250", "334", "334", "235"}));
  driver cancel(auth_fixture::cfg(true), auth_fixture::check);
  r = cancel.run("EHLO x\r\nAUTH LOGIN\r\n*\r\nAUTH LOGIN\r\n!!!\r\nAUTH CRAM-MD5\r\n");
  EXPECT_EQ(codes(r), (std::vector<std::string>{"220", "250", "334", "501", "334", "501", "504"}));
}

TEST(ServerSession, StoreFailureIsTemporary) {
  driver d;
  d.store_fails = true;
  auto r = d.run("EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
  EXPECT_NE(r.find("451 4.3.0"), std::string::npos);
}

TEST(ServerSession, ShutdownWaitsForTheTransaction) {
  driver idle;
  idle.run("EHLO x\r\n");
  idle.s.shut_down();
  idle.pump();
  EXPECT_TRUE(idle.closed);
  EXPECT_EQ(codes(idle.replies).back(), "421");

  driver busy;
  busy.run("EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nhalf");
  EXPECT_TRUE(busy.s.in_transaction());
  busy.s.shut_down();
  busy.pump();
  EXPECT_FALSE(busy.closed);
  busy.run(" done\r\n.\r\nMAIL FROM:<a@x.org>\r\n");
  ASSERT_EQ(busy.stored.size(), 1u);
  EXPECT_EQ(codes(busy.replies), (std::vector<std::string>{"220", "250", "250", "250", "354", "250", "421"}));
  EXPECT_TRUE(busy.closed);
}

TEST(ServerSession, Timeout) {
  driver d;
  d.run("EHLO x\r\n");
  d.s.timed_out();
  d.pump();
  EXPECT_TRUE(d.closed);
  EXPECT_NE(d.replies.find("421 4.4.2"), std::string::npos);
}

TEST(ServerSession, RepliesAreFlushedBeforeMoreInputIsTaken) {
  driver d;
  d.pump();
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "NOOP\r\n";
  d.s.received(many);
  auto a = d.s.next();
  ASSERT_EQ(a.kind, action_kind::write);
  EXPECT_LE(a.bytes.size(), 20000u);
  d.replies.append(a.bytes);
  d.s.written();
  d.pump();
  EXPECT_EQ(codes(d.replies).size(), 20001u);
}

TEST(ServerSession, HostileNamesStayOutOfTheHeader) {
  driver d;
  d.run("EHLO evil)\x01(x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_EQ(d.stored[0].content.find("evil)"), std::string::npos);
  EXPECT_NE(d.stored[0].content.find("from evil???x "), std::string::npos);
}

TEST(ServerSession, Ipv6PeerInReceived) {
  auto c = config();
  c.peer_address = "::1";
  driver d(c);
  d.run("EHLO x\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(d.stored.size(), 1u);
  EXPECT_NE(d.stored[0].content.find("from x ([IPv6:::1])"), std::string::npos);
}

}  // namespace
}  // namespace postern::relay
