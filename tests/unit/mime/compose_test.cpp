#include "postern/mime/compose.hpp"

#include <gtest/gtest.h>

#include <random>

#include "postern/mime/message.hpp"

namespace postern::mime {
namespace {

std::size_t longest_line(std::string_view s) {
  std::size_t longest = 0, line = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      longest = std::max(longest, line);
      line = 0;
      ++i;
    } else {
      ++line;
    }
  }
  return std::max(longest, line);
}

bool only_crlf(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
  }
  return true;
}

std::string header_of(const std::string& m) { return m.substr(0, m.find("\r\n\r\n") + 2); }

message basic() {
  message m;
  m.from = "a@example.org";
  m.to = {"b@example.org"};
  m.subject = "s";
  m.date = std::chrono::system_clock::time_point{};
  return m;
}

TEST(parse_mailbox, forms) {
  auto m = parse_mailbox("J\xc3\xb6rg M\xc3\xbcller <j@example.org>");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->display_name, "J\xc3\xb6rg M\xc3\xbcller");
  EXPECT_EQ(m->address, "j@example.org");
  m = parse_mailbox("\"Doe, \\\"J\\\"\" <j@x.org>");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->display_name, "Doe, \"J\"");
  m = parse_mailbox("  plain@x.org ");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->display_name, "");
  EXPECT_TRUE(parse_mailbox("\"quoted local\"@x.org"));
  EXPECT_TRUE(
      parse_mailbox("j\xc3\xb6rg@b\xc3\xbc"
                    "cher.example"));
  for (const char* bad :
       {"", "nobody", "a@", "@x.org", "a@@x.org", "a b@x.org", "a@x.org, c@y.org", "Name <a@x.org",
        "a@x..org", "Doe, J <j@x.org>", "a@x.org\r\nBcc: e@vil", "<>", "a@x\x01.org"})
    EXPECT_FALSE(parse_mailbox(bad)) << bad;
}

TEST(parse_header_field, validation) {
  auto h = parse_header_field("List-Id: <news.example.org>");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->name, "List-Id");
  EXPECT_EQ(h->value, "<news.example.org>");
  EXPECT_FALSE(parse_header_field("X-A: b\r\nBcc: evil@x"));
  EXPECT_FALSE(parse_header_field("X-A: b\nc"));
  EXPECT_FALSE(parse_header_field("No colon"));
  EXPECT_FALSE(parse_header_field(": value"));
  EXPECT_FALSE(parse_header_field("Bad Name: v"));
  EXPECT_TRUE(is_reserved_header("content-type"));
  EXPECT_TRUE(is_reserved_header("BCC"));
  EXPECT_FALSE(is_reserved_header("X-Mailer"));
}

TEST(parse_attachment_spec, keys) {
  auto s = parse_attachment_spec("dir/r\xc3\xa9sum\xc3\xa9.pdf;type=application/pdf;name=CV 2026.pdf");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->path, "dir/r\xc3\xa9sum\xc3\xa9.pdf");
  EXPECT_EQ(s->content_type, "application/pdf");
  EXPECT_EQ(s->filename, "CV 2026.pdf");
  s = parse_attachment_spec("logo.png;CID=logo@news");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->content_id, "logo@news");
  std::string why;
  EXPECT_FALSE(parse_attachment_spec(";type=a/b", &why));
  EXPECT_FALSE(parse_attachment_spec("f;colour=red", &why));
  EXPECT_NE(why.find("colour"), std::string::npos);
  EXPECT_FALSE(parse_attachment_spec("f;type=png", &why));
  EXPECT_FALSE(parse_attachment_spec("f;name=", &why));
  EXPECT_FALSE(parse_attachment_spec("f;name=a;name=b", &why));
  EXPECT_FALSE(parse_attachment_spec("f;cid=a b", &why));
}

TEST(compose, text_only_ascii_is_7bit_with_the_standard_fields) {
  message m = basic();
  m.text = "Hello\n";
  auto c = compose(m);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(
      c.content,
      "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\nFrom: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n"
      "Message-ID: " +
          c.content.substr(
              c.content.find("Message-ID: ") + 12,
              c.content.find("\r\n", c.content.find("Message-ID: ")) - c.content.find("Message-ID: ") - 12) +
          "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
          "Content-Transfer-Encoding: 7bit\r\n\r\nHello\r\n");
  EXPECT_EQ(c.envelope_from, "a@example.org");
  EXPECT_EQ(c.envelope_to, (std::vector<std::string>{"b@example.org"}));
}

