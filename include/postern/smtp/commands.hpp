#pragma once
/**
 * @file
 * SMTP command serialisation. Every function refuses input that would inject a CR/LF. Sans-I/O.
 */
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace postern::smtp {

/** True for an envelope address that may go between <>: no CR, LF, NUL, '<', '>', ≤ 254 octets. "" is the
 * null sender. */
bool valid_mailbox(std::string_view address) noexcept;
/** True when the address has a non-ASCII octet (needs SMTPUTF8). */
bool needs_smtputf8(std::string_view address) noexcept;

struct mail_parameters {
  std::optional<std::uint64_t> size;  ///< SIZE=n, when the server announced SIZE
  bool body_8bitmime = false;         ///< BODY=8BITMIME
  bool smtputf8 = false;              ///< SMTPUTF8
};

// Each returns the full command line including CRLF, or "" with ec set (errc::invalid_address /
// invalid_argument).
std::string ehlo(std::string_view domain, std::error_code& ec);
std::string helo(std::string_view domain, std::error_code& ec);
std::string mail_from(std::string_view address, const mail_parameters& params, std::error_code& ec);
std::string rcpt_to(std::string_view address, std::error_code& ec);
std::string auth(std::string_view mechanism, std::optional<std::string_view> initial_response_b64,
                 std::error_code& ec);
std::string bdat(std::uint64_t size, bool last);
inline std::string starttls() { return "STARTTLS\r\n"; }
inline std::string data() { return "DATA\r\n"; }
inline std::string rset() { return "RSET\r\n"; }
inline std::string quit() { return "QUIT\r\n"; }
inline std::string noop() { return "NOOP\r\n"; }

}  // namespace postern::smtp
