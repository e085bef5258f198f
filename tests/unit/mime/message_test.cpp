#include "postern/mime/message.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

namespace postern::mime {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find("\r\n", start);
    if (pos == std::string::npos) {
      lines.push_back(s.substr(start));
      return lines;
    }
    lines.push_back(s.substr(start, pos - start));
    start = pos + 2;
  }
}

// Independent RFC 2047 decoder for the round-trip checks: unfolds, then decodes =?UTF-8?B?..?=
// words, dropping the whitespace between adjacent encoded words (RFC 2047 §6.2).
std::string decode_header_value(const std::string& folded) {
  std::string v;
  for (std::size_t i = 0; i < folded.size(); ++i) {
    if (folded.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    v += folded[i];
  }
  // Whitespace after the colon is not part of the value (a long name may fold before the first word).
  v.erase(0, v.find_first_not_of(" \t") == std::string::npos ? v.size() : v.find_first_not_of(" \t"));
  std::string out;
  std::size_t i = 0;
  bool previous_was_word = false;
  std::string pending_space;
  while (i < v.size()) {
    if (v.compare(i, 10, "=?UTF-8?B?") == 0) {
      const auto end = v.find("?=", i + 10);
      EXPECT_NE(end, std::string::npos);
      const auto decoded = base64_decode(v.substr(i + 10, end - i - 10));
      EXPECT_TRUE(decoded.has_value());
      if (!previous_was_word) out += pending_space;
      pending_space.clear();
      out += decoded.value_or("");
      i = end + 2;
      previous_was_word = true;
    } else if (v[i] == ' ' || v[i] == '\t') {
      pending_space += v[i++];
    } else {
      out += pending_space;
      pending_space.clear();
      out += v[i++];
      previous_was_word = false;
    }
  }
  return out + pending_space;
}

// ---- base64 (RFC 4648 §10 test vectors) -------------------------------------------------

TEST(Base64, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 7)
    EXPECT_EQ(base64_decode(base64_encode(all.substr(0, n))), all.substr(0, n));
}

TEST(Base64, SkipsWhitespace) { EXPECT_EQ(base64_decode(" Zm9v\r\nYmFy\t"), "foobar"); }

TEST(Base64, AcceptsMissingPadding) {
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Zm8"), "fo");
}

TEST(Base64, RejectsBadInput) {
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Z"));  // a lone sextet
  EXPECT_FALSE(
      base64_decode("Zg=="
                    "Zg=="));            // data after padding
  EXPECT_FALSE(base64_decode("Zg="));    // incomplete padding
  EXPECT_FALSE(base64_decode("Zm9v="));  // padding after a full group
  EXPECT_FALSE(base64_decode("=Zg="));
  EXPECT_FALSE(base64_decode("Zg==="));
  EXPECT_FALSE(base64_decode(std::string("Zm\0v", 4)));
}

// ---- quoted-printable --------------------------------------------------------------------

TEST(QuotedPrintable, EscapesEqualsAndNonPrintables) {
  EXPECT_EQ(quoted_printable_encode("a=b"), "a=3Db");
  EXPECT_EQ(quoted_printable_encode("Gr\xC3\xBC\xC3\x9F"
                                    "e"),
            "Gr=C3=BC=C3=9Fe");
  EXPECT_EQ(quoted_printable_encode(std::string("a\0b", 3)), "a=00b");
  EXPECT_EQ(quoted_printable_encode("a\rb"), "a=0Db");
}

