#pragma once
/**
 * @file
 * Delivery status notification requests (RFC 3461) and their wire forms: NOTIFY, RET, ENVID,
 * ORCPT and the xtext encoding. Sans-I/O.
 *
 *   smtp::dsn_request d;
 *   smtp::parse_dsn_notify("success,failure", d);   // true
 *   smtp::xtext_encode("a+b=c")                     // "a+2Bb+3Dc"
 */
#include <optional>
#include <string>
#include <string_view>

namespace postern::smtp {

/** What RET= asks the server to return in a failure notice. */
enum class dsn_return {
  unset,    ///< no RET parameter: the server's choice
  full,     ///< RET=FULL: the whole message
  headers,  ///< RET=HDRS: the header only
};

/** A DSN request for one message (the envelope carries it; see session.hpp). */
struct dsn_request {
  bool notify_never = false;           ///< NOTIFY=NEVER (excludes the other three)
  bool notify_success = false;         ///< NOTIFY=SUCCESS
  bool notify_failure = false;         ///< NOTIFY=FAILURE
  bool notify_delay = false;           ///< NOTIFY=DELAY
  dsn_return ret = dsn_return::unset;  ///< RET= on MAIL FROM
  std::string envid;  ///< ENVID= on MAIL FROM (printable ASCII, ≤ 100 octets; sent xtext-encoded); "" = none
  bool orcpt = true;  ///< ORCPT= with each recipient's address on its RCPT TO
  /** true: a server that does not offer DSN fails the message before MAIL FROM
      (smtp.dsn-unsupported); false: the message goes without DSN and the report warns. */
  bool required = false;
};

/**
 * Reads a --dsn-notify value: "never", or a comma list of "success", "failure", "delay"
 * (case-insensitive, no duplicates checked). Sets the notify_* fields of @p out.
 * @return false (and @p out unchanged) for anything else, or "never" combined with another.
 */
bool parse_dsn_notify(std::string_view value, dsn_request& out);

/** Reads a --dsn-ret value: "full" or "hdrs" (case-insensitive); nullopt otherwise. */
std::optional<dsn_return> parse_dsn_return(std::string_view value);

/** True for an ENVID RFC 3461 §4.4 accepts before encoding: 1 to 100 printable ASCII octets. */
bool valid_envid(std::string_view envid) noexcept;

/** The NOTIFY value ("NEVER", "SUCCESS,FAILURE", …); "" when no notify_* field is set. */
std::string notify_value(const dsn_request& d);

/**
 * RFC 3461 §4 xtext: octets outside "!".."~", and "+" and "=", become "+XX" (upper-case hex).
 *
 *   xtext_encode("j doe@example.org")   // "j+20doe@example.org"
 */
std::string xtext_encode(std::string_view in);

/**
 * The ORCPT value for @p address: "rfc822;" + xtext for an ASCII address; for one with UTF-8,
 * RFC 6533's "utf-8;" + utf-8-addr-xtext (non-ASCII characters, "+", "=" and backslash as `\x{HEX}`).
 */
std::string orcpt_value(std::string_view address);

}  // namespace postern::smtp
