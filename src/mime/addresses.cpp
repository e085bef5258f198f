// RFC 5322 §3.4 address lists and header fields of an existing message, for `sendmail -t`.
// Pure: standard library only, no <expected> (the mime fuzz targets are built with clang 14).
#include "postern/mime/addresses.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
// Inside a field body a line break is folding white space too.
bool is_fws(char c) { return is_wsp(c) || c == '\r' || c == '\n'; }
bool is_control(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c < 0x20 || c == 0x7F;
}
// RFC 5322 §3.2.3 specials, plus the brackets and quote that start their own tokens.
bool is_special(char c) { return std::string_view("()<>[]:;@\\,.\"").find(c) != std::string_view::npos; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

enum class token_kind { atom, quoted, literal, special, bad, end };

struct token {
  token_kind kind = token_kind::end;
  std::string text;  // as it goes into the address (quotes and brackets kept); the char for specials
};

// Tokens of a field body with comments and folding white space skipped. Unterminated quoted
// strings, comments and domain literals run to the end of the text; the first two are then
// reported as bad so that nothing half-read becomes an address.
class lexer {
 public:
  explicit lexer(std::string_view s) : s_(s) {}

  token next() {
    if (!skip_cfws()) return {token_kind::bad, {}};
    if (i_ >= s_.size()) return {token_kind::end, {}};
    const char c = s_[i_];
    if (c == '"') return delimited('"', token_kind::quoted);
    if (c == '[') return delimited(']', token_kind::literal);
    if (is_special(c)) {
      ++i_;
      return {token_kind::special, std::string(1, c)};
    }
    if (is_control(c)) {
      ++i_;
      return {token_kind::bad, {}};
    }
    const std::size_t start = i_;
    while (i_ < s_.size() && !is_fws(s_[i_]) && !is_special(s_[i_]) && !is_control(s_[i_])) ++i_;
    return {token_kind::atom, std::string(s_.substr(start, i_ - start))};
  }

 private:
  // White space and (nested) comments; false for an unterminated comment.
  bool skip_cfws() {
    while (i_ < s_.size()) {
      if (is_fws(s_[i_])) {
        ++i_;
      } else if (s_[i_] == '(') {
        int depth = 0;
        while (i_ < s_.size()) {
          const char c = s_[i_++];
          if (c == '\\') {
            if (i_ < s_.size()) ++i_;
          } else if (c == '(') {
            ++depth;
          } else if (c == ')' && --depth == 0) {
            break;
          }
        }
        if (depth != 0) return false;
      } else {
        break;
      }
    }
    return true;
  }

  token delimited(char close, token_kind kind) {
    token t{kind, std::string(1, s_[i_++])};
    bool bad = false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '\r' || c == '\n') continue;  // unfolding inside a quoted string
      // Control characters have no place in an envelope address (RFC 5321 §4.1.2), escaped or not.
      if (is_control(c) && c != '\t') bad = true;
      t.text += c;
      if (c == '\\' && i_ < s_.size()) {
        if (is_control(s_[i_]) && s_[i_] != '\t') bad = true;
        t.text += s_[i_++];
      } else if (c == close) {
        if (bad) return {token_kind::bad, {}};
        return t;
      }
    }
    return {token_kind::bad, {}};
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

bool is(const token& t, char special) {
  return t.kind == token_kind::special && t.text.size() == 1 && t.text[0] == special;
}

// addr-spec = local-part "@" domain, with local-part = word *("." word) (obs-local-part lets
// the words be quoted strings) and domain = atom *("." atom) / domain-literal. The tokens are
// joined without the white space and comments between them.
bool addr_spec(const std::vector<token>& t, std::string& out) {
  std::size_t i = 0;
  std::string a;
  auto word = [&](bool quoted_ok) {
    if (i < t.size() && (t[i].kind == token_kind::atom || (quoted_ok && t[i].kind == token_kind::quoted))) {
      a += t[i++].text;
      return true;
    }
    return false;
  };
  if (!word(true)) return false;
  while (i < t.size() && is(t[i], '.')) {
    a += t[i++].text;
    if (!word(true)) return false;
  }
  if (i >= t.size() || !is(t[i], '@')) return false;
  a += t[i++].text;
  if (i < t.size() && t[i].kind == token_kind::literal) {
    a += t[i++].text;
  } else {
    if (!word(false)) return false;
    while (i < t.size() && is(t[i], '.')) {
      a += t[i++].text;
      if (!word(false)) return false;
    }
  }
  if (i != t.size()) return false;
  out = std::move(a);
  return true;
}

// Local part exactly, domain ignoring case (RFC 5321 §2.4).
bool same_address(std::string_view a, std::string_view b) {
  const auto at_a = a.rfind('@'), at_b = b.rfind('@');
  if (at_a != at_b) return false;
  if (at_a == std::string_view::npos) return a == b;
  return a.substr(0, at_a) == b.substr(0, at_b) && iequals(a.substr(at_a), b.substr(at_b));
}

// One physical line: [begin, content_end) without its line end, next = start of the next line.
struct line {
  std::size_t begin, content_end, next;
};

line line_at(std::string_view s, std::size_t pos) {
  const auto lf = s.find('\n', pos);
  std::size_t end = lf == std::string_view::npos ? s.size() : lf;
  const std::size_t next = lf == std::string_view::npos ? s.size() : lf + 1;
  if (end > pos && s[end - 1] == '\r') --end;
  return {pos, end, next};
}

// The field name of a line that starts a header field ("Name:" or the obsolete "Name :"), or
// an empty view for anything else (a continuation line, an mbox "From " line, garbage).
std::string_view field_name(std::string_view content) {
  const auto colon = content.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string_view name = content.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  if (name.empty()) return {};
  for (const char c : name)
    if (is_wsp(c) || is_control(c)) return {};
  return name;
}

// Calls f(name, line) for every line of the header block; name is empty for continuation
// lines and for lines that are not fields. Returns the offset where the header block ends
// (the empty line, or the end of the message).
template <class F>
std::size_t for_each_header_line(std::string_view message, F&& f) {
  std::size_t pos = 0;
  while (pos < message.size()) {
    const line l = line_at(message, pos);
    if (l.content_end == l.begin) return pos;
    const std::string_view content = message.substr(l.begin, l.content_end - l.begin);
    f(is_wsp(content.front()) ? std::string_view{} : field_name(content), l);
    pos = l.next;
  }
  return pos;
}

std::string trim(std::string_view v) {
  std::size_t b = 0, e = v.size();
  while (b < e && is_fws(v[b])) ++b;
  while (e > b && is_fws(v[e - 1])) --e;
  return std::string(v.substr(b, e - b));
}

}  // namespace

