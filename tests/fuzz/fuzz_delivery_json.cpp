// Fuzzes the queue's delivery JSON parser (postern/queue/delivery.hpp): a shared queue's rows may
// come from other machines. No crash or exception; a parsed delivery has a host, and writing it
// out and parsing that again gives the same JSON (what the worker groups messages by).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "postern/queue/delivery.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace queue = postern::queue;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto d = queue::request_from_delivery_json(in);
  if (d.value.has_value() == !d.error.empty()) std::abort();
  if (d.value) {
    if (d.value->request.host.empty()) std::abort();
    const auto once = queue::to_delivery_json(d.value->request, d.value->secret);
    const auto again = queue::request_from_delivery_json(once);
    if (!again.value) std::abort();
    if (queue::to_delivery_json(again.value->request, again.value->secret) != once) std::abort();
  }
  return 0;
}
