#include "postern/smtp/reply.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace postern::smtp {
namespace {

struct parsed {
  std::vector<reply> replies;
  std::error_code ec;
  std::string offending;
};

// Feeds @p in in chunks of the given sizes (the last chunk size repeats), taking every reply.
parsed parse_chunked(std::string_view in, std::size_t chunk, reply_limits limits = {}) {
  parsed out;
  reply_parser p(limits);
  std::size_t pos = 0;
  while (pos < in.size()) {
    std::string_view piece = in.substr(pos, chunk);
    pos += piece.size();
    while (!piece.empty()) {
      std::size_t used = p.feed(piece, out.ec);
      if (out.ec) {
        out.offending = p.offending_bytes();
        return out;
      }
      piece.remove_prefix(used);
      if (p.has_reply())
        out.replies.push_back(p.take());
      else
        EXPECT_TRUE(piece.empty());
    }
  }
  return out;
}

parsed parse_split(std::string_view in, std::size_t split, reply_limits limits = {}) {
  parsed out;
  reply_parser p(limits);
  for (std::string_view piece : {in.substr(0, split), in.substr(split)}) {
    while (!piece.empty()) {
      std::size_t used = p.feed(piece, out.ec);
      if (out.ec) {
        out.offending = p.offending_bytes();
        return out;
      }
      piece.remove_prefix(used);
      if (p.has_reply()) out.replies.push_back(p.take());
    }
  }
  return out;
}

TEST(reply_parser, single_line) {
  reply_parser p;
  std::error_code ec;
  EXPECT_EQ(p.feed("220 mail.example.com ESMTP Postfix\r\n", ec), 36u);
  ASSERT_FALSE(ec);
  ASSERT_TRUE(p.has_reply());
  reply r = p.take();
  EXPECT_EQ(r.code, 220);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], "mail.example.com ESMTP Postfix");
  EXPECT_FALSE(r.enhanced);
  EXPECT_FALSE(p.has_reply());
  EXPECT_FALSE(p.mid_reply());
}

TEST(reply_parser, header_example) {
  reply_parser p;
  std::error_code ec;
  EXPECT_EQ(p.feed("250-a\r\n250 ok\r\n", ec), 15u);
  EXPECT_TRUE(p.has_reply());
  EXPECT_EQ(p.take().to_string(), "250-a\n250 ok");
}

TEST(reply_parser, multi_line_and_enhanced) {
  auto out = parse_chunked(
      "250-mx.google.com at your service\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
      "250 SMTPUTF8\r\n550 5.1.1 No such user\r\n",
      1000);
  ASSERT_FALSE(out.ec);
  ASSERT_EQ(out.replies.size(), 2u);
  EXPECT_EQ(out.replies[0].lines.size(), 4u);
  EXPECT_EQ(out.replies[0].lines[3], "SMTPUTF8");
  EXPECT_EQ(out.replies[1].code, 550);
  ASSERT_TRUE(out.replies[1].enhanced);
  EXPECT_EQ(*out.replies[1].enhanced, (enhanced_status{5, 1, 1}));
  EXPECT_EQ(out.replies[1].enhanced->to_string(), "5.1.1");
  EXPECT_EQ(out.replies[1].lines[0], "5.1.1 No such user");
  EXPECT_TRUE(out.replies[1].permanent());
}

TEST(reply_parser, enhanced_status_shapes) {
  EXPECT_EQ(parse_enhanced_status("2.0.0 Ok"), (enhanced_status{2, 0, 0}));
  EXPECT_EQ(parse_enhanced_status("4.7.123"), (enhanced_status{4, 7, 123}));
  EXPECT_EQ(parse_enhanced_status("5.100.999 x"), (enhanced_status{5, 100, 999}));
  EXPECT_FALSE(parse_enhanced_status("3.0.0 x"));
  EXPECT_FALSE(parse_enhanced_status("2.0.1000 x"));
  EXPECT_FALSE(parse_enhanced_status("2.0.0x"));
  EXPECT_FALSE(parse_enhanced_status("2..0 x"));
  EXPECT_FALSE(parse_enhanced_status("Ok"));
  EXPECT_FALSE(parse_enhanced_status(""));
}

TEST(reply_parser, bare_code_and_bare_lf) {
  auto out = parse_chunked("250\n220-x\n220\r\n", 100);
  ASSERT_FALSE(out.ec);
  ASSERT_EQ(out.replies.size(), 2u);
  EXPECT_EQ(out.replies[0].code, 250);
  EXPECT_EQ(out.replies[0].lines, std::vector<std::string>{""});
  EXPECT_EQ(out.replies[0].to_string(), "250");
  EXPECT_EQ(out.replies[1].lines.size(), 2u);
}

