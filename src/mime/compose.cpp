// MIME message building: structure, transfer encodings, header and parameter encoding.
// Pure: standard library only, no <expected> (the mime fuzz targets are built with clang 14).
#include "postern/mime/compose.hpp"

#include <algorithm>
#include <array>
#include <random>

#include "postern/mime/addresses.hpp"
#include "postern/mime/message.hpp"

namespace postern::mime {
namespace {

constexpr std::size_t max_line = 998;   // RFC 5322 §2.1.1, without CRLF
constexpr std::size_t fold_width = 76;  // where we fold header fields and base64
constexpr std::string_view hex = "0123456789ABCDEF";

bool is_ascii(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// An error message quotes the input on one line: a control character shows as \r, \n, \xNN.
std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (u < 0x20 || u == 0x7F) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7F;
  });
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 5322 atext, plus UTF-8 octets (RFC 6532).
bool is_atext(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(ch) != std::string_view::npos;
}

bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
      continue;
    }
    if (!is_atext(s[i])) return false;
  }
  return true;
}

bool is_quoted_local(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '\\') {
      if (i + 2 >= s.size()) return false;
      ++i;
    } else if (s[i] == '"') {
      return false;
    }
  }
  return true;
}

bool is_domain(std::string_view d) {
  if (d.size() >= 2 && d.front() == '[' && d.back() == ']')
    return d.find_first_of("[]\\ ", 1) == d.size() - 1;
  if (d.empty() || d.size() > 255 || d.front() == '.' || d.back() == '.') return false;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const auto c = static_cast<unsigned char>(d[i]);
    const bool ok = c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || (c == '.' && d[i + 1] != '.');
    if (!ok) return false;
  }
  return true;
}

bool is_addr_spec(std::string_view a) {
  if (a.size() > 254) return false;
  const auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  const std::string_view local = a.substr(0, at);
  return (is_dot_atom(local) || is_quoted_local(local)) && is_domain(a.substr(at + 1));
}

std::string random_token(std::size_t hex_digits) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  while (out.size() < hex_digits) {
    auto v = rd();
    for (int k = 0; k < 8 && out.size() < hex_digits; ++k, v >>= 4) out += digits[v & 0xF];
  }
  return out;
}

// A display name as a phrase: atoms as they are, specials quoted, UTF-8 as RFC 2047 words.
std::string render_display_name(std::string_view name, std::size_t column) {
  if (!is_ascii(name) || name.find("=?") != std::string_view::npos) return encode_header_value(name, column);
  bool atoms = true;
  for (const char c : name)
    if (!is_atext(c) && c != ' ') atoms = false;
  if (atoms) return std::string(name);
  std::string q = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

struct rendered_address {
  std::string text;
  std::string address;  // the addr-spec as used in the header
};

// Folds "Name: item, item" between items so each line stays within fold_width where possible.
std::string address_field(std::string_view field, const std::vector<rendered_address>& items) {
  std::string out(field);
  out += ": ";
  std::size_t column = out.size();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& t = items[i].text;
    const auto nl = t.find('\n');
    const std::size_t first = nl == std::string::npos ? t.size() : nl;
    if (i > 0) {
      out += ',';
      ++column;
      if (column + 1 + first > fold_width) {
        out += "\r\n";
        column = 0;
      }
      out += ' ';
      ++column;
    }
    out += t;
    const auto last_nl = out.rfind('\n');
    column = last_nl == std::string::npos ? out.size() : out.size() - last_nl - 1;
  }
  return out + "\r\n";
}

bool needs_quoting(std::string_view v) {
  if (v.empty()) return true;
  // RFC 2045 tspecials and white space force a quoted-string.
  return v.find_first_of("()<>@,;:\\\"/[]?= \t") != std::string_view::npos;
}

