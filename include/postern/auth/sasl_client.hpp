#pragma once
/**
 * @file SASL client mechanisms for SMTP AUTH (RFC 4954): PLAIN, LOGIN, CRAM-MD5 and
 * SCRAM-SHA-256 through libgsasl, XOAUTH2 by hand (libgsasl lacks it).
 *
 *   auth::credentials c{"user", "secret"};
 *   auto mech = auth::choose(caps.auth, std::nullopt);          // "SCRAM-SHA-256" if offered
 *   auto m = auth::make_mechanism(*mech, c, ec);               // smtp::sasl_mechanism
 */
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "postern/smtp/sasl.hpp"

namespace postern::auth {

struct credentials {
  std::string user;
  std::string secret;      ///< password, or the OAuth2 bearer token for XOAUTH2
};

/** Mechanisms postern implements, strongest first. */
const std::vector<std::string>& supported_mechanisms();

/**
 * Picks the mechanism to use: @p forced if given (case-insensitive; must be supported,
 * need not be offered — the server's answer decides), else the strongest of
 * supported_mechanisms() that the server @p offered. XOAUTH2 is chosen only when forced.
 * @return nullopt when nothing fits.
 */
std::optional<std::string> choose(const std::vector<std::string>& offered, std::optional<std::string_view> forced);

/** Creates the client side of @p mechanism; nullptr with ec set (auth_mech_unsupported) if unknown. */
std::unique_ptr<smtp::sasl_mechanism> make_mechanism(std::string_view mechanism, const credentials& c, std::error_code& ec);

}  // namespace postern::auth