TEST(compose, utf8_text_is_quoted_printable_unless_8bit_is_allowed) {
  message m = basic();
  m.text =
      "Gr\xc3\xbc\xc3\x9f"
      "e\n";
  auto qp = compose(m);
  EXPECT_NE(qp.content.find(
                "charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\n"),
            std::string::npos);
  auto eight = compose(m, {.allow_8bit = true});
  EXPECT_NE(eight.content.find("Content-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9f"
                               "e\r\n"),
            std::string::npos);
  m.text = std::string(2000, 'a') + "\n";
  auto long_line = compose(m, {.allow_8bit = true});
  EXPECT_NE(long_line.content.find("quoted-printable"), std::string::npos);
  EXPECT_LE(longest_line(long_line.content), 998u);
}

TEST(compose, bcc_is_envelope_only_and_cc_reply_to_are_headers) {
  message m = basic();
  m.text = "x";
  m.cc = {"C <c@example.org>"};
  m.bcc = {"hidden@example.org", "b@example.org"};
  m.reply_to = {"r@example.org"};
  auto c = compose(m);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.content.find("hidden"), std::string::npos);
  EXPECT_EQ(c.content.find("Bcc"), std::string::npos);
  EXPECT_NE(header_of(c.content).find("Cc: C <c@example.org>\r\n"), std::string::npos);
  EXPECT_NE(header_of(c.content).find("Reply-To: r@example.org\r\n"), std::string::npos);
  EXPECT_EQ(c.envelope_to,
            (std::vector<std::string>{"b@example.org", "c@example.org", "hidden@example.org"}));
}

TEST(compose, utf8_display_names_are_rfc2047_and_specials_quoted) {
  message m = basic();
  m.from = "J\xc3\xb6rg M\xc3\xbcller <j@example.org>";
  m.to = {"\"Doe, John\" <d@example.org>"};
  m.text = "x";
  auto c = compose(m);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c.content.find("From: =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <j@example.org>\r\n"), std::string::npos)
      << header_of(c.content);
  EXPECT_NE(c.content.find("To: \"Doe, John\" <d@example.org>\r\n"), std::string::npos);
  EXPECT_EQ(c.envelope_from, "j@example.org");
}

TEST(compose, idna_for_header_domains_only_under_ascii_local_parts) {
  message m = basic();
  m.from =
      "a@b\xc3\xbc"
      "cher.example";
  m.to = {
      "j\xc3\xb6rg@b\xc3\xbc"
      "cher.example"};
  m.text = "x";
  compose_options o;
  o.domain_to_ascii = [](std::string_view) -> std::optional<std::string> { return "xn--bcher-kva.example"; };
  auto c = compose(m, o);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c.content.find("From: a@xn--bcher-kva.example\r\n"), std::string::npos);
  EXPECT_NE(c.content.find("To: j\xc3\xb6rg@b\xc3\xbc"
                           "cher.example\r\n"),
            std::string::npos);
  EXPECT_EQ(c.envelope_from,
            "a@b\xc3\xbc"
            "cher.example")
      << "the envelope stays as given; the session converts";
}

TEST(compose, bad_input_is_an_error_with_a_cause_and_no_content) {
  message m = basic();
  m.to = {"not an address"};
  auto c = compose(m);
  EXPECT_EQ(c.error_code, "message.bad-address");
  EXPECT_NE(c.error.find("not an address"), std::string::npos);
  EXPECT_TRUE(c.content.empty());

  m = basic();
  m.headers = {{"X-Evil", "a\r\nBcc: x@y"}};
  EXPECT_EQ(compose(m).error_code, "message.bad-header");
  m.headers = {{"Content-Type", "text/html"}};
  EXPECT_EQ(compose(m).error_code, "message.bad-header");
  m = basic();
  m.from = "a@example.org\r\nBcc: x@y";
  auto broken = compose(m);
  EXPECT_EQ(broken.error_code, "message.bad-address");
  EXPECT_EQ(broken.error.find('\n'), std::string::npos) << "the error is one line: " << broken.error;
  EXPECT_NE(broken.error.find("a@example.org\\r\\nBcc"), std::string::npos) << broken.error;

  m = basic();
  m.subject = "Hello\r\nBcc: x@y";  // RFC 2047 would keep the wire safe, not the decoded Subject
  auto injected = compose(m);
  EXPECT_EQ(injected.error_code, "message.bad-header");
  EXPECT_TRUE(injected.content.empty());
  m.subject = "tab\tis fine";
  EXPECT_TRUE(compose(m).error_code.empty());
  m.headers = {};
  m.inline_parts = {{"png", "image/png", "logo.png", "logo"}};
  EXPECT_EQ(compose(m).error_code, "usage") << "inline parts need HTML";
  m = basic();
  m.to.clear();
  EXPECT_EQ(compose(m).error_code, "message.bad-address");
}