std::string quoted(std::string_view v) {
  std::string q = "\"";
  for (const char c : v) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

// Text part encoding: what the content needs, never more.
struct text_shape {
  bool ascii = true;
  bool long_line = false;   // over 998 octets
  bool raw_octets = false;  // NUL or a bare CR: only quoted-printable carries them
};

text_shape inspect(std::string_view t) {
  text_shape s;
  std::size_t line = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c >= 0x80) s.ascii = false;
    if (c == 0) s.raw_octets = true;
    if (c == '\n') {
      line = 0;
      continue;
    }
    if (c == '\r') {
      if (i + 1 < t.size() && t[i + 1] == '\n') continue;
      s.raw_octets = true;
    }
    if (++line > max_line) s.long_line = true;
  }
  return s;
}

std::string crlf(std::string_view t) {
  std::string out;
  out.reserve(t.size() + t.size() / 32 + 2);
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\n' && (i == 0 || t[i - 1] != '\r')) out += '\r';
    out += t[i];
  }
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  return out;
}

struct part {
  std::string header;  // its header fields, each ending in CRLF
  std::string body;    // ends in CRLF (or is empty)
  std::vector<part> children;
  std::string boundary;  // multiparts only
};

part text_part(std::string_view subtype, std::string_view text, bool allow_8bit) {
  const text_shape s = inspect(text);
  part p;
  p.header =
      "Content-Type: text/" + std::string(subtype) + "; charset=" + (s.ascii ? "us-ascii" : "utf-8") + "\r\n";
  if (s.raw_octets || s.long_line || (!s.ascii && !allow_8bit)) {
    p.header += "Content-Transfer-Encoding: quoted-printable\r\n";
    p.body = quoted_printable_encode(text);
    if (!p.body.empty() && !p.body.ends_with("\r\n")) p.body += "\r\n";
  } else {
    p.header += std::string("Content-Transfer-Encoding: ") + (s.ascii ? "7bit" : "8bit") + "\r\n";
    p.body = crlf(text);
  }
  return p;
}

