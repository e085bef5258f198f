// Fuzzes the redaction of a PostgreSQL queue URL (postern/queue/postgresql_url.hpp): what postern
// prints of a --queue URL. No crash; never longer than the input; redacting twice changes nothing
// more; and read as libpq reads a URL, what is left holds no password: none after a ':' in the
// user part, none as a (percent-encoded) password= query parameter.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/queue/postgresql_url.hpp"

namespace {

// The key as libpq compares it: %XX decoded.
std::string decoded(std::string_view s) {
  std::string out;
  auto hex = [](char c) -> int {
    const std::string_view digits = "0123456789abcdef0123456789ABCDEF";
    const std::size_t at = digits.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at % 16);
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string out = postern::queue::redact_postgresql_url(in);
  if (out.size() > in.size()) std::abort();
  if (postern::queue::redact_postgresql_url(out) != out) std::abort();
  std::size_t query_from = 0;
  const std::size_t scheme = out.find("://");
  if (scheme != std::string::npos && out.substr(0, scheme).find_first_of("/?@") == std::string::npos) {
    const std::size_t start = scheme + 3;
    const std::size_t slash = out.find('/', start);
    // libpq: the user part ends at the first '@' before the first '/'.
    const std::size_t at = out.find('@', start);
    if (at != std::string::npos && at < slash) {
      if (out.substr(start, at - start).find(':') != std::string::npos) std::abort();
      query_from = at + 1;
    } else {
      query_from = start;
    }
  }
  const std::size_t q = out.find('?', query_from);
  if (q == std::string::npos) return 0;
  const std::string query = out.substr(q + 1);
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    const std::string_view part(query.data() + pos, amp - pos);
    if (decoded(part.substr(0, part.find('='))) == "password") std::abort();
    pos = amp + 1;
  }
  return 0;
}
