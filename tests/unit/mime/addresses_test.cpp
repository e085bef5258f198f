#include "postern/mime/addresses.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::mime {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::string_literals;

// -- parse_address_list --------------------------------------------------------------

TEST(ParseAddressList, BareAddresses) {
  EXPECT_THAT(parse_address_list("a@example.org"), ElementsAre("a@example.org"));
  EXPECT_THAT(parse_address_list("a@example.org,b@example.net , c@x.y"),
              ElementsAre("a@example.org", "b@example.net", "c@x.y"));
}

TEST(ParseAddressList, DisplayNamesAndAngleAddresses) {
  EXPECT_THAT(parse_address_list("Ann Example <ann@example.org>, <bob@example.org>"),
              ElementsAre("ann@example.org", "bob@example.org"));
  EXPECT_THAT(parse_address_list("\"Doe, John\" <john@example.org>, \"x <y@z>\" <real@example.org>"),
              ElementsAre("john@example.org", "real@example.org"));
  EXPECT_THAT(parse_address_list("=?UTF-8?B?R3LDvMOfZQ==?= <g@example.org>"), ElementsAre("g@example.org"));
  // A display name that looks like an address does not count; the angle address does.
  EXPECT_THAT(parse_address_list("fake@evil.example <real@example.org>"), ElementsAre("real@example.org"));
}

TEST(ParseAddressList, QuotedLocalPartsWithCommasStayQuoted) {
  EXPECT_THAT(parse_address_list("\"j,doe\"@example.org, \"a b\\\"c\"@example.org"),
              ElementsAre("\"j,doe\"@example.org", "\"a b\\\"c\"@example.org"));
  EXPECT_THAT(parse_address_list("Name <\"odd,local\"@example.org>"),
              ElementsAre("\"odd,local\"@example.org"));
}