// RFC 2047 B-words of whole UTF-8 characters (at most 45 octets each), one per folded line.
std::string encoded_words(std::string_view v) {
  std::string out;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t n = 0;
    while (i + n < v.size()) {
      std::size_t len = 1;
      const auto c = static_cast<unsigned char>(v[i + n]);
      if (c >= 0xF0)
        len = 4;
      else if (c >= 0xE0)
        len = 3;
      else if (c >= 0xC0)
        len = 2;
      if (n + len > 45) break;
      n += len;
    }
    if (n == 0) n = std::min<std::size_t>(4, v.size() - i);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64_encode(v.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

std::string base64_lines(std::string_view data) {
  const std::string b = base64_encode(data);
  std::string out;
  out.reserve(b.size() + b.size() / fold_width * 2 + 2);
  for (std::size_t i = 0; i < b.size(); i += fold_width) {
    out.append(b, i, fold_width);
    out += "\r\n";
  }
  return out;
}

part file_part(const attachment& a, bool is_inline) {
  part p;
  std::string type = std::string(trim(a.content_type));
  if (type.empty()) type = "application/octet-stream";
  p.header = "Content-Type: " + type;
  if (!a.filename.empty()) {
    // name= for readers that predate RFC 2231 (RFC 2047 words, as they expect it): plain when
    // short printable ASCII, else encoded words on their own continuation lines.
    const bool plain = is_ascii(a.filename) && !has_control(a.filename) && a.filename.size() <= 60 &&
                       a.filename.find("=?") == std::string::npos;
    std::string old = plain ? (needs_quoting(a.filename) ? quoted(a.filename) : a.filename)
                            : "\"" + encoded_words(a.filename) + "\"";
    p.header += ";\r\n name=" + old;
  }
  p.header += "\r\nContent-Transfer-Encoding: base64\r\n";
  if (!a.content_id.empty()) p.header += "Content-ID: <" + a.content_id + ">\r\n";
  p.header += std::string("Content-Disposition: ") + (is_inline ? "inline" : "attachment");
  if (!a.filename.empty()) p.header += ";\r\n " + rfc2231_parameter("filename", a.filename);
  p.header += "\r\n";
  p.body = base64_lines(a.data);
  return p;
}

part multipart(std::string_view subtype, std::vector<part> children, std::string_view extra = {}) {
  part p;
  p.header = "Content-Type: multipart/" + std::string(subtype);
  if (!extra.empty()) p.header += "; " + std::string(extra);
  p.children = std::move(children);
  return p;
}

bool contains_anywhere(const part& p, std::string_view token) {
  if (p.header.find(token) != std::string::npos || p.body.find(token) != std::string::npos) return true;
  return std::any_of(p.children.begin(), p.children.end(),
                     [&](const part& c) { return contains_anywhere(c, token); });
}

// Boundaries: random, and checked against every byte of the content so none can occur in it.
void assign_boundaries(part& p, const part& root, int& counter) {
  if (p.children.empty()) return;
  for (;;) {
    std::string b = "=_postern_" + std::to_string(counter) + "_" + random_token(24);
    if (!contains_anywhere(root, b)) {
      p.boundary = std::move(b);
      break;
    }
  }
  ++counter;
  p.header += ";\r\n boundary=\"" + p.boundary + "\"\r\n";
  for (auto& c : p.children) assign_boundaries(c, root, counter);
}

void serialise(const part& p, std::string& out, bool top) {
  if (!top) out += p.header;
  out += "\r\n";
  if (p.children.empty()) {
    out += p.body;
    return;
  }
  out += "This is a multi-part message in MIME format.\r\n";
  for (const auto& c : p.children) {
    out += "\r\n--" + p.boundary + "\r\n";
    serialise(c, out, false);
  }
  out += "\r\n--" + p.boundary + "--\r\n";
}

}  // namespace

std::optional<mailbox> parse_mailbox(std::string_view text) {
  text = trim(text);
  if (text.empty() || has_control(text) || text.find('\t') != std::string_view::npos) return std::nullopt;
  mailbox m;
  if (text.back() == '>') {
    const auto lt = text.rfind('<');
    if (lt == std::string_view::npos) return std::nullopt;
    std::string_view name = trim(text.substr(0, lt));
    const std::string_view addr = text.substr(lt + 1, text.size() - lt - 2);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      for (std::size_t i = 1; i + 1 < name.size(); ++i) {
        if (name[i] == '\\' && i + 2 < name.size())
          ++i;
        else if (name[i] == '"')
          return std::nullopt;
        m.display_name += name[i];
      }
    } else {
      // An unquoted phrase: words and spaces; specials other than "." would change the meaning.
      if (name.find_first_of("<>\"@,;:\\[]()") != std::string_view::npos) return std::nullopt;
      m.display_name = std::string(name);
    }
    if (!is_addr_spec(addr)) return std::nullopt;
    m.address = std::string(addr);
    return m;
  }
  if (!is_addr_spec(text)) return std::nullopt;
  m.address = std::string(text);
  return m;
}

std::optional<header_field> parse_header_field(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 76) return std::nullopt;
  const std::string_view name = text.substr(0, colon);
  for (const char c : name)
    if (c <= ' ' || c >= 0x7F || c == ':') return std::nullopt;
  const std::string_view value = trim(text.substr(colon + 1));
  for (const char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return std::nullopt;
  if (has_control(value)) return std::nullopt;
  return header_field{std::string(name), std::string(value)};
}

bool is_reserved_header(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 10> reserved = {
      "from", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "mime-version", "sender"};
  if (name.size() >= 8 && iequals(name.substr(0, 8), "content-")) return true;
  return std::any_of(reserved.begin(), reserved.end(), [&](std::string_view r) { return iequals(name, r); });
}

