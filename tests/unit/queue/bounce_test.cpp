#include "postern/queue/worker.hpp"

#include <gtest/gtest.h>

namespace postern::queue {
namespace {

TEST(Bounce, NamesWhoWhyAndTheOriginalHeader) {
  entry e;
  e.id = "0123456789abcdef";
  e.message.envelope.mail_from = "me@example.org";
  e.message.envelope.rcpt_to = {"bad@example.net"};
  e.message.content = "Subject: hello\r\nMessage-ID: <m1@example.org>\r\n\r\nsecret body\r\n";
  e.attempts = 2;
  e.last_cause = "smtp.rejected";
  e.last_reply = "550 5.1.1 no such user\nsecond line";
  e.last_summary = "the server refused every recipient";
  const std::string b = bounce_message(e, "me@example.org", clock::now());
  EXPECT_EQ(b.find("To: me@example.org\r\n"), b.find("To: "));
  EXPECT_NE(b.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  EXPECT_NE(b.find("bad@example.net"), std::string::npos);
  EXPECT_NE(b.find("smtp.rejected"), std::string::npos);
  EXPECT_NE(b.find("550 5.1.1 no such user\r\n    second line"), std::string::npos) << b;
  EXPECT_NE(b.find("Subject: hello\r\nMessage-ID: <m1@example.org>\r\n"), std::string::npos);
  EXPECT_EQ(b.find("secret body"), std::string::npos);  // the header only, never the body
  EXPECT_NE(b.find("Attempts: 3"), std::string::npos);
  // CRLF only: no bare LF.
  for (std::size_t i = 0; i < b.size(); ++i)
    if (b[i] == '\n') ASSERT_TRUE(i > 0 && b[i - 1] == '\r') << i;
}

}  // namespace
}  // namespace postern::queue
