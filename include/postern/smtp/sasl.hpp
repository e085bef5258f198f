#pragma once
/**
 * @file
 * The interface a SASL mechanism offers the SMTP session (implemented in postern::auth).
 */
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace postern::smtp {

/** One client-side SASL exchange. All data is base64 text, as it travels in SMTP. */
class sasl_mechanism {
 public:
  virtual ~sasl_mechanism() = default;
  /** IANA name, upper case: "PLAIN", "SCRAM-SHA-256", ... */
  virtual std::string name() const = 0;
  /** The initial response sent with "AUTH MECH resp" (RFC 4954), or nullopt to wait for a 334. "=" means
   * empty. */
  virtual std::optional<std::string> initial_response(std::error_code& ec) = 0;
  /** Answers one 334 challenge (base64, possibly empty); sets ec on failure. */
  virtual std::string step(std::string_view challenge_b64, std::error_code& ec) = 0;
};

}  // namespace postern::smtp