std::optional<attachment_spec> parse_attachment_spec(std::string_view text, std::string* problem) {
  auto fail = [&](std::string why) -> std::optional<attachment_spec> {
    if (problem) *problem = std::move(why);
    return std::nullopt;
  };
  if (has_control(text)) return fail("it contains a control character");
  attachment_spec s;
  const auto semi = text.find(';');
  s.path = std::string(trim(text.substr(0, semi)));
  if (s.path.empty()) return fail("no file given");
  std::string_view rest = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
  bool seen_type = false, seen_name = false, seen_cid = false;
  while (semi != std::string_view::npos) {
    const auto next = rest.find(';');
    const std::string_view item = trim(rest.substr(0, next));
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return fail("'" + std::string(item) + "' is not key=value");
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view value = trim(item.substr(eq + 1));
    if (value.empty()) return fail("'" + std::string(key) + "' has no value");
    if (iequals(key, "type")) {
      if (seen_type) return fail("type= given twice");
      seen_type = true;
      const auto slash = value.find('/');
      if (slash == std::string_view::npos || slash == 0 || slash + 1 == value.size() ||
          value.find_first_of(" \"<>@,:\\[]?=()") != std::string_view::npos)
        return fail("type '" + std::string(value) + "' is not type/subtype");
      s.content_type = std::string(value);
    } else if (iequals(key, "name")) {
      if (seen_name) return fail("name= given twice");
      seen_name = true;
      s.filename = std::string(value);
    } else if (iequals(key, "cid")) {
      if (seen_cid) return fail("cid= given twice");
      seen_cid = true;
      // The ID goes between <> in Content-ID: dot-atom text only.
      if (!is_dot_atom(std::string(value)) && !is_addr_spec(value))
        return fail("cid '" + std::string(value) + "' is not a plain ID (letters, digits, . - _ @)");
      if (!is_ascii(value)) return fail("cid '" + std::string(value) + "' is not ASCII");
      s.content_id = std::string(value);
    } else {
      return fail("unknown key '" + std::string(key) + "' (type, name, cid)");
    }
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return s;
}

std::string rfc2231_parameter(std::string_view name, std::string_view v) {
  const std::string n(name);
  // Quoted only without quoted-pairs: some readers (reformime) do not undo "\\" escapes.
  if (is_ascii(v) && !has_control(v) && v.find_first_of("\"\\") == std::string_view::npos &&
      v.size() + n.size() + 3 <= 70)
    return n + "=" + quoted(v);
  // RFC 2231 §4: charset'language'percent-encoded; attribute-char is a token char but not *'%.
  std::string enc;
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos;
    if (plain) {
      enc += ch;
    } else {
      enc += '%';
      enc += hex[c >> 4];
      enc += hex[c & 0x0F];
    }
  }
  enc.insert(0, "UTF-8''");
  if (enc.size() + n.size() + 2 <= 70) return n + "*=" + enc;
  std::string out;
  std::size_t i = 0;
  for (int k = 0; i < enc.size(); ++k) {
    std::size_t len = std::min<std::size_t>(60, enc.size() - i);
    // Never split a %XX triplet.
    if (i + len < enc.size()) {
      if (enc[i + len - 1] == '%')
        len -= 1;
      else if (len >= 2 && enc[i + len - 2] == '%')
        len -= 2;
    }
    if (!out.empty()) out += ";\r\n ";
    out += n + "*" + std::to_string(k) + "*=" + enc.substr(i, len);
    i += len;
  }
  return out;
}

