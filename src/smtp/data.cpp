#include "postern/smtp/data.hpp"

#include <algorithm>

namespace postern::smtp {
namespace {

void note_octets(message_facts& f, std::string_view bytes) noexcept {
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) f.eight_bit = true;
    if (u == 0) f.has_nul = true;
  }
}

}  // namespace

message_facts scan_message(std::string_view m) noexcept {
  message_facts f;
  note_octets(f, m);
  std::size_t line = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    const char c = m[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < m.size() && m[i + 1] == '\n') ++i;
      f.longest_line = std::max(f.longest_line, line);
      f.wire_size += line + 2;
      line = 0;
    } else {
      ++line;
    }
  }
  if (line > 0) {  // encode_data terminates the last line
    f.longest_line = std::max(f.longest_line, line);
    f.wire_size += line + 2;
  }
  return f;
}

message_facts scan_encoded(std::string_view wire) noexcept {
  message_facts f;
  std::size_t pos = 0;
  while (pos < wire.size()) {
    const std::size_t eol = wire.find("\r\n", pos);
    std::string_view line =
        wire.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line == ".") break;  // the terminator
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    note_octets(f, line);
    f.longest_line = std::max(f.longest_line, line.size());
    f.wire_size += line.size();
    if (eol == std::string_view::npos) break;
    f.wire_size += 2;
    pos = eol + 2;
  }
  return f;
}

namespace {

// The one CRLF normalisation (bare LF and bare CR become CRLF, a final CRLF added), with or
// without dot-stuffing: what DATA sends and what BDAT and DKIM see differ only by the dots.
std::string normalise(std::string_view m, bool stuff) {
  std::string out;
  // Dot-stuffing and LF→CRLF rarely add more than a few percent; one reservation, one pass.
  out.reserve(m.size() + m.size() / 32 + 8);
  bool line_start = true;
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < m.size(); ++i) {
    const char c = m[i];
    if (stuff && line_start && c == '.') {
      out.append(m.data() + run, i - run);
      out += '.';
      run = i;  // the original dot goes out with the run
    }
    if (c == '\r' || c == '\n') {
      out.append(m.data() + run, i - run);
      out += "\r\n";
      if (c == '\r' && i + 1 < m.size() && m[i + 1] == '\n') ++i;
      run = i + 1;
      line_start = true;
    } else {
      line_start = false;
    }
  }
  out.append(m.data() + run, m.size() - run);
  if (!line_start) out += "\r\n";
  return out;
}

}  // namespace

std::string normalise_line_ends(std::string_view m) { return normalise(m, false); }

std::string encode_data(std::string_view m) {
  std::string out = normalise(m, true);
  out += ".\r\n";
  return out;
}

std::string decode_data(std::string_view wire) {
  std::string out;
  out.reserve(wire.size());
  std::size_t pos = 0;
  while (pos < wire.size()) {
    const std::size_t eol = wire.find("\r\n", pos);
    std::string_view line =
        wire.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line == ".") break;
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    out += line;
    if (eol == std::string_view::npos) break;
    out += "\r\n";
    pos = eol + 2;
  }
  return out;
}

}  // namespace postern::smtp
