#include "postern/net/mode.hpp"

namespace postern::net {

const char* to_string(mode m) noexcept {
  switch (m) {
    case mode::implicit_tls:
      return "tls";
    case mode::starttls:
      return "starttls";
    case mode::plain:
      return "plain";
  }
  return "?";
}

std::uint16_t default_port(mode m) noexcept {
  switch (m) {
    case mode::implicit_tls:
      return 465;
    case mode::starttls:
      return 587;
    case mode::plain:
      return 25;
  }
  return 25;
}

}  // namespace postern::net
