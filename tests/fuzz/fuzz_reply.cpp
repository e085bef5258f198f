// Fuzzes the reply parser: the first byte chooses how the rest is split into reads and
// whether tight limits apply, so chunk boundaries and limit paths are both explored.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "postern/smtp/reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t seed = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  postern::smtp::reply_limits limits;
  if (seed & 0x80) limits = {.max_line = 16u + (seed & 0x0f), .max_lines = 1u + (seed & 0x07)};
  const std::size_t chunk = 1u + (seed & 0x1f);

  postern::smtp::reply_parser p(limits);
  std::error_code ec;
  while (!in.empty()) {
    std::string_view piece = in.substr(0, chunk);
    in.remove_prefix(piece.size());
    while (!piece.empty()) {
      const std::size_t used = p.feed(piece, ec);
      if (ec) {
        if (p.offending_bytes().size() > limits.max_line) std::abort();
        return 0;
      }
      if (used > piece.size()) std::abort();
      piece.remove_prefix(used);
      if (p.has_reply()) {
        postern::smtp::reply r = p.take();
        if (r.code < 200 || r.code > 599 || r.lines.empty() || r.lines.size() > limits.max_lines)
          std::abort();
        (void)r.to_string();
        if (r.enhanced) (void)r.enhanced->to_string();
      } else if (!piece.empty()) {
        std::abort();  // bytes left only when a reply completed
      }
    }
  }
  (void)p.mid_reply();
  return 0;
}