std::vector<std::string> parse_address_list(std::string_view value) {
  std::vector<std::string> out;
  lexer lex(value);
  std::vector<token> mailbox;  // tokens of the current entry outside any <...>
  std::vector<token> angle;    // tokens inside <...>
  bool have_angle = false, bad = false, in_group = false;

  auto finish = [&] {
    std::string a;
    if (!bad && addr_spec(have_angle ? angle : mailbox, a)) out.push_back(std::move(a));
    mailbox.clear();
    angle.clear();
    have_angle = bad = false;
  };

  for (token t = lex.next();; t = lex.next()) {
    if (t.kind == token_kind::end) break;
    if (t.kind == token_kind::bad) {
      bad = true;
    } else if (is(t, ',')) {
      finish();
    } else if (is(t, ';')) {
      finish();
      in_group = false;
    } else if (is(t, ':')) {
      // group = display-name ":" [mailbox-list] ";": what came before was the group's name.
      if (in_group || have_angle) {
        bad = true;
      } else {
        mailbox.clear();
        bad = false;
        in_group = true;
      }
    } else if (is(t, '<')) {
      if (have_angle) bad = true;
      have_angle = true;
      angle.clear();
      std::vector<token> inner;
      for (t = lex.next(); t.kind != token_kind::end && !is(t, '>'); t = lex.next()) {
        if (t.kind == token_kind::bad) bad = true;
        inner.push_back(std::move(t));
      }
      if (t.kind == token_kind::end) bad = true;  // "<a@x" never closed
      // obs-route "@a.example,@b.example:" before the address is dropped (RFC 5322 §4.4).
      std::size_t from = 0;
      if (!inner.empty() && is(inner.front(), '@')) {
        while (from < inner.size() && !is(inner[from], ':')) ++from;
        ++from;
      }
      for (std::size_t k = from; k < inner.size(); ++k) angle.push_back(std::move(inner[k]));
      if (t.kind == token_kind::end) break;
    } else if (!have_angle) {
      mailbox.push_back(std::move(t));
    }
    // Anything after "<addr>" up to the next separator is ignored (RFC 5322 allows only CFWS).
  }
  finish();
  return out;
}

std::vector<std::string> header_values(std::string_view message, std::string_view name) {
  std::vector<std::string> out;
  std::string current;
  bool collecting = false;
  auto flush = [&] {
    if (collecting) out.push_back(trim(current));
    current.clear();
    collecting = false;
  };
  for_each_header_line(message, [&](std::string_view field, const line& l) {
    const std::string_view content = message.substr(l.begin, l.content_end - l.begin);
    if (field.empty() && !content.empty() && is_wsp(content.front())) {
      if (collecting) current += content;  // unfolding: the line break goes, the WSP stays
      return;
    }
    flush();
    if (!field.empty() && iequals(field, name)) {
      collecting = true;
      current = content.substr(content.find(':') + 1);
    }
  });
  flush();
  return out;
}

bool has_header(std::string_view message, std::string_view name) {
  bool found = false;
  for_each_header_line(message, [&](std::string_view field, const line&) {
    if (!field.empty() && iequals(field, name)) found = true;
  });
  return found;
}

std::string remove_header(std::string_view message, std::string_view name) {
  std::string out;
  out.reserve(message.size());
  bool removing = false;
  const std::size_t body = for_each_header_line(message, [&](std::string_view field, const line& l) {
    const bool continuation = is_wsp(message[l.begin]);
    if (!continuation) removing = !field.empty() && iequals(field, name);
    if (!removing) out.append(message.substr(l.begin, l.next - l.begin));
  });
  out.append(message.substr(body));
  return out;
}

std::vector<std::string> header_addresses(std::string_view message,
                                          std::initializer_list<std::string_view> fields) {
  std::vector<std::string> out;
  for (const auto field : fields)
    for (const auto& value : header_values(message, field)) append_unique(out, parse_address_list(value));
  return out;
}

void append_unique(std::vector<std::string>& list, const std::vector<std::string>& more) {
  for (const auto& a : more) {
    bool seen = false;
    for (const auto& b : list) seen = seen || same_address(a, b);
    if (!seen) list.push_back(a);
  }
}

}  // namespace postern::mime
