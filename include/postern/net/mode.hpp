#pragma once
/**
 * @file
 * How a connection becomes secure: shared by send, diagnose and the CLI.
 */
#include <cstdint>

namespace postern::net {

/** Implicit TLS (465 style), STARTTLS (587/25), or plaintext only when asked for by name. */
enum class mode {
  implicit_tls,  ///< TLS from the first byte (port 465, RFC 8314)
  starttls,      ///< plaintext greeting, then STARTTLS (RFC 3207) before anything else
  plain,         ///< no TLS at all: only when asked for by name, never a fallback
};

/** "tls", "starttls", "plain" */
const char* to_string(mode m) noexcept;
/** Conventional port: 465 for implicit TLS, 587 for STARTTLS, 25 for plain. */
std::uint16_t default_port(mode m) noexcept;

}  // namespace postern::net
