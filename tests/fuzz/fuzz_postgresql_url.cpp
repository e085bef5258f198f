// Fuzzes the redaction of a PostgreSQL queue URL (postern/queue/postgresql_url.hpp): what postern
// prints of a --queue URL. No crash; never longer than the input; redacting twice changes nothing
// more; no password is left in the user part nor as a query parameter.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/queue/postgresql_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string out = postern::queue::redact_postgresql_url(in);
  if (out.size() > in.size()) std::abort();
  if (postern::queue::redact_postgresql_url(out) != out) std::abort();
  const std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const std::size_t start = scheme + 3;
    std::size_t end = out.find_first_of("/?", start);
    if (end == std::string::npos) end = out.size();
    const std::size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= start &&
        out.substr(start, at - start).find(':') != std::string::npos)
      std::abort();
  }
  const std::size_t q = out.find('?');
  if (q != std::string::npos) {
    const std::string query = "&" + out.substr(q + 1);
    if (query.find("&password=") != std::string::npos) std::abort();
    if (query.size() >= 9 && query.compare(query.size() - 9, 9, "&password") == 0) std::abort();
  }
  return 0;
}
