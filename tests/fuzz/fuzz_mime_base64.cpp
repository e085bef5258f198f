// Fuzzes mime::base64_decode on arbitrary text (it parses what servers send in 334 challenges)
// and checks that encode -> decode is the identity. Also drives the other mime encoders so
// their bounds hold on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/mime/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  namespace mime = postern::mime;

  if (auto decoded = mime::base64_decode(in)) {
    // Whatever decodes must re-encode to something that decodes to the same bytes.
    if (mime::base64_decode(mime::base64_encode(*decoded)) != decoded) std::abort();
  }
  if (mime::base64_decode(mime::base64_encode(in)) != std::string(in)) std::abort();

  for (const auto& line : {mime::quoted_printable_encode(in), mime::encode_header_value(in, size % 80)}) {
    std::size_t start = 0;
    while (start <= line.size()) {
      auto end = line.find("\r\n", start);
      if (end == std::string::npos) end = line.size();
      // Encoded output never has lines over 76 octets, except unbreakable ASCII header words.
      if (end - start > 998) std::abort();
      start = end + 2;
    }
  }
  return 0;
}
