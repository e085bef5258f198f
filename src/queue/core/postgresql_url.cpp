// Pure: the fuzz target fuzz_postgresql_url links it without libpq.
//
// The URL is read as libpq reads it (conninfo_uri_parse_options): the user part ends at an '@'
// that comes before the first '/', the password is what follows its first ':', and the query
// starts at the first '?' after the user part. Query keys are percent-decoded before they are
// compared, as libpq decodes them. Where a password holds an unencoded '@', everything up to the
// last such '@' goes, so no piece of it is shown.
#include "postern/queue/postgresql_url.hpp"

#include <string>

namespace postern::queue {
namespace {

// Where the part after "scheme://" starts, or npos for a string that is no URL.
std::size_t authority_start(std::string_view s) {
  const std::size_t scheme = s.find("://");
  if (scheme == std::string_view::npos || s.substr(0, scheme).find_first_of("/?@") != std::string_view::npos)
    return std::string_view::npos;
  return scheme + 3;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string redacted_once(std::string_view url) {
  std::string out(url);
  const std::size_t start = authority_start(out);
  std::size_t query_from = 0;
  if (start != std::string::npos) {
    const std::size_t slash = out.find('/', start);
    const std::size_t last_at = out.rfind('@', slash == std::string::npos ? std::string::npos : slash);
    if (last_at != std::string::npos && last_at >= start && (slash == std::string::npos || last_at < slash)) {
      const std::size_t colon = out.find(':', start);
      if (colon < last_at) out.erase(colon, last_at - colon);
    }
    // The user part as libpq sees it, now without a password.
    const std::size_t first_at = out.find('@', start);
    const std::size_t first_slash = out.find('/', start);
    query_from = first_at != std::string::npos && first_at < first_slash ? first_at + 1 : start;
  }
  const std::size_t q = out.find('?', query_from);
  if (q == std::string::npos) return out;
  // Query parameters: every password=… goes, the others stay in their order.
  const std::string query = out.substr(q + 1);
  std::string kept;
  out.erase(q);
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    const std::string_view part(query.data() + pos, amp - pos);
    const std::string key = percent_decoded(part.substr(0, part.find('=')));
    if (!part.empty() && key != "password") kept += (kept.empty() ? "" : "&") + std::string(part);
    pos = amp + 1;
  }
  return kept.empty() ? out : out + "?" + kept;
}

}  // namespace

// Dropping a query parameter can join what was left into a new user part ("h?password=/&a:b@c"
// leaves "h?a:b@c", which libpq reads as user "h?a", password "b"), so redaction runs until
// nothing changes. Each pass that changes something makes the string shorter: it ends.
std::string redact_postgresql_url(std::string_view url) {
  std::string out(url);
  for (;;) {
    std::string next = redacted_once(out);
    if (next == out) return out;
    out = std::move(next);
  }
}

}  // namespace postern::queue
