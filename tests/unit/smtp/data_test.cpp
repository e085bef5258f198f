#include "postern/smtp/data.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

namespace postern::smtp {
namespace {

// What decode(encode(x)) must give: CRLF everywhere, a final CRLF when not empty.
std::string normalised(std::string_view m) {
  std::string out;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r' || m[i] == '\n') {
      if (m[i] == '\r' && i + 1 < m.size() && m[i + 1] == '\n') ++i;
      out += "\r\n";
    } else {
      out += m[i];
    }
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

TEST(data, header_example) { EXPECT_EQ(encode_data("a\n.b"), "a\r\n..b\r\n.\r\n"); }

TEST(data, dot_stuffing) {
  EXPECT_EQ(encode_data(".\r\n"), "..\r\n.\r\n");
  EXPECT_EQ(encode_data(".hidden\r\nx.y\r\n..two\r\n"), "..hidden\r\nx.y\r\n...two\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\n.\r\nb"), "a\r\n..\r\nb\r\n.\r\n") << "a lone dot must not end the message";
  EXPECT_EQ(encode_data("a\r.b"), "a\r\n..b\r\n.\r\n");
}

TEST(data, line_end_normalisation) {
  EXPECT_EQ(encode_data(""), ".\r\n");
  EXPECT_EQ(encode_data("a"), "a\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\n"), "a\r\n.\r\n");
  EXPECT_EQ(encode_data("a\rb\nc\r\n"), "a\r\nb\r\nc\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\r\nb"), "a\r\n\r\nb\r\n.\r\n");
  EXPECT_EQ(encode_data("\n\n"), "\r\n\r\n.\r\n");
  EXPECT_EQ(encode_data("a\n\r"), "a\r\n\r\n.\r\n");
}

TEST(data, decode_inverse) {
  EXPECT_EQ(decode_data("a\r\n..b\r\n.\r\n"), "a\r\n.b\r\n");
  EXPECT_EQ(decode_data(".\r\n"), "");
  std::mt19937 rng(42);
  const char alphabet[] = {'a', '.', '\r', '\n', '\x80', '\0', ' '};
  for (int round = 0; round < 2000; ++round) {
    std::string m;
    const int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) m += alphabet[rng() % sizeof(alphabet)];
    const std::string wire = encode_data(m);
    EXPECT_EQ(decode_data(wire), normalised(m));
    if (wire != ".\r\n") {
      EXPECT_TRUE(wire.ends_with("\r\n.\r\n"));
      EXPECT_EQ(wire.find("\r\n.\r\n"), wire.size() - 5) << "the terminator appears only at the end";
    }
    const auto a = scan_message(m);
    const auto b = scan_encoded(wire);
    EXPECT_EQ(a.wire_size, normalised(m).size());
    EXPECT_EQ(a.wire_size, b.wire_size);
    EXPECT_EQ(a.eight_bit, b.eight_bit);
    EXPECT_EQ(a.has_nul, b.has_nul);
    EXPECT_EQ(a.longest_line, b.longest_line);
  }
}

TEST(data, scan_facts) {
  auto f = scan_message(std::string(998, 'x') + "\r\nshort\n\xe9t\xe9");
  EXPECT_EQ(f.longest_line, 998u);
  EXPECT_TRUE(f.eight_bit);
  EXPECT_FALSE(f.has_nul);
  EXPECT_EQ(f.wire_size, 998u + 2 + 5 + 2 + 3 + 2);
  EXPECT_TRUE(scan_message(std::string("a\0b", 3)).has_nul);
}

TEST(data, long_lines_kept_intact) {
  const std::string line(998, 'y');
  const std::string m = line + "\r\n." + line + "\r\n";
  const std::string wire = encode_data(m);
  EXPECT_EQ(wire, line + "\r\n.." + line + "\r\n.\r\n");
  EXPECT_EQ(decode_data(wire), m);
}

TEST(data, ten_megabytes_quickly) {
  std::string m;
  m.reserve(10 * 1024 * 1024 + 100);
  while (m.size() < 10 * 1024 * 1024) m += ".line of text that ends in a bare LF\n";
  auto start = std::chrono::steady_clock::now();
  const std::string wire = encode_data(m);
  const std::string back = decode_data(wire);
  const auto facts = scan_encoded(wire);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(back.size(), facts.wire_size);
  EXPECT_EQ(facts.wire_size, scan_message(m).wire_size);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

}  // namespace
}  // namespace postern::smtp
