#pragma once
/**
 * @file
 * Network error codes (category "postern.net"), one per net.* cause of docs/causes.md.
 */
#include <system_error>

namespace postern::net {

/** Why a connection, or the way to it through a proxy, failed. Each maps to a net.* cause (see cause()). */
enum class errc {
  ok = 0,             ///< no error
  dns = 1,            ///< net.dns: the name did not resolve
  refused,            ///< net.refused: nothing listens on that port
  unreachable,        ///< net.unreachable: no route to the host
  timeout,            ///< net.timeout: connect, command or data deadline passed
  greeting_timeout,   ///< net.greeting-timeout: connected, but no greeting in time
  closed,             ///< net.closed: the server closed or reset the connection
  proxy_unreachable,  ///< net.proxy-unreachable: no connection to the proxy itself
  proxy_refused,      ///< net.proxy-refused: the proxy would not or could not reach the server
  proxy_auth_failed,  ///< net.proxy-auth-failed: the proxy rejected (or wanted) credentials
  proxy_bad_reply,    ///< net.proxy-bad-reply: the proxy's answer is not SOCKS5 / HTTP
};

/** The error category "postern.net" of errc; message() is a plain-words summary. */
const std::error_category& net_category() noexcept;
/** Makes errc usable as std::error_code (found by ADL). */
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), net_category()}; }
/** The DESIGN.md cause code, e.g. "net.refused". */
const char* cause(errc e) noexcept;

}  // namespace postern::net

/// @cond POSTERN_STD_TRAITS
// Lets errc convert to std::error_code implicitly. Hidden from Doxygen, which cannot place a
// specialisation of a std template.
template <>
struct std::is_error_code_enum<postern::net::errc> : std::true_type {};
/// @endcond
