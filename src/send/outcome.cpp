#include "send/outcome.hpp"

#include <sysexits.h>

#include "postern/smtp/error.hpp"

namespace postern::send {
namespace {

// What the client had just said when the server answered, in the server's terms.
const char* step_name(smtp::state s) {
  switch (s) {
    case smtp::state::greeting:
      return "the greeting";
    case smtp::state::ehlo:
    case smtp::state::ehlo_after_tls:
      return "EHLO";
    case smtp::state::helo:
      return "HELO";
    case smtp::state::starttls:
    case smtp::state::tls_handshake:
      return "STARTTLS";
    case smtp::state::auth:
      return "AUTH";
    case smtp::state::mail:
      return "MAIL FROM";
    case smtp::state::rcpt:
      return "RCPT TO";
    case smtp::state::data:
      return "DATA";
    case smtp::state::content:
      return "the end of the message";
    case smtp::state::quit:
      return "QUIT";
    default:
      return "the last command";
  }
}

int exit_code_for(smtp::errc e, const std::optional<smtp::reply>& r) {
  using smtp::errc;
  switch (e) {
    case errc::reply_line_too_long:
    case errc::reply_too_many_lines:
    case errc::bad_reply:
    case errc::inconsistent_reply_code:
    case errc::bytes_after_starttls:
      return EX_PROTOCOL;
    case errc::starttls_missing:
    case errc::starttls_required:
    case errc::auth_failed:
    case errc::auth_mech_unsupported:
    case errc::auth_needs_tls:
      return EX_NOPERM;
    case errc::invalid_address:
    case errc::invalid_argument:
      return EX_DATAERR;
    case errc::no_recipient_accepted:
      return r && r->transient() ? EX_TEMPFAIL : EX_NOUSER;
    case errc::starttls_refused:
    case errc::rejected:
    case errc::message_too_big:
      return r && r->transient() ? EX_TEMPFAIL : EX_UNAVAILABLE;
    case errc::transient:
    case errc::connection_lost:
    case errc::outcome_unknown:
      return EX_TEMPFAIL;
    case errc::utf8_unsupported:
    case errc::dsn_unsupported:
      return EX_UNAVAILABLE;  // this server cannot carry the message as asked
    case errc::ok:
      return EX_OK;
  }
  return EX_SOFTWARE;
}

}  // namespace

int exit_code_for(net::errc e) noexcept {
  switch (e) {
    case net::errc::dns:
    case net::errc::refused:
    case net::errc::unreachable:
    case net::errc::proxy_unreachable:
    case net::errc::proxy_refused:
      return EX_UNAVAILABLE;
    case net::errc::proxy_auth_failed:
      return EX_NOPERM;
    case net::errc::proxy_bad_reply:
      return EX_PROTOCOL;
    default:
      return EX_TEMPFAIL;
  }
}

std::optional<outcome> describe_outcome(const smtp::session& s, std::optional<net::errc> transport_error,
                                        const timeouts&) {
  const auto& res = s.result();
  const auto err = res.error;

  // The message may have arrived: this trumps the transport detail.
  if (err == smtp::errc::outcome_unknown) {
    std::string how = transport_error ? net::make_error_code(*transport_error).message()
                                      : std::string("the connection was lost");
    return outcome{{"smtp.outcome-unknown",
                    "the connection ended after the message was sent and before the server confirmed it (" +
                        how + "): it may have been delivered; not retried",
                    ""},
                   EX_TEMPFAIL};
  }
  if (transport_error && (err == smtp::errc::connection_lost || !err)) {
    auto e = *transport_error;
    std::string summary = net::make_error_code(e).message();
    if (e == net::errc::timeout || e == net::errc::closed)
      summary += std::string(" (waiting for the reply to ") + step_name(s.current_state()) + ")";
    return outcome{{net::cause(e), summary, ""}, exit_code_for(e)};
  }
  if (err) {
    auto e = static_cast<smtp::errc>(err.value());
    if (err.category() != smtp::smtp_category()) e = smtp::errc::connection_lost;
    std::string summary = err.message();
    std::string detail;
    if (res.last_reply && e == smtp::errc::starttls_missing) {
      summary += ": its EHLO reply was " + res.last_reply->one_line();
      detail = res.last_reply->to_string();
    } else if (res.last_reply) {
      summary += std::string(": the server answered ") + step_name(res.failed_in) + " with " +
                 res.last_reply->one_line();
      detail = res.last_reply->to_string();
    }
    // The session knows whether every refusal was a 4xx (smtp.transient) or not.
    std::string code = err.category() == smtp::smtp_category() ? smtp::cause(res) : smtp::cause(e);
    if (e == smtp::errc::connection_lost) code = "net.closed";
    return outcome{{code, summary, detail}, exit_code_for(e, res.last_reply)};
  }
  // Delivered, but maybe not to everyone.
  std::size_t refused = 0;
  std::string who;
  bool all_transient = true;
  for (const auto& r : res.recipients) {
    if (r.accepted) continue;
    ++refused;
    who += (who.empty() ? "" : ", ") + r.address + " (" + r.response.one_line() + ")";
    all_transient = all_transient && r.response.transient();
  }
  if (refused == 0) return std::nullopt;
  std::string summary = std::to_string(res.recipients.size() - refused) + " of " +
                        std::to_string(res.recipients.size()) +
                        " recipients accepted the message; refused: " + who;
  return outcome{{all_transient ? "smtp.transient" : "smtp.rejected", summary, ""},
                 all_transient ? EX_TEMPFAIL : EX_NOUSER};
}

}  // namespace postern::send