TEST(reply_parser, every_split_point_and_byte_by_byte) {
  const std::string in =
      "220 smtp.example.org ESMTP Exim 4.96\r\n"
      "250-smtp.example.org Hello [192.0.2.1]\r\n250-SIZE 52428800\r\n250-PIPELINING\r\n250-AUTH PLAIN "
      "LOGIN\r\n"
      "250-CHUNKING\r\n250-STARTTLS\r\n250 HELP\r\n"
      "250 2.1.0 Ok\n"
      "550 5.1.1 <x@y>: Recipient address rejected\r\n"
      "354 End data with <CR><LF>.<CR><LF>\r\n";
  const auto whole = parse_chunked(in, in.size());
  ASSERT_FALSE(whole.ec);
  ASSERT_EQ(whole.replies.size(), 5u);
  auto same = [&](const parsed& other) {
    ASSERT_FALSE(other.ec);
    ASSERT_EQ(other.replies.size(), whole.replies.size());
    for (std::size_t i = 0; i < whole.replies.size(); ++i) {
      EXPECT_EQ(other.replies[i].code, whole.replies[i].code);
      EXPECT_EQ(other.replies[i].lines, whole.replies[i].lines);
      EXPECT_EQ(other.replies[i].enhanced, whole.replies[i].enhanced);
    }
  };
  same(parse_chunked(in, 1));
  for (std::size_t split = 0; split <= in.size(); ++split) same(parse_split(in, split));
}

TEST(reply_parser, stops_at_each_reply_end) {
  reply_parser p;
  std::error_code ec;
  std::string_view in = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n";
  auto used = p.feed(in, ec);
  EXPECT_EQ(used, 14u);
  EXPECT_TRUE(p.has_reply());
  EXPECT_EQ(p.feed(in.substr(used), ec), 0u) << "nothing consumed until take()";
  p.take();
  in.remove_prefix(used);
  EXPECT_EQ(p.feed(in, ec), 14u);
  EXPECT_EQ(p.take().lines[0], "2.1.5 Ok");
  in.remove_prefix(14);
  EXPECT_EQ(p.feed(in, ec), in.size());
  EXPECT_EQ(p.take().code, 354);
}

TEST(reply_parser, mid_reply) {
  reply_parser p;
  std::error_code ec;
  p.feed("250-a\r\n25", ec);
  EXPECT_TRUE(p.mid_reply());
  p.feed("0 b\r\n", ec);
  EXPECT_FALSE(p.mid_reply());
  EXPECT_TRUE(p.has_reply());
}

TEST(reply_parser, malformed) {
  for (std::string_view bad :
       {"hello\r\n", "25\r\n", "2x0 a\r\n", "150 a\r\n", "650 a\r\n", "250_a\r\n", "250a\r\n", "\r\n",
        "HTTP/1.1 400 Bad Request\r\n", "\x16\x03\x01\x02\x05\n"}) {
    auto out = parse_chunked(bad, 100);
    EXPECT_EQ(out.ec, errc::bad_reply) << bad;
    EXPECT_TRUE(out.replies.empty());
  }
  auto out = parse_chunked("250-a\r\n251 b\r\n", 100);
  EXPECT_EQ(out.ec, errc::inconsistent_reply_code);
  EXPECT_EQ(out.offending, "251 b\r");
}

TEST(reply_parser, error_is_sticky) {
  reply_parser p;
  std::error_code ec;
  p.feed("bad\r\n", ec);
  EXPECT_EQ(ec, errc::bad_reply);
  std::error_code ec2;
  EXPECT_EQ(p.feed("250 ok\r\n", ec2), 0u);
  EXPECT_EQ(ec2, errc::bad_reply);
}

TEST(reply_parser, line_limit_counts_crlf) {
  reply_limits lim{.max_line = 10, .max_lines = 4};
  EXPECT_EQ(parse_chunked("250 abcde\r\n", 100, lim).ec, errc::reply_line_too_long);  // 11 octets
  EXPECT_FALSE(parse_chunked("250 abcd\r\n", 100, lim).ec);                           // exactly 10
  EXPECT_FALSE(parse_chunked("250 abcde\n", 100, lim).ec);  // exactly 10 with bare LF
  auto out = parse_chunked("250 abcdefghijklmnop", 3, lim);
  EXPECT_EQ(out.ec, errc::reply_line_too_long) << "error before the line ends";
  EXPECT_EQ(out.offending.size(), 10u);
}

TEST(reply_parser, ten_megabyte_line_fails_fast) {
  std::string huge = "250 " + std::string(10 * 1024 * 1024, 'a');
  reply_parser p;
  std::error_code ec;
  auto start = std::chrono::steady_clock::now();
  auto used = p.feed(huge, ec);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ec, errc::reply_line_too_long);
  EXPECT_EQ(used, reply_limits{}.max_line);
  EXPECT_LE(p.offending_bytes().size(), reply_limits{}.max_line);
  EXPECT_LT(elapsed, std::chrono::milliseconds(100));
}

TEST(reply_parser, endless_continuation_lines_fail) {
  reply_parser p;
  std::error_code ec;
  std::size_t lines = 0;
  while (!ec && lines < 100000) {
    p.feed("250-spam\r\n", ec);
    ++lines;
  }
  EXPECT_EQ(ec, errc::reply_too_many_lines);
  EXPECT_EQ(lines, reply_limits{}.max_lines + 1);
  // Exactly max_lines lines is fine.
  std::string ok;
  for (int i = 0; i < 3; ++i) ok += "250-x\r\n";
  ok += "250 x\r\n";
  EXPECT_FALSE(parse_chunked(ok, 100, {.max_line = 100, .max_lines = 4}).ec);
  EXPECT_EQ(parse_chunked("250-x\r\n" + ok, 100, {.max_line = 100, .max_lines = 4}).ec,
            errc::reply_too_many_lines);
}

}  // namespace
}  // namespace postern::smtp
