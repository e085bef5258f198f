// RFC 5322 message assembly and RFC 2047 header encoding. Pure: standard library only, no
// <expected> (the mime fuzz targets are built with clang 14).
#include "postern/mime/message.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {
namespace {

// RFC 2047 §2: an encoded word is at most 75 characters; RFC 5322 §2.1.1 asks for lines of
// at most 78, we keep to 76 like the body encodings.
constexpr std::size_t max_encoded_word = 75;
constexpr std::size_t max_header_line = 76;
constexpr std::size_t max_smtp_line = 998;  // RFC 5322 §2.1.1, without CRLF
constexpr std::string_view word_prefix = "=?UTF-8?B?";
constexpr std::string_view word_suffix = "?=";
constexpr std::string_view fold = "\r\n ";

bool is_printable_ascii(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

bool is_ascii(std::string_view s) {
  for (const char ch : s)
    if (static_cast<unsigned char>(ch) >= 0x80) return false;
  return true;
}

// Length of the UTF-8 character starting at s[i]. Broken sequences count as one byte each, so
// the encoder still makes progress and never splits more than it must.
std::size_t utf8_char_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4;
  if (i + n > s.size()) return 1;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}

// Bytes of payload whose base64 fits in an encoded word occupying at most `room` characters.
std::size_t payload_bytes_for(std::size_t room) {
  const std::size_t overhead = word_prefix.size() + word_suffix.size();
  if (room <= overhead) return 0;
  return (room - overhead) / 4 * 3;
}

// Length of the last physical line of s (text after the last CRLF).
std::size_t last_line_length(std::string_view s) {
  const auto nl = s.rfind('\n');
  return nl == std::string_view::npos ? s.size() : s.size() - nl - 1;
}

std::size_t first_line_length(std::string_view s) {
  const auto cr = s.find('\r');
  return cr == std::string_view::npos ? s.size() : cr;
}

// Plain ASCII folded at spaces so lines stay short where words allow it; folding is invisible
// after unfolding (RFC 5322 §2.2.3), so the value is unchanged for readers.
std::string fold_ascii(std::string_view text, std::size_t column) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    // The next chunk is a run of spaces and the word after it.
    std::size_t j = i;
    while (j < text.size() && text[j] == ' ') ++j;
    const std::size_t spaces = j - i;
    while (j < text.size() && text[j] != ' ') ++j;
    const std::string_view chunk = text.substr(i, j - i);
    if (spaces > 0 && !out.empty() && column + chunk.size() > max_header_line) {
      out += "\r\n";
      column = 0;
    }
    out += chunk;
    column += chunk.size();
    i = j;
  }
  return out;
}

bool needs_encoding(std::string_view text, std::size_t header_name_length) {
  if (!is_printable_ascii(text)) return true;
  // Plain text that looks like an encoded word would be decoded by readers.
  if (text.find("=?") != std::string_view::npos) return true;
  // A word too long to fold within SMTP's line limit can only be carried encoded.
  // The first word shares its line with the header name; later ones start after a fold's space.
  std::size_t run = 0;
  const std::size_t lead = std::max<std::size_t>(header_name_length, 1);
  for (const char c : text) {
    run = c == ' ' ? 0 : run + 1;
    if (run + lead > max_smtp_line) return true;
  }
  return false;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

// A CR or LF in a caller's value would start a new header line (header injection).
std::string single_line(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

// "Name <addr>" with a non-ASCII name gets the name RFC 2047-encoded; anything else is kept.
std::string encode_address(std::string_view address, std::size_t column) {
  const std::string a = trim(single_line(address));
  const auto lt = a.rfind('<');
  if (lt == std::string::npos || a.empty() || a.back() != '>' || lt == 0) return a;
  std::string name = trim(std::string_view(a).substr(0, lt));
  if (name.empty() || is_ascii(name)) return a;
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    // Quoted-string: drop the quotes and quoted-pair backslashes, the encoded word carries the text.
    std::string unquoted;
    for (std::size_t i = 1; i + 1 < name.size(); ++i) {
      if (name[i] == '\\' && i + 2 < name.size()) ++i;
      unquoted += name[i];
    }
    name = unquoted;
  }
  std::string encoded = encode_header_value(name, column);
  const std::string angle_addr = a.substr(lt);
  if (last_line_length(encoded) + 1 + angle_addr.size() > max_header_line && !encoded.empty()) {
    encoded += fold;
  } else {
    encoded += ' ';
  }
  return encoded + angle_addr;
}

// "Name: a, b, c" folded between addresses.
std::string address_header(std::string_view name, const std::vector<std::string>& addresses) {
  std::string line(name);
  line += ": ";
  std::size_t column = line.size();
  bool first = true;
  for (const auto& address : addresses) {
    std::string item;
    if (first) {
      item = encode_address(address, column);
    } else {
      line += ',';
      ++column;
      item = encode_address(address, column + 1);
      // An item that would itself start with a fold means its first word does not fit here either.
      if (item.starts_with("\r\n") || column + 1 + first_line_length(item) > max_header_line) {
        line += "\r\n";
        column = 0;
        item = encode_address(address, column + 1);
      }
      line += ' ';
    }
    line += item;
    column = last_line_length(line);
    first = false;
  }
  line += "\r\n";
  return line;
}

std::string domain_of(std::string_view from) {
  std::string_view a = from;
  if (const auto lt = a.rfind('<'); lt != std::string_view::npos) {
    a = a.substr(lt + 1);
    if (const auto gt = a.find('>'); gt != std::string_view::npos) a = a.substr(0, gt);
  }
  const auto at = a.rfind('@');
  if (at == std::string_view::npos) return "postern.invalid";
  std::string domain = trim(a.substr(at + 1));
  // Only a plain host name goes into the Message-ID; anything else could break its syntax.
  bool ok = !domain.empty();
  for (const char c : domain) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.') ok = false;
  }
  return ok ? domain : "postern.invalid";
}