TEST(QuotedPrintable, LineEndsBecomeCrlf) {
  EXPECT_EQ(quoted_printable_encode("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
  EXPECT_EQ(quoted_printable_encode(""), "");
}

TEST(QuotedPrintable, TrailingWhitespaceEncoded) {
  EXPECT_EQ(quoted_printable_encode("a b \nc\t\r\nd "), "a b=20\r\nc=09\r\nd=20");
}

TEST(QuotedPrintable, SoftBreaksKeepLinesAt76) {
  const std::string encoded = quoted_printable_encode(std::string(100, 'a'));
  EXPECT_EQ(encoded, std::string(75, 'a') + "=\r\n" + std::string(25, 'a'));
  // Exactly 76 characters fit on a final line without a soft break.
  EXPECT_EQ(quoted_printable_encode(std::string(76, 'a')), std::string(76, 'a'));
  EXPECT_EQ(quoted_printable_encode(std::string(77, 'a')), std::string(75, 'a') + "=\r\naa");
}

TEST(QuotedPrintable, EscapesAreNeverSplit) {
  std::string in;
  for (int i = 0; i < 300; ++i) in += (i % 3 == 0) ? "\xC3\xBC" : "x";
  in += "\n" + std::string(2000, '=') + "\n";
  const std::string encoded = quoted_printable_encode(in);
  for (const auto& line : split_lines(encoded)) {
    EXPECT_LE(line.size(), 76u) << line;
    // A soft break is the only '=' that may end a line, and it must not cut "=XX".
    const auto eq = line.rfind('=');
    if (eq != std::string::npos) {
      EXPECT_TRUE(eq == line.size() - 1 || eq + 3 <= line.size()) << line;
    }
  }
}

// ---- RFC 2047 ----------------------------------------------------------------------------

TEST(EncodeHeader, AsciiUnchanged) {
  EXPECT_EQ(encode_header_value("Hello world", 9), "Hello world");
  EXPECT_EQ(encode_header_value("", 9), "");
}

TEST(EncodeHeader, LongAsciiFoldedAtSpaces) {
  std::string subject;
  for (int i = 0; i < 30; ++i) subject += "word" + std::to_string(i) + " ";
  subject.pop_back();
  const std::string v = encode_header_value(subject, 9);
  const auto lines = split_lines("Subject: " + v);
  ASSERT_GT(lines.size(), 1u);
  for (const auto& l : lines) EXPECT_LE(l.size(), 76u);
  EXPECT_EQ(decode_header_value(v), subject);
}

TEST(EncodeHeader, GruesseKnownAnswer) {
  EXPECT_EQ(encode_header_value("Grüße", 9), "=?UTF-8?B?R3LDvMOfZQ==?=");
  EXPECT_EQ(encode_header_value("日本語", 9), "=?UTF-8?B?5pel5pys6Kqe?=");
}

TEST(EncodeHeader, EncodesLookalikeEncodedWordsAndControls) {
  EXPECT_EQ(encode_header_value("=?x?=", 9), "=?UTF-8?B?PT94Pz0=?=");
  EXPECT_EQ(decode_header_value(encode_header_value("a\r\nBcc: x@y", 9)), "a\r\nBcc: x@y");
  EXPECT_EQ(encode_header_value("a\r\nBcc: x@y", 9).find('\n'), std::string::npos);
}

void expect_well_formed(const std::string& text, std::size_t name_length, bool valid_utf8 = true) {
  const std::string v = encode_header_value(text, name_length);
  const auto lines = split_lines(std::string(name_length, 'X') + v);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 76u) << "line " << i << ": " << lines[i];
    if (i > 0) {
      EXPECT_EQ(lines[i].substr(0, 1), " ");
    }
  }
  // Every encoded word is at most 75 characters and holds whole UTF-8 characters.
  static const std::regex word(R"(=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=)");
  for (auto it = std::sregex_iterator(v.begin(), v.end(), word); it != std::sregex_iterator(); ++it) {
    EXPECT_LE(it->str().size(), 75u);
    const auto payload = base64_decode((*it)[1].str());
    ASSERT_TRUE(payload.has_value());
    ASSERT_FALSE(payload->empty());
    if (!valid_utf8) continue;
    EXPECT_NE(static_cast<unsigned char>(payload->front()) & 0xC0, 0x80) << "word starts inside a character";
    // The last character is complete: its lead byte announces exactly the remaining bytes.
    std::size_t lead = payload->size() - 1;
    while (lead > 0 && (static_cast<unsigned char>((*payload)[lead]) & 0xC0) == 0x80) --lead;
    const auto c = static_cast<unsigned char>((*payload)[lead]);
    const std::size_t expected = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    EXPECT_EQ(payload->size() - lead, expected);
  }
  EXPECT_EQ(decode_header_value(v), text);
}

TEST(EncodeHeader, LongSubjectsFoldAndRoundTrip) {
  std::string german, japanese, mixed, emoji;
  for (int i = 0; i < 40; ++i) german += "Grüße aus Köln ";
  for (int i = 0; i < 60; ++i) japanese += "日本語のメール";
  for (int i = 0; i < 50; ++i) mixed += "aé日😀";
  for (int i = 0; i < 100; ++i) emoji += "😀";
  for (std::size_t name_length : {0u, 4u, 9u, 20u, 40u, 60u, 70u}) {
    expect_well_formed(german, name_length);
    expect_well_formed(japanese, name_length);
    expect_well_formed(mixed, name_length);
    expect_well_formed(emoji, name_length);
    expect_well_formed("Grüße", name_length);
  }
}

