#include "postern/dkim/canon.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::dkim {
namespace {

// RFC 6376 §3.4.5: the example message, with <SP>, <HTAB> and <CRLF> written out.
constexpr std::string_view rfc_example =
    "A: X\r\n"
    "B : Y\t\r\n"
    "\tZ  \r\n"
    "\r\n"
    " C \r\n"
    "D \t E\r\n"
    "\r\n"
    "\r\n";

std::string canonical_headers(std::string_view message, canonicalization c) {
  std::string out;
  for (const auto& h : split_message(message).headers) out += canonicalize_header(h.raw, c);
  return out;
}

TEST(canon, rfc6376_example_relaxed) {
  EXPECT_EQ(canonical_headers(rfc_example, canonicalization::relaxed), "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(canonicalize_body(split_message(rfc_example).body, canonicalization::relaxed), " C\r\nD E\r\n");
}

TEST(canon, rfc6376_example_simple) {
  EXPECT_EQ(canonical_headers(rfc_example, canonicalization::simple), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(canonicalize_body(split_message(rfc_example).body, canonicalization::simple),
            " C \r\nD \t E\r\n");
}

TEST(canon, split_keeps_fields_whole) {
  const auto m = split_message("From: a@x\r\nSubject: one\r\n two\r\nX-Empty:\r\n\r\nbody\r\n");
  ASSERT_EQ(m.headers.size(), 3u);
  EXPECT_EQ(m.headers[0].name, "From");
  EXPECT_EQ(m.headers[1].name, "Subject");
  EXPECT_EQ(m.headers[1].raw, "Subject: one\r\n two\r\n");
  EXPECT_EQ(m.headers[2].name, "X-Empty");
  EXPECT_EQ(m.body, "body\r\n");
}

TEST(canon, split_edge_cases) {
  // No empty line: all header, no body.
  auto m = split_message("From: a@x\r\nTo: b@y\r\n");
  EXPECT_EQ(m.headers.size(), 2u);
  EXPECT_EQ(m.body, "");
  // An empty line first: no header at all.
  m = split_message("\r\nbody only\r\n");
  EXPECT_TRUE(m.headers.empty());
  EXPECT_EQ(m.body, "body only\r\n");
  // A continuation with nothing before it, a line without a colon, no final CRLF.
  m = split_message(" lead\r\nnocolon\r\nFrom: a");
  ASSERT_EQ(m.headers.size(), 3u);
  EXPECT_EQ(m.headers[0].name, " lead");  // no colon: the line is its name
  EXPECT_EQ(m.headers[1].name, "nocolon");
  EXPECT_EQ(m.headers[2].raw, "From: a");
  // White space before the colon is not part of the name.
  m = split_message("Subject \t: x\r\n\r\n");
  EXPECT_EQ(m.headers[0].name, "Subject");
}

TEST(canon, relaxed_header_details) {
  EXPECT_EQ(canonicalize_header("SUBJECT:   Hello \t  World  \r\n", canonicalization::relaxed),
            "subject:Hello World\r\n");
  EXPECT_EQ(canonicalize_header("Subject:\r\n\tfolded\r\n  twice \r\n", canonicalization::relaxed),
            "subject:folded twice\r\n");
  EXPECT_EQ(canonicalize_header("X-Empty:\r\n", canonicalization::relaxed), "x-empty:\r\n");
  EXPECT_EQ(canonicalize_header("X-Empty:   \r\n", canonicalization::relaxed), "x-empty:\r\n");
  // Case of the value is kept; only the name is lowercased.
  EXPECT_EQ(canonicalize_header("To: Bob <BOB@Example.ORG>\r\n", canonicalization::relaxed),
            "to:Bob <BOB@Example.ORG>\r\n");
  // A missing final CRLF is added by both.
  EXPECT_EQ(canonicalize_header("From: a", canonicalization::simple), "From: a\r\n");
  EXPECT_EQ(canonicalize_header("From: a", canonicalization::relaxed), "from:a\r\n");
}

TEST(canon, body_empty_and_trailing_lines) {
  // RFC 6376 §3.4.3: an empty body is one CRLF for simple; §3.4.4 (errata 1384): empty for relaxed.
  EXPECT_EQ(canonicalize_body("", canonicalization::simple), "\r\n");
  EXPECT_EQ(canonicalize_body("", canonicalization::relaxed), "");
  EXPECT_EQ(canonicalize_body("\r\n\r\n\r\n", canonicalization::simple), "\r\n");
  EXPECT_EQ(canonicalize_body("\r\n\r\n\r\n", canonicalization::relaxed), "");
  // Lines of white space only are empty for relaxed (and trailing), not for simple.
  EXPECT_EQ(canonicalize_body("x\r\n  \r\n\t\r\n", canonicalization::relaxed), "x\r\n");
  EXPECT_EQ(canonicalize_body("x\r\n  \r\n\t\r\n", canonicalization::simple), "x\r\n  \r\n\t\r\n");
  // Empty lines inside the body stay.
  EXPECT_EQ(canonicalize_body("a\r\n\r\n\r\nb\r\n\r\n", canonicalization::simple), "a\r\n\r\n\r\nb\r\n");
  EXPECT_EQ(canonicalize_body("a\r\n \r\n\r\nb\r\n\r\n", canonicalization::relaxed), "a\r\n\r\n\r\nb\r\n");
  // A last line without CRLF gets one.
  EXPECT_EQ(canonicalize_body("a\r\nb", canonicalization::simple), "a\r\nb\r\n");
  EXPECT_EQ(canonicalize_body("a\r\nb  ", canonicalization::relaxed), "a\r\nb\r\n");
  // Leading white space is reduced, not removed.
  EXPECT_EQ(canonicalize_body("\t\t x  y\r\n", canonicalization::relaxed), " x y\r\n");
}

TEST(canon, body_is_idempotent) {
  for (const std::string_view b :
       {std::string_view("a \r\n\r\n b\t\r\n \r\n"), rfc_example, std::string_view("")})
    for (const auto c : {canonicalization::simple, canonicalization::relaxed}) {
      const std::string once = canonicalize_body(b, c);
      EXPECT_EQ(canonicalize_body(once, c), once);
    }
}

TEST(canon, select_takes_instances_bottom_up_and_oversigns) {
  const auto m = split_message(
      "Received: one\r\nFrom: first\r\nTo: t\r\nreceived: two\r\nSubject: s\r\nFROM: second\r\n\r\n");
  const auto picked = select_headers(m.headers, {"from", "Received", "From", "Received", "From", "Cc"});
  ASSERT_EQ(picked.size(), 4u);
  EXPECT_EQ(picked[0].raw, "FROM: second\r\n");  // the last instance first (RFC 6376 §5.4.2)
  EXPECT_EQ(picked[1].raw, "received: two\r\n");
  EXPECT_EQ(picked[2].raw, "From: first\r\n");
  EXPECT_EQ(picked[3].raw, "Received: one\r\n");
  // The third "From" and "Cc" have nothing left: they select nothing.
}

TEST(canon, signed_header_list_counts_instances) {
  const auto m = split_message("From: a\r\nTo: b\r\nTo: c\r\nSubject: s\r\nX-Other: o\r\nDate: d\r\n\r\n");
  const auto h = signed_header_list(m.headers, default_header_names(), {"From"});
  EXPECT_EQ(h, (std::vector<std::string>{"From", "Subject", "Date", "To", "To", "From"}));
  EXPECT_EQ(count_headers(m.headers, "to"), 2u);
  // A name wanted twice still counts its instances once.
  EXPECT_EQ(signed_header_list(m.headers, {"to", "To"}, {}), (std::vector<std::string>{"to", "to"}));
}

TEST(canon, canonicalization_names) {
  auto c = parse_canonicalization("simple/relaxed");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->header, canonicalization::simple);
  EXPECT_EQ(c->body, canonicalization::relaxed);
  EXPECT_EQ(to_string(*c), "simple/relaxed");
  c = parse_canonicalization("relaxed");  // RFC 6376 §3.5: the body is then simple
  ASSERT_TRUE(c);
  EXPECT_EQ(to_string(*c), "relaxed/simple");
  EXPECT_FALSE(parse_canonicalization("relaxed/"));
  EXPECT_FALSE(parse_canonicalization("Relaxed/relaxed"));
  EXPECT_FALSE(parse_canonicalization("nofws/simple"));
  EXPECT_FALSE(parse_canonicalization(""));
  EXPECT_EQ(to_string(canonicalization_pair{}), "relaxed/relaxed");
}

TEST(canon, tag_lists) {
  auto t = parse_tag_list("v=1; a=rsa-sha256;\r\n\th=From:\r\n To; bh=ab+/=;\r\n\tb=");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 5u);
  EXPECT_EQ(find_tag(*t, "v"), "1");
  EXPECT_EQ(find_tag(*t, "h"), "From:\r\n To");
  EXPECT_EQ(find_tag(*t, "b"), "");
  EXPECT_FALSE(find_tag(*t, "x"));
  t = parse_tag_list("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=;");
  ASSERT_TRUE(t);
  EXPECT_EQ(find_tag(*t, "k"), "ed25519");
  EXPECT_TRUE(parse_tag_list(""));
  EXPECT_FALSE(parse_tag_list("v=1; v=1"));       // a tag twice
  EXPECT_FALSE(parse_tag_list("v"));              // no '='
  EXPECT_FALSE(parse_tag_list("1v=1"));           // a name starts with a letter
  EXPECT_FALSE(parse_tag_list("v=1;; a=b"));      // an empty spec in the middle
  EXPECT_FALSE(parse_tag_list("v=1\nb=2"));       // a bare LF is no fold
  EXPECT_FALSE(parse_tag_list("v=caf\xc3\xa9"));  // outside VALCHAR
}

TEST(canon, names) {
  EXPECT_TRUE(valid_domain("example.org"));
  EXPECT_TRUE(valid_domain("sel-2026.sub"));
  EXPECT_TRUE(valid_domain("xn--mller-kva.example"));
  EXPECT_FALSE(valid_domain(""));
  EXPECT_FALSE(valid_domain("example..org"));
  EXPECT_FALSE(valid_domain("-bad.example"));
  EXPECT_FALSE(valid_domain("müller.example"));
  EXPECT_FALSE(valid_domain("a b"));
  EXPECT_FALSE(valid_domain(std::string(64, 'a') + ".org"));
  EXPECT_TRUE(valid_field_name("X-Custom_1"));
  EXPECT_FALSE(valid_field_name("Bad:Name"));
  EXPECT_FALSE(valid_field_name("Bad Name"));
  EXPECT_FALSE(valid_field_name(""));
}

}  // namespace
}  // namespace postern::dkim
