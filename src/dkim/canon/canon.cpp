// RFC 6376's canonicalisations, header selection and tag lists. Pure: standard library only,
// no <expected> (fuzz_dkim_canon is built with clang 14).
#include "postern/dkim/canon.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace postern::dkim {
namespace {

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// The field name of a raw field: up to the colon, white space before the colon removed
// (RFC 5322's obsolete syntax allows it); a line without a colon is all name.
std::string_view field_name(std::string_view raw) noexcept {
  const auto colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  if (colon == std::string_view::npos) {
    // No colon: the first line, without its line end.
    const auto eol = name.find("\r\n");
    name = name.substr(0, eol);
  }
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  return name;
}

// Appends s with every run of SP/HTAB made one SP (relaxed's "reduce whitespace").
void append_reduced(std::string& out, std::string_view s) {
  bool in_wsp = false;
  for (const char c : s) {
    if (is_wsp(c)) {
      in_wsp = true;
      continue;
    }
    if (in_wsp) out += ' ';
    in_wsp = false;
    out += c;
  }
  if (in_wsp) out += ' ';
}

bool is_alpha(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// FWS inside a tag list: SP, HTAB and CRLF (a folded line); a bare CR or LF is not allowed.
std::string_view trim_fws(std::string_view s) noexcept {
  auto fws_at = [&](std::size_t i) { return is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n'; };
  std::size_t b = 0;
  while (b < s.size() && fws_at(b)) ++b;
  std::size_t e = s.size();
  while (e > b && fws_at(e - 1)) --e;
  return s.substr(b, e - b);
}

// CR and LF only as CRLF followed by white space (a fold).
bool folds_well_formed(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') return false;  // handled with its CR below
    if (s[i] == '\r') {
      if (i + 2 >= s.size() || s[i + 1] != '\n' || !is_wsp(s[i + 2])) return false;
      i += 1;
    }
  }
  return true;
}

}  // namespace

std::string_view to_string(canonicalization c) noexcept {
  return c == canonicalization::simple ? "simple" : "relaxed";
}

std::optional<canonicalization_pair> parse_canonicalization(std::string_view text) {
  auto one = [](std::string_view w) -> std::optional<canonicalization> {
    if (w == "simple") return canonicalization::simple;
    if (w == "relaxed") return canonicalization::relaxed;
    return std::nullopt;
  };
  const auto slash = text.find('/');
  const auto h = one(text.substr(0, slash));
  if (!h) return std::nullopt;
  if (slash == std::string_view::npos) return canonicalization_pair{*h, canonicalization::simple};
  const auto b = one(text.substr(slash + 1));
  if (!b) return std::nullopt;
  return canonicalization_pair{*h, *b};
}

std::string to_string(canonicalization_pair c) {
  return std::string(to_string(c.header)) + "/" + std::string(to_string(c.body));
}

message_parts split_message(std::string_view m) {
  message_parts out;
  std::size_t pos = 0;
  std::size_t field_start = std::string_view::npos;
  auto close_field = [&](std::size_t end) {
    if (field_start == std::string_view::npos) return;
    const std::string_view raw = m.substr(field_start, end - field_start);
    out.headers.push_back({field_name(raw), raw});
    field_start = std::string_view::npos;
  };
  while (pos < m.size()) {
    const auto eol = m.find("\r\n", pos);
    const std::size_t next = eol == std::string_view::npos ? m.size() : eol + 2;
    if (eol == pos) {  // the empty line: the body follows it
      close_field(pos);
      out.body = m.substr(next);
      return out;
    }
    // A continuation line belongs to the field before it (a leading one starts a nameless field).
    if (!is_wsp(m[pos]) || field_start == std::string_view::npos) {
      close_field(pos);
      field_start = pos;
    }
    pos = next;
  }
  close_field(m.size());
  return out;
}

std::string canonicalize_header(std::string_view raw, canonicalization c) {
  std::string out;
  if (c == canonicalization::simple) {
    out.assign(raw);
    if (!out.ends_with("\r\n")) out += "\r\n";
    return out;
  }
  out.reserve(raw.size() + 2);
  const auto colon = raw.find(':');
  const std::string_view name = field_name(raw);
  for (const char ch : name) out += lower(ch);
  if (colon == std::string_view::npos) {
    out += "\r\n";
    return out;
  }
  out += ':';
  // Unfold: the value without any CR or LF (RFC 6376 §3.4.2 removes the CRLFs of folds; a
  // CR or LF left over is not part of a well-formed field either way).
  std::string value;
  for (const char ch : raw.substr(colon + 1))
    if (ch != '\r' && ch != '\n') value += ch;
  std::string_view v = value;
  while (!v.empty() && is_wsp(v.front())) v.remove_prefix(1);
  while (!v.empty() && is_wsp(v.back())) v.remove_suffix(1);
  append_reduced(out, v);
  out += "\r\n";
  return out;
}

std::string canonicalize_body(std::string_view body, canonicalization c) {
  std::string out;
  out.reserve(body.size() + 2);
  // Empty lines are held back until a non-empty line shows they are not trailing.
  std::size_t pending_empty = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto eol = body.find("\r\n", pos);
    std::string_view line =
        body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? body.size() : eol + 2;
    std::string reduced;
    if (c == canonicalization::relaxed) {
      while (!line.empty() && is_wsp(line.back())) line.remove_suffix(1);
      append_reduced(reduced, line);
      line = reduced;
    }
    if (line.empty()) {
      ++pending_empty;
      continue;
    }
    for (; pending_empty > 0; --pending_empty) out += "\r\n";
    out += line;
    out += "\r\n";  // also for a last line without one (§3.4.3, §3.4.4)
  }
  if (out.empty() && c == canonicalization::simple) out = "\r\n";
  return out;
}