TEST(EncodeHeader, LongNameStartsOnContinuationLine) {
  const std::string v = encode_header_value("日本語", 70);
  EXPECT_EQ(v.substr(0, 3), "\r\n ");
  EXPECT_EQ(decode_header_value(v), "日本語");
}

TEST(EncodeHeader, InvalidUtf8StillRoundTrips) {
  const std::string broken = std::string(100, '\xC3') + "\xE6\x97" + "x";
  expect_well_formed(broken, 9, false);
}

// ---- date and Message-ID -----------------------------------------------------------------

TEST(FormatDate, KnownAnswers) {
  using std::chrono::system_clock;
  EXPECT_EQ(format_date(system_clock::time_point{}), "Thu, 1 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(format_date(system_clock::time_point{1795831005s}), "Sat, 28 Nov 2026 01:56:45 +0000");
  EXPECT_EQ(format_date(system_clock::time_point{951868799s + 500ms}), "Tue, 29 Feb 2000 23:59:59 +0000");
}

TEST(MessageId, DomainOfFrom) {
  static const std::regex id(R"(<[0-9a-f]{32}@example\.org>)");
  EXPECT_TRUE(std::regex_match(generate_message_id("a@example.org"), id));
  EXPECT_TRUE(std::regex_match(generate_message_id("Anna <a@example.org>"), id));
  EXPECT_NE(generate_message_id("a@example.org"), generate_message_id("a@example.org"));
  EXPECT_THAT(generate_message_id("nobody"), testing::EndsWith("@postern.invalid>"));
  EXPECT_THAT(generate_message_id("a@ex>ample"), testing::EndsWith("@postern.invalid>"));
}

// ---- build() -----------------------------------------------------------------------------

simple_message sample() {
  return {.from = "a@example.org",
          .to = {"b@example.org"},
          .cc = {},
          .subject = "Hello",
          .text = "Line one\nLine two\n",
          .date = std::chrono::system_clock::time_point{1795831005s},
          .message_id = "<fixed@example.org>"};
}

TEST(Build, AsciiMessageStructure) {
  EXPECT_EQ(build(sample()),
            "Date: Sat, 28 Nov 2026 01:56:45 +0000\r\n"
            "From: a@example.org\r\n"
            "To: b@example.org\r\n"
            "Subject: Hello\r\n"
            "Message-ID: <fixed@example.org>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n"
            "Line one\r\n"
            "Line two\r\n");
}

TEST(Build, Utf8BodyIs8bitAndSubjectEncoded) {
  auto m = sample();
  m.subject = "Grüße";
  m.text = "Grüße\r\naus Köln";
  m.cc = {"c@example.org", "d@example.org"};
  const std::string out = build(m);
  EXPECT_THAT(out, testing::HasSubstr("\r\nCc: c@example.org, d@example.org\r\n"));
  EXPECT_THAT(out, testing::HasSubstr("\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"));
  EXPECT_THAT(out, testing::HasSubstr("Content-Type: text/plain; charset=utf-8\r\n"));
  EXPECT_THAT(out, testing::HasSubstr("Content-Transfer-Encoding: 8bit\r\n"));
  EXPECT_THAT(out, testing::EndsWith("\r\n\r\nGrüße\r\naus Köln\r\n"));
}

TEST(Build, No8bitOptionUsesQuotedPrintable) {
  auto m = sample();
  m.text = "Grüße\n";
  const std::string out = build(m, {.allow_8bit = false});
  EXPECT_THAT(out, testing::HasSubstr("Content-Transfer-Encoding: quoted-printable\r\n"));
  EXPECT_THAT(out, testing::EndsWith("\r\n\r\nGr=C3=BC=C3=9Fe\r\n"));
}

TEST(Build, LongLineForcesQuotedPrintable) {
  auto m = sample();
  m.text = std::string(999, 'x') + "\n";
  const std::string out = build(m);
  EXPECT_THAT(out, testing::HasSubstr("Content-Transfer-Encoding: quoted-printable\r\n"));
  for (const auto& line : split_lines(out)) EXPECT_LE(line.size(), 76u);
  m.text = std::string(998, 'x') + "\n";
  EXPECT_THAT(build(m), testing::HasSubstr("Content-Transfer-Encoding: 7bit\r\n"));
}

TEST(Build, NulAndBareCrForceQuotedPrintable) {
  auto m = sample();
  m.text = std::string("a\0b\n", 4);
  EXPECT_THAT(build(m), testing::HasSubstr("Content-Transfer-Encoding: quoted-printable\r\n\r\na=00b\r\n"));
  m.text = "a\rb\n";
  EXPECT_THAT(build(m), testing::HasSubstr("Content-Transfer-Encoding: quoted-printable\r\n\r\na=0Db\r\n"));
}

TEST(Build, EveryLineEndIsCrlf) {
  auto m = sample();
  m.text = "a\nb\r\n\nc";
  const std::string out = build(m);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\n') {
      EXPECT_EQ(out[i - 1], '\r') << i;
    }
    if (out[i] == '\r') {
      EXPECT_EQ(out[i + 1], '\n') << i;
    }
  }
  EXPECT_THAT(out, testing::EndsWith("\r\n\r\na\r\nb\r\n\r\nc\r\n"));
}

