// base64 (RFC 4648 §4) and quoted-printable (RFC 2045 §6.7). Pure functions, fuzzed with clang 14:
// standard library only, no <expected>.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "postern/mime/message.hpp"

namespace postern::mime {
namespace {

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr int invalid = -1;
constexpr int skip = -2;  // whitespace that a line-wrapped encoding may contain

constexpr std::array<int, 256> make_decode_table() {
  std::array<int, 256> t{};
  for (auto& v : t) v = invalid;
  for (std::size_t i = 0; i < base64_alphabet.size(); ++i)
    t[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<int>(i);
  for (unsigned char c : {' ', '\t', '\r', '\n'}) t[c] = skip;
  return t;
}
constexpr auto decode_table = make_decode_table();

constexpr std::string_view hex_digits = "0123456789ABCDEF";

// Quoted-printable lines may be 76 characters long; a soft break "=" counts, so a line that
// continues holds at most 75 characters of content.
constexpr std::size_t qp_max_line = 76;

// Encodes one logical line (no line end inside, except bare CRs which are escaped).
void qp_encode_line(std::string& out, std::string_view line) {
  std::size_t column = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    const bool last = i + 1 == line.size();
    char token[3];
    std::size_t token_len = 1;
    // Whitespace at the end of a line would be stripped by transports (RFC 2045 rule 3).
    const bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
    if (literal) {
      token[0] = static_cast<char>(c);
    } else {
      token[0] = '=';
      token[1] = hex_digits[c >> 4];
      token[2] = hex_digits[c & 0x0F];
      token_len = 3;
    }
    // The last token of a line may use the 76th column; any other must leave room for "=".
    const std::size_t limit = last ? qp_max_line : qp_max_line - 1;
    if (column + token_len > limit) {
      out += "=\r\n";
      column = 0;
    }
    out.append(token, token_len);
    column += token_len;
  }
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                            (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += base64_alphabet[(v >> 6) & 63];
    out += base64_alphabet[v & 63];
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += base64_alphabet[(v >> 18) & 63];
    out += base64_alphabet[(v >> 12) & 63];
    out += base64_alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3);
  std::uint32_t acc = 0;
  std::size_t quantum = 0;  // sextets collected in the current 4-character group
  std::size_t padding = 0;
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '=') {
      // Padding may only complete a group that already holds 2 or 3 characters.
      if (quantum + padding < 2) return std::nullopt;
      ++padding;
      if (quantum + padding > 4) return std::nullopt;
      continue;
    }
    const int v = decode_table[c];
    if (v == skip) continue;
    if (v == invalid || padding != 0) return std::nullopt;  // data after '=' is not base64
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++quantum == 4) {
      out += static_cast<char>((acc >> 16) & 0xFF);
      out += static_cast<char>((acc >> 8) & 0xFF);
      out += static_cast<char>(acc & 0xFF);
      acc = 0;
      quantum = 0;
    }
  }
  if (padding != 0 && quantum + padding != 4) return std::nullopt;
  // Unpadded input is accepted (some servers omit '='), but a lone sextet carries no whole byte.
  if (quantum == 1) return std::nullopt;
  if (quantum == 2) {
    out += static_cast<char>((acc >> 4) & 0xFF);
  } else if (quantum == 3) {
    out += static_cast<char>((acc >> 10) & 0xFF);
    out += static_cast<char>((acc >> 2) & 0xFF);
  }
  return out;
}

std::string quoted_printable_encode(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / 8);
  std::size_t start = 0;
  while (start <= in.size()) {
    const std::size_t lf = in.find('\n', start);
    std::size_t end = lf == std::string_view::npos ? in.size() : lf;
    // CRLF and LF are both line ends; a CR elsewhere is data and gets escaped.
    const std::size_t content_end =
        (lf != std::string_view::npos && end > start && in[end - 1] == '\r') ? end - 1 : end;
    qp_encode_line(out, in.substr(start, content_end - start));
    if (lf == std::string_view::npos) break;
    out += "\r\n";
    start = lf + 1;
  }
  return out;
}

}  // namespace postern::mime