TEST(ParseAddressList, CommentsAreDropped) {
  EXPECT_THAT(parse_address_list("ann@example.org (Ann, (nested) Example)"), ElementsAre("ann@example.org"));
  EXPECT_THAT(parse_address_list("(lead) bob(x)@(y)example.org(z), c@d.e"),
              ElementsAre("bob@example.org", "c@d.e"));
  EXPECT_THAT(parse_address_list("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
              ElementsAre("pete@silly.test"));
}

TEST(ParseAddressList, Groups) {
  EXPECT_THAT(parse_address_list("undisclosed-recipients:;"), IsEmpty());
  EXPECT_THAT(parse_address_list("undisclosed-recipients: ;"), IsEmpty());
  EXPECT_THAT(
      parse_address_list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, after@x.y"),
      ElementsAre("c@a.test", "joe@where.test", "jdoe@one.test", "after@x.y"));
  EXPECT_THAT(parse_address_list("team: a@x.y; other: b@x.y;"), ElementsAre("a@x.y", "b@x.y"));
}

TEST(ParseAddressList, FoldedValues) {
  EXPECT_THAT(parse_address_list("Ann <ann@example.org>,\r\n Bob\r\n\t<bob@example.org>,\n c@d.e"),
              ElementsAre("ann@example.org", "bob@example.org", "c@d.e"));
  EXPECT_THAT(parse_address_list("\"Folded\r\n Name\" <f@example.org>"), ElementsAre("f@example.org"));
}

TEST(ParseAddressList, ObsoleteForms) {
  EXPECT_THAT(parse_address_list("<@route.example,@other.example:joe@example.org>"),
              ElementsAre("joe@example.org"));
  EXPECT_THAT(parse_address_list("john . doe @ example . org"), ElementsAre("john.doe@example.org"));
  EXPECT_THAT(parse_address_list("a@[192.0.2.1], b@[IPv6:2001:db8::1]"),
              ElementsAre("a@[192.0.2.1]", "b@[IPv6:2001:db8::1]"));
  EXPECT_THAT(parse_address_list("j\xc3\xbcrgen@b\xc3\xbc"
                                 "cher.example"),
              ElementsAre("j\xc3\xbcrgen@b\xc3\xbc"
                          "cher.example"));
}

TEST(ParseAddressList, EmptyValues) {
  EXPECT_THAT(parse_address_list(""), IsEmpty());
  EXPECT_THAT(parse_address_list("   \r\n "), IsEmpty());
  EXPECT_THAT(parse_address_list(",,, ,"), IsEmpty());
  EXPECT_THAT(parse_address_list("<>"), IsEmpty());
  EXPECT_THAT(parse_address_list("(only a comment)"), IsEmpty());
}

TEST(ParseAddressList, GarbageIsSkippedTheRestIsRead) {
  EXPECT_THAT(parse_address_list("John Doe, a@example.org"), ElementsAre("a@example.org"));
  EXPECT_THAT(parse_address_list("root, a@example.org"),
              ElementsAre("a@example.org"));  // no domain: not an addr-spec
  EXPECT_THAT(parse_address_list("a@@b, @x, x@, .a@b, a..b@c, a@b., ok@x.y"), ElementsAre("ok@x.y"));
  EXPECT_THAT(parse_address_list("a\x01"
                                 "b@x.y, c@d.e"),
              ElementsAre("c@d.e"));
  EXPECT_THAT(parse_address_list("<a@b> <c@d>, e@f.g"), ElementsAre("e@f.g"));
  EXPECT_THAT(parse_address_list("> a@b.c"), IsEmpty());
  // Control characters inside quoted strings and domain literals (found by fuzz_addresses).
  EXPECT_THAT(parse_address_list("a@[1.2\0.3.4], \"x\\\r\"@y.z, \"\x01\"@y.z, ok@x.y"s),
              ElementsAre("ok@x.y"));
  EXPECT_THAT(parse_address_list("\"tab\there\"@x.y"), ElementsAre("\"tab\there\"@x.y"));
  // Unterminated pieces never turn into an address.
  EXPECT_THAT(parse_address_list("<a@b.c"), IsEmpty());
  EXPECT_THAT(parse_address_list("ok@x.y, \"a@b.c"), ElementsAre("ok@x.y"));
  EXPECT_THAT(parse_address_list("ok@x.y, a@b.c (unclosed"), ElementsAre("ok@x.y"));
  EXPECT_THAT(parse_address_list("ok@x.y, a@[1.2.3.4"), ElementsAre("ok@x.y"));
}

// -- header fields -------------------------------------------------------------------

const std::string kMessage =
    "From: Me <me@example.org>\r\n"
    "To: a@example.org,\r\n"
    "  \"B, Person\" <b@example.org>\r\n"
    "cc: c@example.org\r\n"
    "BCC: hidden@example.org,\r\n"
    "\tsecret@example.org\r\n"
    "Subject: Bcc: not a field\r\n"
    "Bcc: second@example.org\r\n"
    "\r\n"
    "Bcc: in the body@example.org\r\n"
    "To: body@example.org\r\n";

TEST(HeaderValues, UnfoldsAndIgnoresCase) {
  EXPECT_THAT(header_values(kMessage, "to"), ElementsAre("a@example.org,  \"B, Person\" <b@example.org>"));
  EXPECT_THAT(header_values(kMessage, "Cc"), ElementsAre("c@example.org"));
  EXPECT_THAT(header_values(kMessage, "bcc"),
              ElementsAre("hidden@example.org,\tsecret@example.org", "second@example.org"));
  EXPECT_THAT(header_values(kMessage, "Resent-To"), IsEmpty());
  EXPECT_TRUE(has_header(kMessage, "bCc"));
  EXPECT_FALSE(has_header(kMessage, "Date"));
}

TEST(HeaderValues, StopsAtTheFirstEmptyLine) {
  EXPECT_THAT(header_values("To: a@x.y\n\nTo: b@x.y\n", "To"), ElementsAre("a@x.y"));
  EXPECT_THAT(header_values("\r\nTo: a@x.y\r\n", "To"), IsEmpty());
  EXPECT_THAT(header_values("To: a@x.y", "To"), ElementsAre("a@x.y"));  // headers only, no final line end
  EXPECT_THAT(header_values("", "To"), IsEmpty());
}

TEST(HeaderValues, OddLines) {
  // An mbox "From " line and a line without a colon are not fields; "Name :" (obsolete) is.
  EXPECT_THAT(header_values("From someone Mon Jan  1 00:00:00 2024\nTo : a@x.y\ngarbage\n To: no\n", "To"),
              ElementsAre("a@x.y"));
  EXPECT_THAT(header_values("To:\r\nCc: c@x.y\r\n", "To"), ElementsAre(""));
}

TEST(HeaderAddresses, ToCcBccDeduplicatedInOrder) {
  EXPECT_THAT(header_addresses(kMessage, {"To", "Cc", "Bcc"}),
              ElementsAre("a@example.org", "b@example.org", "c@example.org", "hidden@example.org",
                          "secret@example.org", "second@example.org"));
  EXPECT_THAT(header_addresses("To: a@X.org, A@x.org\nCc: a@x.ORG\n\n", {"To", "Cc"}),
              ElementsAre("a@X.org", "A@x.org"));
  std::vector<std::string> list{"a@x.org"};
  append_unique(list, {"a@X.ORG", "b@x.org", "b@x.org"});
  EXPECT_THAT(list, ElementsAre("a@x.org", "b@x.org"));
}

// -- remove_header -------------------------------------------------------------------

TEST(RemoveHeader, RemovesEveryOccurrenceWithContinuationLines) {
  const std::string want =
      "From: Me <me@example.org>\r\n"
      "To: a@example.org,\r\n"
      "  \"B, Person\" <b@example.org>\r\n"
      "cc: c@example.org\r\n"
      "Subject: Bcc: not a field\r\n"
      "\r\n"
      "Bcc: in the body@example.org\r\n"
      "To: body@example.org\r\n";
  EXPECT_EQ(remove_header(kMessage, "Bcc"), want);
  EXPECT_EQ(remove_header(want, "Bcc"), want);
}

TEST(RemoveHeader, KeepsLfAndMixedLineEndsByteForByte) {
  EXPECT_EQ(remove_header("A: 1\nBcc: x\n y\nB: 2\n\nbody\n", "bcc"), "A: 1\nB: 2\n\nbody\n");
  EXPECT_EQ(remove_header("A: 1\r\nBcc: x\n y\r\nB: 2\n\r\nbody", "bcc"), "A: 1\r\nB: 2\n\r\nbody");
  EXPECT_EQ(remove_header("A: 1\r\nBcc: x", "bcc"), "A: 1\r\n");  // last line, no line end
  EXPECT_EQ(remove_header("Bcc: x\r\n\r\n", "bcc"), "\r\n");
  EXPECT_EQ(remove_header("Bcc: x\r\n", "bcc"), "");
}

TEST(RemoveHeader, OnlyTheNamedFieldAndOnlyInTheHeader) {
  const std::string m =
      "Bcc-Copy: keep\r\nX-Bcc: keep\r\nResent-Bcc: r@x.y\r\nBcc : obs@x.y\r\n\r\nBcc: body\r\n";
  EXPECT_EQ(remove_header(m, "Bcc"),
            "Bcc-Copy: keep\r\nX-Bcc: keep\r\nResent-Bcc: r@x.y\r\n\r\nBcc: body\r\n");
  EXPECT_EQ(remove_header(m, "Resent-Bcc"),
            "Bcc-Copy: keep\r\nX-Bcc: keep\r\nBcc : obs@x.y\r\n\r\nBcc: body\r\n");
  EXPECT_EQ(remove_header(m, "Date"), m);
  EXPECT_EQ(remove_header("", "Bcc"), "");
  // A leading continuation line (malformed) belongs to no field and stays.
  EXPECT_EQ(remove_header(" orphan\r\nBcc: x\r\n\tmore\r\nTo: y\r\n", "bcc"), " orphan\r\nTo: y\r\n");
}

TEST(RemoveHeader, BinaryBodyUntouched) {
  std::string body("\0\r\r\n\xff\n.\r\n", 9);
  const std::string m = "Bcc: a@b.c\r\nTo: d@e.f\r\n\r\n" + body;
  EXPECT_EQ(remove_header(m, "bcc"), "To: d@e.f\r\n\r\n" + body);
}

}  // namespace
}  // namespace postern::mime
