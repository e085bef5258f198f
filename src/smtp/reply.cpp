#include "postern/smtp/reply.hpp"

#include <algorithm>
#include <utility>

namespace postern::smtp {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads 1-3 digits at text[pos]; RFC 3463 bounds subject and detail to three digits.
bool read_number(std::string_view text, std::size_t& pos, int& out) noexcept {
  std::size_t start = pos;
  int value = 0;
  while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) {
    value = value * 10 + (text[pos] - '0');
    ++pos;
  }
  if (pos == start) return false;
  out = value;
  return true;
}

}  // namespace

std::string enhanced_status::to_string() const {
  return std::to_string(klass) + '.' + std::to_string(subject) + '.' + std::to_string(detail);
}

std::string reply::one_line() const {
  std::string s = std::to_string(code);
  for (std::size_t i = 0; i < lines.size(); ++i) s += (i ? " / " : " ") + lines[i];
  return s;
}

std::string escape_bytes(std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u >= 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string reply::to_string() const {
  std::string out;
  const std::string code_text = std::to_string(code);
  if (lines.empty()) return code_text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    out += code_text;
    const bool last = i + 1 == lines.size();
    if (last && lines[i].empty()) continue;  // a bare "NNN" line renders as it came
    out += last ? ' ' : '-';
    out += lines[i];
  }
  return out;
}

std::optional<enhanced_status> parse_enhanced_status(std::string_view text) noexcept {
  if (text.size() < 5) return std::nullopt;
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') return std::nullopt;
  if (text[1] != '.') return std::nullopt;
  enhanced_status s;
  s.klass = text[0] - '0';
  std::size_t pos = 2;
  if (!read_number(text, pos, s.subject)) return std::nullopt;
  if (pos >= text.size() || text[pos] != '.') return std::nullopt;
  ++pos;
  if (!read_number(text, pos, s.detail)) return std::nullopt;
  // "2.0.0 Ok" or a bare "2.0.0"; "2.0.0x" or a fourth digit is ordinary text.
  if (pos < text.size() && text[pos] != ' ') return std::nullopt;
  return s;
}

reply_parser::reply_parser(reply_limits limits) : limits_(limits) {}

void reply_parser::fail(errc e, std::error_code& ec) {
  failed_ = true;
  error_ = make_error_code(e);
  ec = error_;
  offending_.assign(line_, 0, std::min(line_.size(), limits_.max_line));
  line_.clear();
  line_.shrink_to_fit();
}

void reply_parser::parse_line(std::error_code& ec) {
  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) || line[0] < '2' ||
      line[0] > '5') {
    return fail(errc::bad_reply, ec);
  }
  bool last = true;
  std::string_view text;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      return fail(errc::bad_reply, ec);
    }
    text = line.substr(4);
  }
  const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (current_.lines.empty()) {
    current_.code = code;
    current_.enhanced = parse_enhanced_status(text);
  } else if (code != current_.code) {
    return fail(errc::inconsistent_reply_code, ec);
  }
  if (current_.lines.size() >= limits_.max_lines) return fail(errc::reply_too_many_lines, ec);
  current_.lines.emplace_back(text);
  line_.clear();
  complete_ = last;
}

std::size_t reply_parser::feed(std::string_view in, std::error_code& ec) {
  if (failed_) {
    ec = error_;
    return 0;
  }
  if (complete_) return 0;
  std::size_t used = 0;
  while (used < in.size()) {
    // Look no further than the line may still grow, so a 10 MB line costs max_line octets.
    const std::size_t room = limits_.max_line > line_.size() ? limits_.max_line - line_.size() : 0;
    const std::string_view window = in.substr(used, room);
    const std::size_t lf = window.find('\n');
    if (lf == std::string_view::npos) {
      line_.append(window);
      used += window.size();
      if (line_.size() >= limits_.max_line) {
        fail(errc::reply_line_too_long, ec);
        return used;
      }
      continue;
    }
    line_.append(window.substr(0, lf));
    used += lf + 1;
    parse_line(ec);
    if (ec || complete_) return used;
  }
  return used;
}

bool reply_parser::has_reply() const noexcept { return complete_; }

reply reply_parser::take() {
  reply r = std::move(current_);
  current_ = reply{};
  complete_ = false;
  return r;
}

bool reply_parser::mid_reply() const noexcept {
  return !failed_ && !complete_ && (!line_.empty() || !current_.lines.empty());
}

const std::string& reply_parser::offending_bytes() const noexcept { return offending_; }

}  // namespace postern::smtp
