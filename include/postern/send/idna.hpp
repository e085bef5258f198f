#pragma once
/**
 * @file
 * IDNA (RFC 5891, UTS #46 non-transitional) for domains, with libidn2: what goes on the wire
 * when a server does not offer SMTPUTF8.
 *
 *   send::domain_to_ascii("bücher.example")   // "xn--bcher-kva.example"
 */
#include <optional>
#include <string>
#include <string_view>

namespace postern::send {

/**
 * The A-label form of a UTF-8 domain; an ASCII domain comes back lower-cased as libidn2 gives it.
 * @return nullopt when the domain is not a valid IDNA2008 name (it cannot be sent without SMTPUTF8).
 */
std::optional<std::string> domain_to_ascii(std::string_view utf8_domain);

}  // namespace postern::send