TEST(Build, NonAsciiDisplayNameEncoded) {
  auto m = sample();
  m.from = "Jürgen Müller <j@example.org>";
  m.to = {"\"Zoë\" <z@example.org>", "Plain Name <p@example.org>", "x@example.org"};
  const std::string out = build(m);
  EXPECT_THAT(out, testing::HasSubstr("\r\nFrom: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <j@example.org>\r\n"));
  EXPECT_THAT(
      out, testing::HasSubstr("\r\nTo: =?UTF-8?B?Wm/Dqw==?= <z@example.org>, Plain Name <p@example.org>,\r\n"
                              " x@example.org\r\n"));
}

TEST(Build, ManyRecipientsFoldedAt76) {
  auto m = sample();
  m.to.clear();
  for (int i = 0; i < 20; ++i) m.to.push_back("recipient" + std::to_string(i) + "@example.org");
  m.to.push_back("Ünïcödé Nämé Thät Is Rather Long Indeed, Really Quite Long <u@example.org>");
  const std::string out = build(m);
  const auto header_end = out.find("\r\n\r\n");
  for (const auto& line : split_lines(out.substr(0, header_end))) {
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_FALSE(line.ends_with(" ")) << "whitespace before a fold: " << line;
  }
  for (int i = 0; i < 20; ++i)
    EXPECT_THAT(out, testing::HasSubstr("recipient" + std::to_string(i) + "@example.org"));
}

TEST(Build, EncodedNameFoldsBeforeItsAddress) {
  auto m = sample();
  m.to = {"recipient0@example.org", "recipient1@example.org", "recipient2@example.org",
          "\"Zoë, die \\\"Große\\\"\" <z@example.org>"};
  EXPECT_THAT(build(m),
              testing::HasSubstr(
                  "recipient2@example.org,\r\n =?UTF-8?B?Wm/DqywgZGllICJHcm/Dn2Ui?= <z@example.org>\r\n"));
}

TEST(Build, HeaderInjectionNeutralised) {
  auto m = sample();
  m.to = {"b@example.org\r\nBcc: evil@example.org"};
  m.subject = "Hi\r\nBcc: evil@example.org";
  const std::string out = build(m);
  EXPECT_THAT(out, testing::Not(testing::HasSubstr("\r\nBcc:")));
}

TEST(Build, GeneratedMessageIdAndDate) {
  auto m = sample();
  m.message_id.clear();
  m.date.reset();
  const std::string out = build(m);
  EXPECT_TRUE(std::regex_search(out, std::regex("\r\nMessage-ID: <[0-9a-f]{32}@example\\.org>\r\n")));
  EXPECT_TRUE(std::regex_search(out, std::regex("^Date: [A-Z][a-z]{2}, \\d{1,2} [A-Z][a-z]{2} \\d{4} "
                                                "\\d\\d:\\d\\d:\\d\\d \\+0000\r\n")));
  m.message_id = "abc@example.org";
  EXPECT_THAT(build(m), testing::HasSubstr("\r\nMessage-ID: <abc@example.org>\r\n"));
}

}  // namespace
}  // namespace postern::mime
