// Fuzzes what `sendmail -t` does to a message it did not write: reading To/Cc/Bcc address lists
// and removing Bcc. No crash; every address found is non-empty and has no line break or control
// character (it becomes an RCPT TO); removing a field keeps the body and is idempotent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "postern/mime/addresses.hpp"

namespace {

void check_addresses(const std::vector<std::string>& list) {
  for (const auto& a : list) {
    if (a.empty() || a.find('@') == std::string::npos) std::abort();
    for (const char ch : a)
      if (const auto c = static_cast<unsigned char>(ch); c == '\r' || c == '\n' || c == 0) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  namespace mime = postern::mime;

  // The input as a bare field value, and as a whole message.
  check_addresses(mime::parse_address_list(in));
  check_addresses(mime::header_addresses(in, {"To", "Cc", "Bcc"}));

  const std::string once = mime::remove_header(in, "Bcc");
  if (once.size() > in.size()) std::abort();
  if (mime::remove_header(once, "Bcc") != once) std::abort();
  if (mime::has_header(once, "Bcc") || !mime::header_values(once, "bcc").empty()) std::abort();
  // Only header lines go: what follows the header block is a suffix of both.
  const auto body_of = [](std::string_view m) -> std::string_view {
    for (std::size_t pos = 0; pos < m.size();) {
      const auto lf = m.find('\n', pos);
      if (lf == std::string_view::npos) return {};
      const std::size_t len = lf - pos;
      if (len == 0 || (len == 1 && m[pos] == '\r')) return m.substr(lf + 1);
      pos = lf + 1;
    }
    return {};
  };
  if (body_of(in) != body_of(once)) std::abort();
  // Other fields are untouched.
  if (mime::header_values(once, "To") != mime::header_values(in, "To")) std::abort();
  return 0;
}