std::string random_hex(std::size_t bytes) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  while (out.size() < bytes * 2) {
    auto v = rd();
    for (int k = 0; k < 8 && out.size() < bytes * 2; ++k, v >>= 4) out += hex[v & 0xF];
  }
  return out;
}

struct body_shape {
  bool ascii = true;
  bool needs_qp = false;  // a line over 998 octets, a NUL or a bare CR
};

body_shape inspect_body(std::string_view text) {
  body_shape shape;
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) shape.ascii = false;
    if (c == 0) shape.needs_qp = true;
    if (c == '\n') {
      line = 0;
      continue;
    }
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') continue;
      shape.needs_qp = true;
    }
    if (++line > max_smtp_line) shape.needs_qp = true;
  }
  return shape;
}

// LF and CRLF become CRLF; bare CRs stay (they force quoted-printable, which escapes them).
std::string normalise_line_ends(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

}  // namespace

std::string encode_header_value(std::string_view utf8, std::size_t header_name_length) {
  if (!needs_encoding(utf8, header_name_length)) return fold_ascii(utf8, header_name_length);
  std::string out;
  std::size_t room = max_header_line > header_name_length ? max_header_line - header_name_length : 0;
  room = std::min(room, max_encoded_word);
  std::size_t i = 0;
  while (i < utf8.size()) {
    const std::size_t budget = payload_bytes_for(room);
    std::size_t n = 0;
    while (i + n < utf8.size()) {
      const std::size_t len = utf8_char_length(utf8, i + n);
      if (n + len > budget) break;
      n += len;
    }
    if (n == 0 && room < max_encoded_word) {
      // Not even one character fits after a long header name: start on a continuation line.
      out += fold;
      room = max_encoded_word;
      continue;
    }
    if (n == 0) n = utf8_char_length(utf8, i);  // unreachable: 45 bytes hold any character
    if (!out.empty() && !out.ends_with(fold)) out += fold;
    out += word_prefix;
    out += base64_encode(utf8.substr(i, n));
    out += word_suffix;
    i += n;
    room = max_encoded_word;  // continuation lines start with one space: 1 + 75 = 76
  }
  return out;
}

std::string format_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> weekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const weekday wd{day};
  const hh_mm_ss<seconds> tod{secs - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %u %s %04d %02d:%02d:%02d +0000", weekdays[wd.c_encoding()],
                static_cast<unsigned>(ymd.day()), months[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()));
  return buf;
}

std::string generate_message_id(std::string_view from) {
  return "<" + random_hex(16) + "@" + domain_of(from) + ">";
}

std::string build(const simple_message& m) { return build(m, build_options{}); }

std::string build(const simple_message& m, const build_options& options) {
  std::string out;
  out += "Date: " + format_date(m.date.value_or(std::chrono::system_clock::now())) + "\r\n";
  out += address_header("From", {m.from});
  out += address_header("To", m.to);
  if (!m.cc.empty()) out += address_header("Cc", m.cc);
  out += "Subject: " + encode_header_value(m.subject, 9) + "\r\n";
  std::string id = trim(single_line(m.message_id));
  if (id.empty())
    id = generate_message_id(m.from);
  else if (id.front() != '<')
    id = "<" + id + ">";
  out += "Message-ID: " + id + "\r\n";
  out += "MIME-Version: 1.0\r\n";

  const body_shape shape = inspect_body(m.text);
  out += shape.ascii ? "Content-Type: text/plain; charset=us-ascii\r\n"
                     : "Content-Type: text/plain; charset=utf-8\r\n";
  std::string body;
  if (shape.needs_qp || (!shape.ascii && !options.allow_8bit)) {
    out += "Content-Transfer-Encoding: quoted-printable\r\n";
    body = quoted_printable_encode(m.text);
  } else {
    out += shape.ascii ? "Content-Transfer-Encoding: 7bit\r\n" : "Content-Transfer-Encoding: 8bit\r\n";
    body = normalise_line_ends(m.text);
  }
  out += "\r\n";
  out += body;
  // The SMTP layer appends "." on its own line; the message itself must end with a line end.
  if (!body.empty() && !body.ends_with("\r\n")) out += "\r\n";
  return out;
}

}  // namespace postern::mime
