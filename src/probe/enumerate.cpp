#include "probe/enumerate.hpp"

#include <algorithm>
#include <random>

namespace postern::probe {

namespace w = wire;

hello_outcome outcome_from_events(const std::vector<w::server_event>& events) {
  hello_outcome out;
  for (const auto& ev : events) {
    if (const auto* h = std::get_if<w::server_hello>(&ev)) {
      out.result = hello_outcome::kind::server_hello;
      out.hello = *h;
    } else if (const auto* c = std::get_if<w::certificate_chain>(&ev)) {
      out.chain = *c;
    } else if (const auto* k = std::get_if<w::server_key_exchange>(&ev)) {
      out.key_exchange = *k;
    } else if (const auto* a = std::get_if<w::alert>(&ev)) {
      if (!a->fatal() && a->description != w::alert_description::close_notify) continue;
      out.alert = *a;
      if (!out.hello) out.result = hello_outcome::kind::refused;
    } else if (const auto* e = std::get_if<w::error>(&ev)) {
      if (out.hello) continue;  // what came after the ServerHello does not change the pick
      // A TLS server that hangs up on an unacceptable hello is refusing, not failing.
      if (e->reason == w::reader_error::closed) {
        out.result = hello_outcome::kind::refused;
        out.detail = "closed";
      } else {
        out.result = hello_outcome::kind::failed;
        out.detail = std::string(w::to_string(e->reason)) + (e->detail.empty() ? "" : ": " + e->detail);
      }
    }
  }
  return out;
}

std::vector<std::uint16_t> candidate_suites(std::uint16_t version) {
  std::vector<std::uint16_t> out;
  for (const auto& s : w::cipher_suites())
    if (s.code != 0x0000 && s.usable_with(version)) out.push_back(s.code);
  return out;
}

namespace {

std::vector<std::uint16_t> all_groups() {
  std::vector<std::uint16_t> out;
  // Common groups first: a server that takes the client's order then answers like real clients see.
  for (auto g : {w::group::x25519, w::group::secp256r1, w::group::secp384r1, w::group::secp521r1,
                 w::group::x448, w::group::ffdhe2048, w::group::ffdhe3072, w::group::ffdhe4096,
                 w::group::ffdhe6144, w::group::ffdhe8192})
    out.push_back(g);
  for (const auto& g : w::named_groups())
    if (std::find(out.begin(), out.end(), g.code) == out.end()) out.push_back(g.code);
  return out;
}

std::vector<std::uint16_t> all_signature_schemes() {
  std::vector<std::uint16_t> out;
  for (const auto& s : w::signature_schemes()) out.push_back(s.code);
  return out;
}

void erase(std::vector<std::uint16_t>& v, std::uint16_t x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}
bool contains(const std::vector<std::uint16_t>& v, std::uint16_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

w::hello_params hello_for(std::uint16_t version, const std::string& server_name) {
  w::hello_params p;
  static thread_local std::mt19937 rng{std::random_device{}()};
  for (auto& b : p.random) b = static_cast<std::uint8_t>(rng());
  p.server_name = server_name;
  if (version == w::version::ssl3) {
    // SSLv3 servers expect no extensions at all.
    p.record_version = w::version::ssl3;
    p.legacy_version = w::version::ssl3;
    p.ec_point_formats = p.extended_master_secret = p.session_ticket = p.padding = false;
    p.psk_key_exchange_modes = false;
    p.server_name.clear();
    return p;
  }
  p.legacy_version = std::min(version, w::version::tls1_2);
  p.supported_groups = all_groups();
  if (version >= w::version::tls1_2) p.signature_algorithms = all_signature_schemes();
  if (version == w::version::tls1_3) {
    p.supported_versions = {w::version::tls1_3};
    p.session_id.assign(32, '\x5a');
    for (auto g : {w::group::x25519, w::group::secp256r1})
      if (auto share = w::sample_key_share(g)) p.key_shares.push_back({g, *share});
    p.send_key_share = true;
  } else {
    p.psk_key_exchange_modes = false;
  }
  return p;
}

asio::awaitable<version_scan> enumerate_suites(std::uint16_t version, w::hello_params base, responder send) {
  version_scan scan;
  scan.version = version;
  auto left = candidate_suites(version);
  // Each round removes one offered suite, so this bound is never reached by an honest server.
  const std::size_t max_rounds = left.size() + 1;
  while (!left.empty() && static_cast<std::size_t>(scan.hellos) < max_rounds) {
    auto p = base;
    p.cipher_suites = left;
    ++scan.hellos;
    auto out = co_await send(std::move(p));
    if (out.result == hello_outcome::kind::failed) {
      scan.failure = out.detail;
      break;
    }
    if (out.result == hello_outcome::kind::refused) break;
    const auto& h = *out.hello;
    // A server without this version answers with an older one (or a TLS 1.2 ServerHello to a
    // TLS 1.3-only hello): the version is not accepted, and we stop asking.
    if (h.version != version || !contains(left, h.cipher_suite)) {
      if (!contains(left, h.cipher_suite) && h.version == version)
        scan.failure =
            "the server picked a suite that was not offered: " + w::cipher_suite_name(h.cipher_suite);
      break;
    }
    if (!scan.chain && out.chain) scan.chain = out.chain;
    scan.suites.push_back(h.cipher_suite);
    scan.groups.push_back(h.selected_group);
    erase(left, h.cipher_suite);
  }
  scan.accepted = !scan.suites.empty();
  if (scan.suites.size() >= 2) {
    auto p = base;
    p.cipher_suites.assign(scan.suites.rbegin(), scan.suites.rend());
    ++scan.hellos;
    auto out = co_await send(std::move(p));
    if (out.result == hello_outcome::kind::server_hello)
      scan.server_preference = out.hello->cipher_suite == scan.suites.front();
  }
  co_return scan;
}

asio::awaitable<std::vector<std::uint16_t>> enumerate_groups_tls13(w::hello_params base,
                                                                   std::vector<std::uint16_t> suites,
                                                                   responder send, int* hellos) {
  std::vector<std::uint16_t> found;
  if (suites.empty()) co_return found;
  auto left = base.supported_groups;
  base.key_shares.clear();
  base.send_key_share = true;
  base.cipher_suites = std::move(suites);
  const std::size_t max_rounds = left.size() + 1;
  for (std::size_t round = 0; !left.empty() && round < max_rounds; ++round) {
    auto p = base;
    p.supported_groups = left;
    if (hellos) ++*hellos;
    auto out = co_await send(std::move(p));
    if (out.result != hello_outcome::kind::server_hello) break;
    const auto& h = *out.hello;
    if (h.version != w::version::tls1_3 || !h.selected_group || !contains(left, *h.selected_group)) break;
    found.push_back(*h.selected_group);
    erase(left, *h.selected_group);
  }
  co_return found;
}

asio::awaitable<std::vector<std::uint16_t>> enumerate_curves_tls12(w::hello_params base,
                                                                   std::vector<std::uint16_t> ecdhe_suites,
                                                                   responder send, int* hellos) {
  std::vector<std::uint16_t> found;
  if (ecdhe_suites.empty()) co_return found;
  std::vector<std::uint16_t> left;
  for (auto g : base.supported_groups) {
    const auto* info = w::find_named_group(g);
    if (info && (info->kind == w::group_kind::ec_prime || info->kind == w::group_kind::ec_binary ||
                 info->kind == w::group_kind::montgomery))
      left.push_back(g);
  }
  base.cipher_suites = std::move(ecdhe_suites);
  const std::size_t max_rounds = left.size() + 1;
  for (std::size_t round = 0; !left.empty() && round < max_rounds; ++round) {
    auto p = base;
    p.supported_groups = left;
    if (hellos) ++*hellos;
    auto out = co_await send(std::move(p));
    if (out.result != hello_outcome::kind::server_hello || !out.key_exchange) break;
    const auto& k = *out.key_exchange;
    if (k.kind != w::server_params_kind::ecdhe || !k.named_curve || !contains(left, *k.named_curve)) break;
    found.push_back(*k.named_curve);
    erase(left, *k.named_curve);
  }
  co_return found;
}

asio::awaitable<std::uint32_t> dhe_prime_bits(w::hello_params base, std::vector<std::uint16_t> dhe_suites,
                                              responder send, int* hellos) {
  if (dhe_suites.empty()) co_return 0;
  base.cipher_suites = std::move(dhe_suites);
  if (hellos) ++*hellos;
  auto out = co_await send(std::move(base));
  if (out.result != hello_outcome::kind::server_hello || !out.key_exchange) co_return 0;
  co_return out.key_exchange->kind == w::server_params_kind::dhe ? out.key_exchange->prime_bits : 0;
}

}  // namespace postern::probe
