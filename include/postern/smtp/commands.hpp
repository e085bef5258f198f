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

/** The MAIL FROM parameters to send (each only when the server announced the extension). */
struct mail_parameters {
  std::optional<std::uint64_t> size;  ///< SIZE=n, when the server announced SIZE
  bool body_8bitmime = false;         ///< BODY=8BITMIME
  bool smtputf8 = false;              ///< SMTPUTF8
  bool body_binarymime = false;       ///< BODY=BINARYMIME (RFC 3030; only with BDAT); wins over 8BITMIME
  std::string dsn_ret;                ///< RET= value ("FULL" or "HDRS", RFC 3461); "" = none
  std::string dsn_envid;              ///< ENVID= value, sent xtext-encoded; "" = none
};

/** The RCPT TO parameters of RFC 3461 (only when the server announced DSN). */
struct rcpt_parameters {
  std::string notify;  ///< NOTIFY= value ("NEVER", "SUCCESS,FAILURE", …); "" = none
  std::string orcpt;   ///< ORCPT= value, already encoded (see orcpt_value() in dsn.hpp); "" = none
};

// Each returns the full command line including CRLF, or "" with ec set (errc::invalid_address /
// invalid_argument).
/** "EHLO domain". */
std::string ehlo(std::string_view domain, std::error_code& ec);
/** "HELO domain", for servers that refuse EHLO. */
std::string helo(std::string_view domain, std::error_code& ec);
/** "MAIL FROM:<address>" with @p params; "" is the null sender. */
std::string mail_from(std::string_view address, const mail_parameters& params, std::error_code& ec);
/** "RCPT TO:<address>"; "" is refused (the null path is only for senders). */
std::string rcpt_to(std::string_view address, std::error_code& ec);
/** "RCPT TO:<address>" with the DSN parameters @p params. */
std::string rcpt_to(std::string_view address, const rcpt_parameters& params, std::error_code& ec);
/** "AUTH mechanism [initial-response]", the response sent as given (already base64; "=" is empty). */
std::string auth(std::string_view mechanism, std::optional<std::string_view> initial_response_b64,
                 std::error_code& ec);
/** "BDAT size [LAST]" (RFC 3030); the @p size octets follow it. */
std::string bdat(std::uint64_t size, bool last);
inline std::string starttls() { return "STARTTLS\r\n"; }  ///< "STARTTLS"
inline std::string data() { return "DATA\r\n"; }          ///< "DATA"
inline std::string rset() { return "RSET\r\n"; }          ///< "RSET": abort the transaction, keep the session
inline std::string quit() { return "QUIT\r\n"; }          ///< "QUIT"
inline std::string noop() { return "NOOP\r\n"; }          ///< "NOOP"

}  // namespace postern::smtp