composed compose(const message& m, const compose_options& options) {
  composed c;
  auto fail = [&](std::string code, std::string why) {
    c.error_code = std::move(code);
    c.error = std::move(why);
    c.content.clear();
    return c;
  };

  // Addresses: parse all of them first, so a bad one stops everything before any byte is built.
  auto render = [&](const std::string& text, std::size_t column) -> std::optional<rendered_address> {
    auto mb = parse_mailbox(text);
    if (!mb) return std::nullopt;
    std::string addr = mb->address;
    const auto at = addr.rfind('@');
    const std::string local = addr.substr(0, at), domain = addr.substr(at + 1);
    if (options.domain_to_ascii && is_ascii(local) && !is_ascii(domain)) {
      auto a = options.domain_to_ascii(domain);
      if (!a) return std::nullopt;
      addr = local + "@" + *a;
    }
    rendered_address r;
    r.address = mb->address;
    if (mb->display_name.empty())
      r.text = addr;
    else
      r.text = render_display_name(mb->display_name, column) + " <" + addr + ">";
    return r;
  };
  auto render_all = [&](std::string_view field, const std::vector<std::string>& list,
                        std::vector<rendered_address>& out) -> bool {
    for (const auto& a : list) {
      auto r = render(a, field.size() + 2);
      if (!r) {
        fail("message.bad-address",
             std::string(field) + ": '" + printable(a) + "' is not an address (Name <user@domain>)");
        return false;
      }
      out.push_back(std::move(*r));
    }
    return true;
  };
  std::vector<rendered_address> from, to, cc, bcc, reply_to;
  if (m.from.empty()) return fail("message.bad-address", "From: no sender given");
  if (!render_all("From", {m.from}, from)) return c;
  if (!render_all("To", m.to, to) || !render_all("Cc", m.cc, cc) || !render_all("Bcc", m.bcc, bcc) ||
      !render_all("Reply-To", m.reply_to, reply_to))
    return c;
  if (to.empty() && cc.empty() && bcc.empty()) return fail("message.bad-address", "no recipient given");

  for (const auto& h : m.headers) {
    auto checked = parse_header_field(h.name + ": " + h.value);
    if (!checked || checked->name != h.name)
      return fail("message.bad-header", "header '" + h.name + "' is not 'Name: value' on one line");
    if (is_reserved_header(h.name))
      return fail("message.bad-header", "header '" + h.name + "' is written by postern; use its own option");
  }
  // A Subject with a line break would be a header injection once decoded (RFC 2047 keeps the
  // wire safe, not the reader): refused like any other header value.
  if (has_control(m.subject))
    return fail("message.bad-header", "the subject has a line break or control character");
  for (const auto* list : {&m.inline_parts, &m.attachments})
    for (const auto& p : *list)
      if (has_control(p.content_type) || has_control(p.content_id) ||
          p.content_id.find_first_of("<> ") != std::string::npos)
        return fail("message.bad-header",
                    "a part's content type or content ID has a line break or control character");
  for (const auto& p : m.inline_parts) {
    if (p.content_id.empty())
      return fail("usage",
                  "an inline part (" + (p.filename.empty() ? "unnamed" : p.filename) + ") needs a cid");
    if (!m.html) return fail("usage", "inline parts are referenced from HTML: give --html or --html-file");
  }

  // The body tree.
  std::optional<part> text, html;
  if (m.text) text = text_part("plain", *m.text, options.allow_8bit);
  if (m.html) {
    html = text_part("html", *m.html, options.allow_8bit);
    if (!m.inline_parts.empty()) {
      std::vector<part> related{std::move(*html)};
      for (const auto& p : m.inline_parts) related.push_back(file_part(p, true));
      html = multipart("related", std::move(related), "type=\"text/html\"");
    }
  }
  part body;
  if (text && html)
    body = multipart("alternative", {std::move(*text), std::move(*html)});
  else if (html)
    body = std::move(*html);
  else
    body = text ? std::move(*text) : text_part("plain", "", false);
  if (!m.attachments.empty()) {
    std::vector<part> mixed{std::move(body)};
    for (const auto& a : m.attachments) mixed.push_back(file_part(a, false));
    body = multipart("mixed", std::move(mixed));
  }
  int counter = 0;
  assign_boundaries(body, body, counter);

  // The header.
  std::string& out = c.content;
  out += "Date: " + format_date(m.date.value_or(std::chrono::system_clock::now())) + "\r\n";
  out += address_field("From", from);
  if (!to.empty()) out += address_field("To", to);
  if (!cc.empty()) out += address_field("Cc", cc);
  if (!reply_to.empty()) out += address_field("Reply-To", reply_to);
  out += "Subject: " + encode_header_value(m.subject, 9) + "\r\n";
  std::string id(trim(m.message_id));
  if (id.find_first_of("\r\n") != std::string::npos)
    return fail("message.bad-header", "Message-ID has a line break");
  if (id.empty())
    id = generate_message_id(from.front().address);
  else if (id.front() != '<')
    id = "<" + id + ">";
  out += "Message-ID: " + id + "\r\n";
  for (const auto& h : m.headers)
    out += h.name + ": " + encode_header_value(h.value, h.name.size() + 2) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += body.header;
  serialise(body, out, true);

  c.envelope_from = from.front().address;
  for (const auto* list : {&to, &cc, &bcc}) {
    std::vector<std::string> addrs;
    for (const auto& r : *list) addrs.push_back(r.address);
    append_unique(c.envelope_to, addrs);
  }
  return c;
}

}  // namespace postern::mime
