#include "postern/plan/router.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <optional>

#include "postern/diagnose/async.hpp"
#include "postern/net/blocking.hpp"
#include "postern/plan/async.hpp"
#include "postern/tls/policy.hpp"

namespace postern::plan {
namespace {

bool tls_failure(const diagnose::route_attempt& a) {
  return !a.ok && (a.code.rfind("tls.", 0) == 0) && a.code.rfind("tls.cert.", 0) != 0;
}

std::string describe(const diagnose::route_attempt& a) {
  return std::to_string(a.port) + "/" + a.mode + (a.ok ? " ok" : " " + a.code);
}

}  // namespace

std::vector<diagnose::route_probe> candidate_routes(std::uint16_t given_port,
                                                    const std::vector<std::uint16_t>& others,
                                                    const std::string& profile) {
  std::vector<std::uint16_t> ports;
  if (given_port) ports.push_back(given_port);
  for (auto p : others)
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  std::vector<diagnose::route_probe> out;
  for (auto p : ports) {
    // RFC 8314 prefers implicit TLS for submission; 465 is its conventional port.
    auto first = p == 465 ? net::mode::implicit_tls : net::mode::starttls;
    auto second = first == net::mode::implicit_tls ? net::mode::starttls : net::mode::implicit_tls;
    out.push_back({p, first, profile});
    out.push_back({p, second, profile});
  }
  return out;
}

asio::awaitable<route_choice> async_choose_route(route_request q) {
  route_choice c;
  auto routes = candidate_routes(q.base.port, q.base.other_ports, "strict");
  auto tried = co_await diagnose::async_try_routes(q.base, routes);
  c.tried = tried;
  auto pick = [&](const std::vector<diagnose::route_attempt>& results) -> const diagnose::route_attempt* {
    for (const auto& r : results)
      if (r.ok) return &r;
    return nullptr;
  };
  std::string failed;
  for (const auto& r : tried)
    if (!r.ok) failed += (failed.empty() ? "" : ", ") + describe(r);

  if (const auto* r = pick(tried)) {
    c.ok = true;
    c.port = r->port;
    c.mode = r->mode == "tls" ? net::mode::implicit_tls : net::mode::starttls;
    c.profile = "strict";
    c.reason = "the first strict route that works (" + r->detail + ")" +
               (failed.empty() ? "" : "; not usable: " + failed);
    co_return c;
  }
  // Weaker profiles: only those allowed, only where the TLS handshake itself was the problem.
  for (const std::string profile : {"compat", "legacy"}) {
    if (std::find(q.allow.begin(), q.allow.end(), profile) == q.allow.end()) continue;
    std::vector<diagnose::route_probe> weaker;
    for (const auto& r : tried)
      if (tls_failure(r))
        weaker.push_back({r.port, r.mode == "tls" ? net::mode::implicit_tls : net::mode::starttls, profile});
    if (weaker.empty()) break;
    auto results = co_await diagnose::async_try_routes(q.base, weaker);
    c.tried.insert(c.tried.end(), results.begin(), results.end());
    if (const auto* r = pick(results)) {
      const auto* p = tls::profile(profile);
      c.ok = true;
      c.port = r->port;
      c.mode = r->mode == "tls" ? net::mode::implicit_tls : net::mode::starttls;
      c.profile = profile;
      c.reason = "no strict route works (" + failed + "); --allow " + profile + " permits the " + profile +
                 " profile here (" + r->detail + "), which " +
                 (p ? p->security_note : std::string("is weaker"));
      co_return c;
    }
  }
  c.reason = "no route qualifies: " + failed;
  co_return c;
}

route_choice choose_route(const route_request& q) { return net::run_blocking(async_choose_route(q)); }

}  // namespace postern::plan
