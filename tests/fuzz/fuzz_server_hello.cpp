// Fuzzes the probe's server flight reader. The first byte picks where the input is split, the
// chunk size for the rest, and (top bit) tight limits, so that record, message and limit
// boundaries are all crossed. Checks: no crash, memory held stays within the documented bound,
// every input ends in done() after finish(), and no event appears after an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "postern/probe/wire.hpp"

namespace wire = postern::probe::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t seed = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  wire::reader_limits limits;
  if (seed & 0x80) {
    limits.max_flight = 256 + (seed & 0x0f) * 128u;
    limits.max_handshake_message = 16 + (seed & 0x0f) * 64u;
    limits.max_plaintext_line = 1 + (seed & 0x07) * 9u;
    limits.max_warning_alerts = seed & 0x03;
  }
  // Partial record + one handshake message + a split alert is all the reader may hold.
  const std::size_t bound = 5 + 16384 + 2048 + 4 + limits.max_handshake_message + 1;
  const std::size_t split = in.empty() ? 0 : (seed * 37u) % (in.size() + 1);
  const std::size_t chunk = 1 + ((seed >> 2) & 0x1f);

  wire::server_reader r(limits);
  bool errored = false;
  std::size_t events = 0;
  auto drain = [&] {
    while (auto ev = r.next()) {
      if (errored) std::abort();  // nothing after an error
      ++events;
      if (auto* e = std::get_if<wire::error>(&*ev)) {
        errored = true;
        if (e->reason == wire::reader_error::plaintext_reply &&
            e->detail.size() > 4 * limits.max_plaintext_line)
          std::abort();
        (void)wire::to_string(e->reason);
      } else if (auto* h = std::get_if<wire::server_hello>(&*ev)) {
        if (h->session_id.size() > 32) std::abort();
        (void)wire::cipher_suite_name(h->cipher_suite);
        (void)wire::version_name(h->version);
      } else if (auto* a = std::get_if<wire::alert>(&*ev)) {
        (void)wire::alert_name(a->description);
      }
    }
    if (r.buffered() > bound) std::abort();
    if (events > size + 1) std::abort();  // every event costs input bytes
  };

  r.feed(in.substr(0, split));
  drain();
  for (std::string_view rest = in.substr(split); !rest.empty();) {
    const std::string_view piece = rest.substr(0, chunk);
    rest.remove_prefix(piece.size());
    r.feed(piece);
    drain();
  }
  r.finish();
  drain();
  if (!r.done()) std::abort();
  return 0;
}
