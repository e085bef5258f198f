// RFC 3461 DSN parameters and RFC 6533 utf-8-addr-xtext. Pure: standard library only.
#include "postern/smtp/dsn.hpp"

#include <cstdint>

namespace postern::smtp {
namespace {

constexpr std::string_view hex = "0123456789ABCDEF";

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Decodes one UTF-8 character at s[i]; a broken sequence yields its first octet as the code point.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = c;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    cp = c & 0x07;
  }
  if (i + n >= s.size() && n > 0) n = 0, cp = c;
  for (std::size_t k = 1; k <= n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) {
      n = 0;
      cp = c;
      break;
    }
    cp = (cp << 6) | (d & 0x3F);
  }
  i += n + 1;
  return cp;
}

}  // namespace

bool parse_dsn_notify(std::string_view value, dsn_request& out) {
  dsn_request d = out;
  d.notify_never = d.notify_success = d.notify_failure = d.notify_delay = false;
  value = trim(value);
  if (value.empty()) return false;
  while (!value.empty()) {
    const auto comma = value.find(',');
    const std::string_view word = trim(value.substr(0, comma));
    if (iequals(word, "never"))
      d.notify_never = true;
    else if (iequals(word, "success"))
      d.notify_success = true;
    else if (iequals(word, "failure"))
      d.notify_failure = true;
    else if (iequals(word, "delay"))
      d.notify_delay = true;
    else
      return false;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
    if (trim(value).empty()) return false;  // a trailing comma
  }
  // RFC 3461 §4.1: NEVER stands alone.
  if (d.notify_never && (d.notify_success || d.notify_failure || d.notify_delay)) return false;
  out = d;
  return true;
}

std::optional<dsn_return> parse_dsn_return(std::string_view value) {
  value = trim(value);
  if (iequals(value, "full")) return dsn_return::full;
  if (iequals(value, "hdrs")) return dsn_return::headers;
  return std::nullopt;
}

bool valid_envid(std::string_view envid) noexcept {
  if (envid.empty() || envid.size() > 100) return false;
  for (const char ch : envid) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

std::string notify_value(const dsn_request& d) {
  if (d.notify_never) return "NEVER";
  std::string out;
  auto add = [&](bool on, const char* word) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += word;
  };
  add(d.notify_success, "SUCCESS");
  add(d.notify_failure, "FAILURE");
  add(d.notify_delay, "DELAY");
  return out;
}

std::string xtext_encode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= '!' && c <= '~' && c != '+' && c != '=') {
      out += ch;
    } else {
      out += '+';
      out += hex[c >> 4];
      out += hex[c & 0x0F];
    }
  }
  return out;
}

std::string orcpt_value(std::string_view address) {
  bool ascii = true;
  for (const char ch : address)
    if (static_cast<unsigned char>(ch) >= 0x80) ascii = false;
  if (ascii) return "rfc822;" + xtext_encode(address);
  std::string out = "utf-8;";
  for (std::size_t i = 0; i < address.size();) {
    const auto c = static_cast<unsigned char>(address[i]);
    // RFC 6533 §3: QCHAR is printable ASCII except "+", "=" and "\"; the rest is \x{HEX}.
    if (c >= '!' && c <= '~' && c != '+' && c != '=' && c != '\\') {
      out += address[i];
      ++i;
      continue;
    }
    const std::uint32_t cp = next_code_point(address, i);
    std::string digits;
    for (std::uint32_t v = cp; v > 0 || digits.empty(); v >>= 4) digits.insert(digits.begin(), hex[v & 0xF]);
    if (digits.size() < 2) digits.insert(digits.begin(), '0');
    out += "\\x{" + digits + "}";
  }
  return out;
}

}  // namespace postern::smtp