std::vector<header_field> select_headers(const std::vector<header_field>& headers,
                                         const std::vector<std::string>& names) {
  std::vector<header_field> out;
  std::vector<bool> taken(headers.size(), false);
  for (const auto& n : names) {
    for (std::size_t i = headers.size(); i-- > 0;) {
      if (!taken[i] && iequals(headers[i].name, n)) {
        taken[i] = true;
        out.push_back(headers[i]);
        break;
      }
    }
  }
  return out;
}

const std::vector<std::string>& default_header_names() {
  static const std::vector<std::string> names{"From",
                                              "Sender",
                                              "Reply-To",
                                              "Subject",
                                              "Date",
                                              "Message-ID",
                                              "To",
                                              "Cc",
                                              "MIME-Version",
                                              "Content-Type",
                                              "Content-Transfer-Encoding",
                                              "Content-Disposition",
                                              "In-Reply-To",
                                              "References",
                                              "List-Id",
                                              "List-Unsubscribe",
                                              "List-Unsubscribe-Post"};
  return names;
}

std::size_t count_headers(const std::vector<header_field>& headers, std::string_view name) {
  return static_cast<std::size_t>(std::count_if(
      headers.begin(), headers.end(), [&](const header_field& h) { return iequals(h.name, name); }));
}

std::vector<std::string> signed_header_list(const std::vector<header_field>& headers,
                                            const std::vector<std::string>& wanted,
                                            const std::vector<std::string>& oversign) {
  std::vector<std::string> out;
  std::vector<std::string> seen;
  for (const auto& w : wanted) {
    // A name listed twice in wanted still covers each instance once.
    if (std::any_of(seen.begin(), seen.end(), [&](const std::string& s) { return iequals(s, w); })) continue;
    seen.push_back(w);
    for (std::size_t n = count_headers(headers, w); n > 0; --n) out.push_back(w);
  }
  for (const auto& o : oversign) out.push_back(o);
  return out;
}

std::optional<std::vector<tag>> parse_tag_list(std::string_view text) {
  std::vector<tag> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto semi = text.find(';', pos);
    const std::string_view spec =
        text.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
    pos = semi == std::string_view::npos ? text.size() + 1 : semi + 1;
    if (!folds_well_formed(spec)) return std::nullopt;
    const std::string_view trimmed = trim_fws(spec);
    if (trimmed.empty()) {
      // Only the last spec may be empty (a trailing ';'), or the whole list.
      if (semi == std::string_view::npos) break;
      return std::nullopt;
    }
    const auto eq = trimmed.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = trim_fws(trimmed.substr(0, eq));
    const std::string_view value = trim_fws(trimmed.substr(eq + 1));
    if (name.empty() || !is_alpha(name.front())) return std::nullopt;
    for (const char c : name)
      if (!is_alpha(c) && !is_digit(c) && c != '_') return std::nullopt;
    for (const char c : value) {
      const auto u = static_cast<unsigned char>(c);
      const bool valchar = u >= 0x21 && u <= 0x7E && c != ';';
      if (!valchar && !is_wsp(c) && c != '\r' && c != '\n') return std::nullopt;
    }
    if (std::any_of(out.begin(), out.end(), [&](const tag& t) { return t.name == name; }))
      return std::nullopt;
    out.push_back({std::string(name), std::string(value)});
  }
  return out;
}

std::optional<std::string> find_tag(const std::vector<tag>& tags, std::string_view name) {
  for (const auto& t : tags)
    if (t.name == name) return t.value;
  return std::nullopt;
}

bool valid_domain(std::string_view name) noexcept {
  if (name.empty() || name.size() > 253) return false;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    const auto dot = name.find('.', pos);
    const std::string_view label =
        name.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label)
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return true;
}

bool valid_field_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E || c == ':') return false;
  }
  return true;
}

}  // namespace postern::dkim
