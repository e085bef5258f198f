#pragma once
/**
 * @file
 * Error codes of the sans-I/O SMTP core (category "postern.smtp").
 */
#include <system_error>

namespace postern::smtp {

/** Why the protocol core stopped. Each maps to a DESIGN.md cause code (see cause()). */
enum class errc {
  ok = 0,                   ///< no error
  reply_line_too_long = 1,  ///< smtp.reply-too-long
  reply_too_many_lines,     ///< smtp.reply-too-long
  bad_reply,                ///< smtp.bad-reply: not "NNN-text" / "NNN text"
  inconsistent_reply_code,  ///< smtp.bad-reply: multi-line reply whose lines disagree on the code
  bytes_after_starttls,     ///< smtp.bad-reply: server sent data after 220 to STARTTLS (CVE-2011-0411 class)
  invalid_address,    ///< smtp.invalid-address: an envelope address contains CR, LF, <, > or is too long,
                      ///< or needs SMTPUTF8 that the server does not offer
  invalid_argument,   ///< smtp.invalid-argument: any other argument that would corrupt a command line
  starttls_missing,   ///< smtp.starttls-missing
  starttls_refused,   ///< smtp.rejected / smtp.transient (by the reply class): STARTTLS got a non-220 reply
  starttls_required,  ///< smtp.starttls-required: 530 before TLS
  auth_failed,        ///< smtp.auth-failed
  auth_mech_unsupported,  ///< smtp.auth-mech-unsupported
  message_too_big,        ///< smtp.rejected: message exceeds the server's SIZE
  rejected,               ///< smtp.rejected: permanent 5xx
  transient,              ///< smtp.transient: 4xx
  no_recipient_accepted,  ///< smtp.rejected / smtp.transient (transient when every refusal was 4xx): every
                          ///< RCPT refused
  connection_lost,        ///< net.closed
  outcome_unknown,        ///< smtp.outcome-unknown: lost after the final dot, before the reply
  auth_needs_tls,    ///< smtp.auth-needs-tls: AUTH refused on plaintext (locally, or 538 from the server)
  utf8_unsupported,  ///< smtp.utf8-unsupported: a UTF-8 local part (or a domain with no A-label) and no
                     ///< SMTPUTF8
  dsn_unsupported,   ///< smtp.dsn-unsupported: DSN required and the server does not offer it
};

/** The error category "postern.smtp" of errc; message() is a plain-words summary. */
const std::error_category& smtp_category() noexcept;
/** Makes errc usable as std::error_code (found by ADL). */
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), smtp_category()}; }

/**
 * The stable DESIGN.md cause code of an error, for JSON output and diagnosis.
 * errc alone cannot tell 4xx from 5xx: starttls_refused and no_recipient_accepted map to
 * "smtp.rejected" here; cause(const session_result&) (session.hpp) refines them by the replies.
 *
 *   cause(errc::reply_line_too_long) == std::string_view("smtp.reply-too-long")
 *
 * @return "" for errc::ok.
 */
const char* cause(errc e) noexcept;

}  // namespace postern::smtp

/// @cond POSTERN_STD_TRAITS
// Lets errc convert to std::error_code implicitly. Hidden from Doxygen, which cannot place a
// specialisation of a std template.
template <>
struct std::is_error_code_enum<postern::smtp::errc> : std::true_type {};
/// @endcond