TEST(compose, newsletter_structure) {
  message m = basic();
  m.text = "Hello";
  m.html = "<p>Hello <img src=\"cid:logo\"></p>";
  m.inline_parts = {{"\x89PNG", "image/png", "logo.png", "logo"}};
  m.attachments = {{"%PDF", "application/pdf", "Preisliste M\xc3\xa4rz.pdf", ""}};
  m.headers = {{"List-Unsubscribe", "<mailto:u@example.org>"}};
  auto c = compose(m);
  ASSERT_TRUE(c.ok()) << c.error;
  const std::string& s = c.content;
  const auto mixed = s.find("Content-Type: multipart/mixed;");
  const auto alt = s.find("Content-Type: multipart/alternative;");
  const auto plain = s.find("Content-Type: text/plain");
  const auto related = s.find("Content-Type: multipart/related; type=\"text/html\";");
  const auto html = s.find("Content-Type: text/html");
  const auto png = s.find("Content-Type: image/png");
  const auto pdf = s.find("Content-Type: application/pdf");
  for (auto p : {mixed, alt, plain, related, html, png, pdf}) ASSERT_NE(p, std::string::npos) << s;
  EXPECT_TRUE(mixed < alt && alt < plain && plain < related && related < html && html < png && png < pdf);
  EXPECT_NE(s.find("Content-ID: <logo>\r\nContent-Disposition: inline;\r\n filename=\"logo.png\""),
            std::string::npos);
  EXPECT_NE(s.find("filename*=UTF-8''Preisliste%20M%C3%A4rz.pdf"), std::string::npos) << s;
  EXPECT_NE(s.find(" name=\"=?UTF-8?B?"), std::string::npos) << "the old name= form too";
  EXPECT_NE(s.find("List-Unsubscribe: <mailto:u@example.org>\r\n"), std::string::npos);
  EXPECT_NE(s.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_TRUE(only_crlf(s));
}

TEST(compose, boundaries_never_occur_in_the_content_and_lines_stay_short) {
  std::mt19937 rng(7);
  std::string binary(300000, '\0');
  for (auto& ch : binary) ch = static_cast<char>(rng());
  message m = basic();
  // Text that contains what a boundary looks like, with a very long line.
  m.text = "--=_postern_0_\n=_postern_1_abc\n" + std::string(5000, 'q');
  m.attachments = {{binary, "", "b.bin", ""}};
  auto c = compose(m);
  ASSERT_TRUE(c.ok());
  EXPECT_LE(longest_line(c.content), 998u);
  EXPECT_TRUE(only_crlf(c.content));
  const auto at = c.content.find("boundary=\"");
  ASSERT_NE(at, std::string::npos);
  const std::string boundary = c.content.substr(at + 10, c.content.find('"', at + 10) - at - 10);
  EXPECT_EQ(boundary.size(), 10u + 2 + 24);
  // The boundary line appears exactly for the two parts and the closing delimiter.
  std::size_t n = 0;
  for (auto p = c.content.find(boundary); p != std::string::npos; p = c.content.find(boundary, p + 1)) ++n;
  EXPECT_EQ(n, 1u + 2 + 1);
  // The attachment round-trips through base64.
  const auto b64 = c.content.find("\r\n\r\n", c.content.find("filename=\"b.bin\"")) + 4;
  const auto end = c.content.find("\r\n--" + boundary, b64);
  EXPECT_EQ(base64_decode(c.content.substr(b64, end - b64)), binary);
  EXPECT_NE(c.content.find("Content-Type: application/octet-stream"), std::string::npos);
}

TEST(rfc2231, ascii_quoted_long_and_utf8_continued) {
  EXPECT_EQ(rfc2231_parameter("filename", "a b.txt"), "filename=\"a b.txt\"");
  EXPECT_EQ(rfc2231_parameter("filename", "say \"hi\".txt"), "filename*=UTF-8''say%20%22hi%22.txt");
  const std::string long_name = std::string(40, '\xc3') + "";
  std::string utf8;
  for (int i = 0; i < 30; ++i) utf8 += "\xc3\xa4";
  const std::string p = rfc2231_parameter("filename", utf8);
  EXPECT_EQ(p.find("filename*0*=UTF-8''%C3%A4"), 0u) << p;
  EXPECT_NE(p.find(";\r\n filename*1*="), std::string::npos);
  // No %XX split across continuations: every segment decodes on its own.
  for (std::size_t at = 0; (at = p.find('%', at)) != std::string::npos; ++at)
    EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(p[at + 1])) &&
                std::isxdigit(static_cast<unsigned char>(p[at + 2])));
}

}  // namespace
}  // namespace postern::mime
