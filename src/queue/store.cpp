// Which store a location names, and the default location.
#include <cstdlib>

#include "queue/postgresql_store.hpp"
#include "queue/sqlite_store.hpp"

namespace postern::queue {

const char* to_string(status s) noexcept {
  switch (s) {
    case status::queued:
      return "queued";
    case status::held:
      return "held";
    case status::unknown:
      return "unknown";
    case status::failed:
      return "failed";
    case status::delivered:
      return "delivered";
  }
  return "queued";
}

std::optional<status> parse_status(const std::string& s) noexcept {
  for (status x : {status::queued, status::held, status::unknown, status::failed, status::delivered})
    if (s == to_string(x)) return x;
  return std::nullopt;
}

std::string default_location() {
  if (const char* s = std::getenv("XDG_STATE_HOME"); s && *s) return std::string(s) + "/postern/queue.sqlite";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/state/postern/queue.sqlite";
}

std::unique_ptr<store> open_store(const std::string& location) {
  if (location.empty()) throw store_error("no queue location given");
  if (location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0)
    return open_postgresql(location);
  return open_sqlite(location);
}

}  // namespace postern::queue
