// Pure: the fuzz target fuzz_postgresql_url links it without libpq.
#include "postern/queue/postgresql_url.hpp"

#include <string>

namespace postern::queue {

std::string redact_postgresql_url(std::string_view url) {
  std::string out(url);
  std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    std::size_t start = scheme + 3;
    std::size_t end = out.find_first_of("/?", start);
    if (end == std::string::npos) end = out.size();
    std::size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= start) {
      std::size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    }
  }
  std::size_t q = out.find('?');
  if (q == std::string::npos) return out;
  // Query parameters: every password=… goes, the others stay in their order.
  std::string query = out.substr(q + 1), kept;
  out.erase(q);
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string_view part(query.data() + pos, amp - pos);
    std::string_view key = part.substr(0, part.find('='));
    if (!part.empty() && key != "password") kept += (kept.empty() ? "" : "&") + std::string(part);
    pos = amp + 1;
  }
  return kept.empty() ? out : out + "?" + kept;
}

}  // namespace postern::queue
