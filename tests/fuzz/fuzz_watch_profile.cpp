// Fuzzes what `postern watch` reads back from its state database (a stored profile may have
// been written by another version or edited by hand) and the --keep period parser. A profile
// that parses must survive a round trip and be comparable with itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/watch/diff.hpp"
#include "postern/watch/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)postern::watch::parse_duration(in.substr(0, 64));
  (void)postern::watch::parse_utc(in.substr(0, 20));
  std::string error;
  auto p = postern::watch::parse_profile(in, error);
  if (!p) return 0;
  auto again = postern::watch::parse_profile(postern::watch::to_json(*p), error);
  if (!again || !(*again == *p)) std::abort();
  (void)postern::watch::compare(p, *p);
  (void)postern::watch::compare(std::nullopt, *p);
  return 0;
}
