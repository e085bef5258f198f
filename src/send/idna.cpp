#include "postern/send/idna.hpp"

#include <idn2.h>

#include <cstdlib>
#include <memory>

namespace postern::send {

std::optional<std::string> domain_to_ascii(std::string_view utf8_domain) {
  if (utf8_domain.empty() || utf8_domain.find('\0') != std::string_view::npos) return std::nullopt;
  const std::string in(utf8_domain);
  char* out = nullptr;
  // Non-transitional UTS #46 with NFC: what browsers and MTAs use for IDNA2008 names.
  const int rc = idn2_to_ascii_8z(in.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  std::unique_ptr<char, decltype(&idn2_free)> owned(out, &idn2_free);
  if (rc != IDN2_OK || !out) return std::nullopt;
  return std::string(out);
}

}  // namespace postern::send
