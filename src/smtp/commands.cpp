#include "postern/smtp/commands.hpp"

#include <algorithm>

#include "postern/smtp/dsn.hpp"
#include "postern/smtp/error.hpp"

namespace postern::smtp {
namespace {

bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

// A domain or address literal as the EHLO/HELO argument: one word, printable, ≤ 255 octets.
bool valid_domain(std::string_view d) noexcept {
  if (d.empty() || d.size() > 255) return false;
  return std::none_of(d.begin(), d.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return is_control(u) || u == ' ';
  });
}

// A SASL mechanism name (RFC 4422): letters, digits, '-', '_', at most 20.
bool valid_mechanism(std::string_view m) noexcept {
  if (m.empty() || m.size() > 20) return false;
  return std::all_of(m.begin(), m.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// A base64 response (or "=" for empty, or "*" to cancel): one printable word.
bool valid_response(std::string_view r) noexcept {
  if (r.empty()) return false;
  return std::none_of(r.begin(), r.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return is_control(u) || u == ' ' || u >= 0x80;
  });
}

std::string fail(errc e, std::error_code& ec) {
  ec = make_error_code(e);
  return {};
}

}  // namespace

bool valid_mailbox(std::string_view address) noexcept {
  if (address.size() > 254) return false;
  return std::none_of(address.begin(), address.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0' || c == '<' || c == '>'; });
}

bool needs_smtputf8(std::string_view address) noexcept {
  return std::any_of(address.begin(), address.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

std::string ehlo(std::string_view domain, std::error_code& ec) {
  if (!valid_domain(domain)) return fail(errc::invalid_argument, ec);
  ec.clear();
  return "EHLO " + std::string(domain) + "\r\n";
}

std::string helo(std::string_view domain, std::error_code& ec) {
  if (!valid_domain(domain)) return fail(errc::invalid_argument, ec);
  ec.clear();
  return "HELO " + std::string(domain) + "\r\n";
}

std::string mail_from(std::string_view address, const mail_parameters& params, std::error_code& ec) {
  if (!valid_mailbox(address)) return fail(errc::invalid_address, ec);
  ec.clear();
  std::string out = "MAIL FROM:<";
  out += address;
  out += '>';
  if (params.size) out += " SIZE=" + std::to_string(*params.size);
  if (params.body_binarymime)
    out += " BODY=BINARYMIME";
  else if (params.body_8bitmime)
    out += " BODY=8BITMIME";
  if (params.smtputf8) out += " SMTPUTF8";
  if (!params.dsn_ret.empty()) {
    if (!valid_response(params.dsn_ret)) return fail(errc::invalid_argument, ec);
    out += " RET=" + params.dsn_ret;
  }
  if (!params.dsn_envid.empty()) out += " ENVID=" + xtext_encode(params.dsn_envid);
  out += "\r\n";
  return out;
}

std::string rcpt_to(std::string_view address, std::error_code& ec) { return rcpt_to(address, {}, ec); }

std::string rcpt_to(std::string_view address, const rcpt_parameters& params, std::error_code& ec) {
  // The null path is only for senders; "RCPT TO:<>" is a syntax error.
  if (address.empty() || !valid_mailbox(address)) return fail(errc::invalid_address, ec);
  // Parameters are single words; anything else would split or inject a command.
  for (const char c : params.notify + params.orcpt)
    if (is_control(static_cast<unsigned char>(c)) || c == ' ') return fail(errc::invalid_argument, ec);
  ec.clear();
  std::string out = "RCPT TO:<" + std::string(address) + ">";
  if (!params.notify.empty()) out += " NOTIFY=" + params.notify;
  if (!params.orcpt.empty()) out += " ORCPT=" + params.orcpt;
  return out + "\r\n";
}

std::string auth(std::string_view mechanism, std::optional<std::string_view> initial_response_b64,
                 std::error_code& ec) {
  if (!valid_mechanism(mechanism)) return fail(errc::invalid_argument, ec);
  if (initial_response_b64 && !valid_response(*initial_response_b64)) return fail(errc::invalid_argument, ec);
  ec.clear();
  std::string out = "AUTH " + std::string(mechanism);
  if (initial_response_b64) {
    out += ' ';
    out += *initial_response_b64;
  }
  out += "\r\n";
  return out;
}

std::string bdat(std::uint64_t size, bool last) {
  return "BDAT " + std::to_string(size) + (last ? " LAST\r\n" : "\r\n");
}

}  // namespace postern::smtp
