#include "postern/smtp/capabilities.hpp"

#include <gtest/gtest.h>

namespace postern::smtp {
namespace {

reply ehlo_reply(std::vector<std::string> lines) { return reply{250, std::nullopt, std::move(lines)}; }

TEST(capabilities, postfix) {
  auto c = capabilities::parse(ehlo_reply(
      {"mail.example.com", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS", "AUTH PLAIN LOGIN",
       "AUTH=PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"}));
  EXPECT_EQ(c.domain, "mail.example.com");
  EXPECT_TRUE(c.pipelining);
  ASSERT_TRUE(c.size);
  EXPECT_EQ(*c.size, 10240000u);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.enhancedstatuscodes);
  EXPECT_TRUE(c.eightbitmime);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.chunking);
  EXPECT_FALSE(c.binarymime);
  EXPECT_EQ(c.auth, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_EQ(c.keywords,
            (std::vector<std::string>{"PIPELINING", "SIZE", "VRFY", "ETRN", "STARTTLS", "AUTH",
                                      "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"}));
  EXPECT_TRUE(c.has("vrfy"));
  EXPECT_FALSE(c.has("XCLIENT"));
  EXPECT_TRUE(c.has_auth("plain"));
  EXPECT_FALSE(c.has_auth("CRAM-MD5"));
}

TEST(capabilities, lower_case_and_binarymime) {
  auto c =
      capabilities::parse(ehlo_reply({"mx Hello there", "starttls", "binarymime", "auth xoauth2 plain"}));
  EXPECT_EQ(c.domain, "mx");
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.binarymime);
  EXPECT_EQ(c.auth, (std::vector<std::string>{"XOAUTH2", "PLAIN"}));
}

TEST(capabilities, old_auth_form_only) {
  auto c = capabilities::parse(ehlo_reply({"mx", "AUTH=LOGIN CRAM-MD5"}));
  EXPECT_EQ(c.auth, (std::vector<std::string>{"LOGIN", "CRAM-MD5"}));
  EXPECT_TRUE(c.has("AUTH"));
}

TEST(capabilities, size_variants) {
  EXPECT_EQ(capabilities::parse(ehlo_reply({"mx", "SIZE"})).size, std::optional<std::uint64_t>(0));
  EXPECT_EQ(capabilities::parse(ehlo_reply({"mx", "SIZE 0"})).size, std::optional<std::uint64_t>(0));
  EXPECT_EQ(capabilities::parse(ehlo_reply({"mx", "SIZE abc"})).size, std::optional<std::uint64_t>(0));
  EXPECT_EQ(capabilities::parse(ehlo_reply({"mx", "SIZE 12x"})).size, std::optional<std::uint64_t>(0));
  EXPECT_EQ(capabilities::parse(ehlo_reply({"mx", "SIZE 99999999999999999999999"})).size,
            std::optional<std::uint64_t>(0));
  EXPECT_EQ(capabilities::parse(ehlo_reply({"mx", "SIZE   157286400  "})).size,
            std::optional<std::uint64_t>(157286400));
  EXPECT_FALSE(capabilities::parse(ehlo_reply({"mx", "PIPELINING"})).size);
}

TEST(capabilities, junk_is_ignored) {
  auto c = capabilities::parse(
      ehlo_reply({"", "", "   ", "-BAD", "X_Y", "\x01\x02", "PIPELINING junk args", "AUTH",
                  "AUTH=", "AUTH PLAIN <script> " + std::string(40, 'A'), "8BITMIME"}));
  EXPECT_EQ(c.domain, "");
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.eightbitmime);
  EXPECT_EQ(c.auth, (std::vector<std::string>{"PLAIN"}));
  EXPECT_EQ(c.keywords, (std::vector<std::string>{"PIPELINING", "AUTH", "8BITMIME"}));
}

TEST(capabilities, empty_reply) {
  auto c = capabilities::parse(reply{});
  EXPECT_TRUE(c.keywords.empty());
  EXPECT_FALSE(c.starttls);
}

}  // namespace
}  // namespace postern::smtp
