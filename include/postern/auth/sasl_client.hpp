#pragma once
/**
 * @file
 * SASL client mechanisms for SMTP AUTH (RFC 4954): PLAIN, LOGIN, CRAM-MD5 and
 * SCRAM-SHA-256 through libgsasl, XOAUTH2 and EXTERNAL (RFC 4422 appendix A) by hand.
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

/** Who authenticates, and with what. */
struct credentials {
  std::string user;    ///< the user name (for EXTERNAL: the authorization identity, may be "")
  std::string secret;  ///< password, or the OAuth2 bearer token for XOAUTH2
};

/** Mechanisms postern implements, strongest first. */
const std::vector<std::string>& supported_mechanisms();

/**
 * Picks the mechanism to use: @p forced if given (case-insensitive; must be supported,
 * need not be offered — the server's answer decides), else the strongest of
 * supported_mechanisms() that the server @p offered. XOAUTH2 and EXTERNAL are chosen only
 * when forced.
 * @return nullopt when nothing fits.
 */
std::optional<std::string> choose(const std::vector<std::string>& offered,
                                  std::optional<std::string_view> forced);

/**
 * Creates the client side of @p mechanism (case-insensitive); nullptr with ec set
 * (smtp::errc::auth_mech_unsupported) if unknown or missing from the installed libgsasl.
 *
 * What the returned object does, in SMTP terms:
 * - PLAIN, SCRAM-SHA-256 and XOAUTH2 have an initial response; LOGIN and CRAM-MD5 return
 *   nullopt from initial_response() (the server speaks first).
 * - SCRAM-SHA-256 (no channel binding, "n,,"): the server's last 334 carries its signature;
 *   step() verifies it and returns "" (send an empty line). A wrong signature sets
 *   smtp::errc::auth_failed: the server does not know the password, cancel with "*".
 * - step() sets smtp::errc::auth_failed on a malformed challenge or one after the exchange
 *   completed; XOAUTH2's step() answers the server's JSON error challenge with "" (no error),
 *   after which the server replies 535.
 * - XOAUTH2's initial_response() sets smtp::errc::invalid_argument if user or token contain `\x01`.
 * - EXTERNAL sends credentials.user as the authorization identity (base64), or "=" (empty: the
 *   server derives the identity from the TLS client certificate); the secret is unused.
 */
std::unique_ptr<smtp::sasl_mechanism> make_mechanism(std::string_view mechanism, const credentials& c,
                                                     std::error_code& ec);

}  // namespace postern::auth
