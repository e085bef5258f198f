#include "postern/smtp/commands.hpp"

#include <gtest/gtest.h>

#include "postern/smtp/error.hpp"

namespace postern::smtp {
namespace {

TEST(commands, ehlo_helo) {
  std::error_code ec;
  EXPECT_EQ(ehlo("client.example.org", ec), "EHLO client.example.org\r\n");
  EXPECT_FALSE(ec);
  EXPECT_EQ(helo("[192.0.2.1]", ec), "HELO [192.0.2.1]\r\n");
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "", "a b", "a\r\nMAIL FROM:<x>", "a\n", "a\r", std::string_view("a\0b", 3), "a\tb"}) {
    EXPECT_EQ(ehlo(bad, ec), "");
    EXPECT_EQ(ec, errc::invalid_argument);
    EXPECT_EQ(helo(bad, ec), "");
    EXPECT_EQ(ec, errc::invalid_argument);
  }
}

TEST(commands, mail_from_parameters) {
  std::error_code ec;
  EXPECT_EQ(mail_from("a@example.org", {}, ec), "MAIL FROM:<a@example.org>\r\n");
  EXPECT_EQ(mail_from("", {}, ec), "MAIL FROM:<>\r\n");
  EXPECT_EQ(mail_from("a@b", {.size = 1234, .body_8bitmime = true, .smtputf8 = true}, ec),
            "MAIL FROM:<a@b> SIZE=1234 BODY=8BITMIME SMTPUTF8\r\n");
  EXPECT_EQ(mail_from("a@b", {.size = 0}, ec), "MAIL FROM:<a@b> SIZE=0\r\n");
  EXPECT_FALSE(ec);
}

TEST(commands, injection_refused) {
  std::error_code ec;
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "a@b>\r\nRCPT TO:<evil@x", "a@b\r\n", "a@b\n", "<a@b>", "a>b", std::string_view("a\0b", 3)}) {
    EXPECT_EQ(mail_from(bad, {}, ec), "");
    EXPECT_EQ(ec, errc::invalid_address);
    EXPECT_EQ(rcpt_to(bad, ec), "");
    EXPECT_EQ(ec, errc::invalid_address);
    EXPECT_FALSE(valid_mailbox(bad));
  }
  EXPECT_EQ(rcpt_to(std::string(255, 'a'), ec), "");
  EXPECT_TRUE(valid_mailbox(std::string(254, 'a')));
  EXPECT_EQ(rcpt_to("", ec), "") << "the null path is for senders only";
  EXPECT_EQ(auth("PLAIN", "abc\r\nQUIT", ec), "");
  EXPECT_EQ(ec, errc::invalid_argument);
  EXPECT_EQ(auth("PL AIN", std::nullopt, ec), "");
  EXPECT_EQ(auth("", std::nullopt, ec), "");
  EXPECT_EQ(auth("PLAIN", "", ec), "") << "an empty initial response is \"=\"";
}

TEST(commands, rcpt_auth_bdat_fixed) {
  std::error_code ec;
  EXPECT_EQ(rcpt_to("b@example.org", ec), "RCPT TO:<b@example.org>\r\n");
  EXPECT_EQ(auth("PLAIN", "AGEAYg==", ec), "AUTH PLAIN AGEAYg==\r\n");
  EXPECT_EQ(auth("LOGIN", std::nullopt, ec), "AUTH LOGIN\r\n");
  EXPECT_EQ(auth("EXTERNAL", "=", ec), "AUTH EXTERNAL =\r\n");
  EXPECT_EQ(auth("SCRAM-SHA-256", std::nullopt, ec), "AUTH SCRAM-SHA-256\r\n");
  EXPECT_FALSE(ec);
  EXPECT_EQ(bdat(100, false), "BDAT 100\r\n");
  EXPECT_EQ(bdat(0, true), "BDAT 0 LAST\r\n");
  EXPECT_EQ(starttls(), "STARTTLS\r\n");
  EXPECT_EQ(data(), "DATA\r\n");
  EXPECT_EQ(quit(), "QUIT\r\n");
}

TEST(commands, smtputf8_detection) {
  EXPECT_FALSE(needs_smtputf8("a@example.org"));
  EXPECT_TRUE(needs_smtputf8("j\xc3\xb6rg@example.org"));
  EXPECT_TRUE(valid_mailbox("j\xc3\xb6rg@example.org"));
}

}  // namespace
}  // namespace postern::smtp
