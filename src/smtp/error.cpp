#include "postern/smtp/error.hpp"

#include <string>

namespace postern::smtp {
namespace {

class smtp_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "postern.smtp"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok:
        return "no error";
      case errc::reply_line_too_long:
        return "the server sent a reply line longer than allowed";
      case errc::reply_too_many_lines:
        return "the server sent a reply with too many lines";
      case errc::bad_reply:
        return "the server sent something that is not an SMTP reply";
      case errc::inconsistent_reply_code:
        return "the lines of a multi-line reply carry different codes";
      case errc::bytes_after_starttls:
        return "the server sent more data after agreeing to STARTTLS (possible command injection)";
      case errc::invalid_address:
        return "an envelope address cannot be sent as given";
      case errc::invalid_argument:
        return "an argument would corrupt an SMTP command line";
      case errc::starttls_missing:
        return "the server does not offer STARTTLS";
      case errc::starttls_refused:
        return "the server refused STARTTLS";
      case errc::starttls_required:
        return "the server requires STARTTLS before this command";
      case errc::auth_failed:
        return "authentication failed";
      case errc::auth_mech_unsupported:
        return "the server does not support the authentication mechanism";
      case errc::message_too_big:
        return "the message is larger than the server accepts";
      case errc::rejected:
        return "the server rejected the command permanently";
      case errc::transient:
        return "the server refused the command temporarily";
      case errc::no_recipient_accepted:
        return "the server accepted none of the recipients";
      case errc::connection_lost:
        return "the connection was closed";
      case errc::outcome_unknown:
        return "the connection was lost after the message was sent and before the server confirmed it; "
               "it may have been delivered";
      case errc::auth_needs_tls:
        return "authentication needs an encrypted connection";
      case errc::utf8_unsupported:
        return "an address needs SMTPUTF8 (a UTF-8 local part, or a domain with no IDNA A-label) and the "
               "server does not offer it";
      case errc::dsn_unsupported:
        return "delivery status notifications were required and the server does not offer DSN";
    }
    return "unknown SMTP error";
  }
};

}  // namespace

const std::error_category& smtp_category() noexcept {
  static const smtp_error_category category;
  return category;
}

const char* cause(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "";
    case errc::reply_line_too_long:
    case errc::reply_too_many_lines:
      return "smtp.reply-too-long";
    case errc::bad_reply:
    case errc::inconsistent_reply_code:
    case errc::bytes_after_starttls:
      return "smtp.bad-reply";
    // Local usage errors: not in the DESIGN.md list because no server causes them.
    case errc::invalid_address:
      return "smtp.invalid-address";
    case errc::invalid_argument:
      return "smtp.invalid-argument";
    case errc::starttls_missing:
      return "smtp.starttls-missing";
    case errc::starttls_required:
      return "smtp.starttls-required";
    case errc::auth_failed:
      return "smtp.auth-failed";
    case errc::auth_mech_unsupported:
      return "smtp.auth-mech-unsupported";
    case errc::auth_needs_tls:
      return "smtp.auth-needs-tls";
    case errc::starttls_refused:
    case errc::message_too_big:
    case errc::rejected:
    case errc::no_recipient_accepted:
      return "smtp.rejected";
    case errc::transient:
      return "smtp.transient";
    case errc::connection_lost:
      return "net.closed";
    case errc::outcome_unknown:
      return "smtp.outcome-unknown";
    case errc::utf8_unsupported:
      return "smtp.utf8-unsupported";
    case errc::dsn_unsupported:
      return "smtp.dsn-unsupported";
  }
  return "smtp.bad-reply";
}

}  // namespace postern::smtp
