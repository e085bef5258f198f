#pragma once
/**
 * @file
 * Secure-first automatic routing (DESIGN.md fallback rules): strict routes on the
 * given port and the other submission ports, explored at once; a weaker profile only
 * where the user allowed it; plaintext never.
 *
 *   plan::route_request q;  q.base.host = "relay.example.net";  q.allow = {"compat"};
 *   auto c = plan::choose_route(q);
 *   if (c.ok) std::cout << c.reason << "\n";
 */
#include <cstdint>
#include <string>
#include <vector>

#include "postern/diagnose/doctor.hpp"
#include "postern/net/mode.hpp"

namespace postern::plan {

/** What choose_route() works from: the target and the weaker profiles allowed. */
struct route_request {
  diagnose::target base;  ///< host, port (0: none given), ca_file, tls_name, ehlo, timeout, other_ports
  std::vector<std::string> allow;  ///< weaker profiles the user allowed: "compat", "legacy"
};

/** The route choose_route() picked, or why there is none. */
struct route_choice {
  bool ok = false;                             ///< a route works; false: reason says why none does
  std::uint16_t port = 0;                      ///< the port to use
  net::mode mode = net::mode::starttls;        ///< how to secure the connection
  std::string profile;                         ///< "strict", or an allowed weaker one
  std::string reason;                          ///< one line: why this route
  std::vector<diagnose::route_attempt> tried;  ///< every attempt made, in order
};

/**
 * Candidates in order: the given port, then base.other_ports; on each, the conventional
 * mode first (implicit TLS on 465, STARTTLS elsewhere), then the other. The first strict
 * route that works wins; only when none does, the allowed weaker profiles are tried, in
 * order, on the routes whose TLS handshake failed.
 */
route_choice choose_route(const route_request& q);

/** The candidate routes of choose_route, in order (pure; unit-tested). */
std::vector<diagnose::route_probe> candidate_routes(std::uint16_t given_port,
                                                    const std::vector<std::uint16_t>& others,
                                                    const std::string& profile);

}  // namespace postern::plan
