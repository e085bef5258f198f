#include "postern/smtp/capabilities.hpp"

#include <algorithm>
#include <charconv>

namespace postern::smtp {
namespace {

char to_upper(char c) noexcept { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), to_upper);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_upper(x) == to_upper(y); });
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_alnum(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 5321 ehlo-keyword: ALPHA / DIGIT, then ALPHA / DIGIT / "-". Anything else is junk.
bool valid_keyword(std::string_view k) noexcept {
  if (k.empty() || !is_alnum(k[0])) return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

// RFC 4422 sasl-mech: upper-case letters, digits, "-" and "_", at most 20 characters.
bool valid_mechanism(std::string_view m) noexcept {
  if (m.empty() || m.size() > 20) return false;
  return std::all_of(m.begin(), m.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_'; });
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

}  // namespace

bool capabilities::has(std::string_view keyword) const {
  return std::any_of(keywords.begin(), keywords.end(),
                     [&](const std::string& k) { return iequals(k, keyword); });
}

bool capabilities::has_auth(std::string_view mechanism) const {
  return std::any_of(auth.begin(), auth.end(), [&](const std::string& m) { return iequals(m, mechanism); });
}

capabilities capabilities::parse(const reply& ehlo_reply) {
  capabilities caps;
  if (ehlo_reply.lines.empty()) return caps;
  if (auto first = words(ehlo_reply.lines.front()); !first.empty()) caps.domain = std::string(first.front());

  for (std::size_t i = 1; i < ehlo_reply.lines.size(); ++i) {
    auto w = words(ehlo_reply.lines[i]);
    if (w.empty()) continue;
    std::string_view keyword = w.front();
    // The pre-RFC 2554 form "AUTH=LOGIN PLAIN" (old Outlook clients needed it) lists mechanisms too.
    bool old_auth = false;
    if (keyword.size() > 5 && iequals(keyword.substr(0, 5), "AUTH=")) {
      old_auth = true;
      w.front() = keyword.substr(5);
      keyword = "AUTH";
    }
    if (!valid_keyword(keyword)) continue;
    std::string key = upper(keyword);
    add_unique(caps.keywords, key);

    if (key == "STARTTLS")
      caps.starttls = true;
    else if (key == "PIPELINING")
      caps.pipelining = true;
    else if (key == "8BITMIME")
      caps.eightbitmime = true;
    else if (key == "SMTPUTF8")
      caps.smtputf8 = true;
    else if (key == "ENHANCEDSTATUSCODES")
      caps.enhancedstatuscodes = true;
    else if (key == "DSN")
      caps.dsn = true;
    else if (key == "CHUNKING")
      caps.chunking = true;
    else if (key == "BINARYMIME")
      caps.binarymime = true;
    else if (key == "SIZE") {
      // RFC 1870: no number (or one we cannot read) means no fixed limit; never guess a bound.
      std::uint64_t value = 0;
      if (w.size() > 1) {
        auto n = w[1];
        auto [end, err] = std::from_chars(n.data(), n.data() + n.size(), value);
        if (err != std::errc{} || end != n.data() + n.size()) value = 0;
      }
      caps.size = value;
    } else if (key == "AUTH") {
      for (std::size_t j = old_auth ? 0 : 1; j < w.size(); ++j)
        if (valid_mechanism(w[j])) add_unique(caps.auth, upper(w[j]));
    }
  }
  return caps;
}

}  // namespace postern::smtp
