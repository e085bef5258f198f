#include "probe/enumerate.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <random>

namespace postern::probe {

namespace w = wire;

asio::awaitable<void> all(std::vector<asio::awaitable<void>> tasks) {
  auto ex = co_await asio::this_coro::executor;
  auto left = std::make_shared<std::size_t>(tasks.size());
  auto done = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::clock_type::time_point::max());
  for (auto& t : tasks)
    asio::co_spawn(ex, std::move(t), [left, done](std::exception_ptr) {
      if (--*left == 0) done->cancel();
    });
  if (*left > 0) co_await done->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

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

namespace postern::probe {

namespace {

// What the searches of one ordered_search() share (single-threaded: no locks).
struct search_state {
  asker ask;
  std::vector<std::uint16_t> candidates;  // the offering order
  search_result result;
  std::vector<std::uint16_t> found;  // in discovery order
  int rt_at_second = 0;              // round trips when the second item was known
  std::size_t chains_left = 0;
  std::shared_ptr<asio::steady_timer> second_found;  // cancelled: two items known, or discovery over
  bool client_order = false;                         // the pair check saw the offering order win

  std::size_t index(std::uint16_t x) const {
    return static_cast<std::size_t>(std::find(candidates.begin(), candidates.end(), x) - candidates.begin());
  }
  void in_candidate_order(std::vector<std::uint16_t>& v) const {
    std::sort(v.begin(), v.end(), [this](auto a, auto b) { return index(a) < index(b); });
  }
  void note_failure(const pick& p) {
    if (result.failure.empty()) result.failure = p.detail.empty() ? "failed" : p.detail;
  }
  void record(const pick& p, int rt) {
    result.answers.emplace(p.value, p.outcome);
    found.push_back(p.value);
    if (found.size() == 2) {
      rt_at_second = rt;
      second_found->cancel();
    }
  }
};

// Remove-and-repeat over one subset; *rt = the chain's round trips.
asio::awaitable<void> chain(std::shared_ptr<search_state> st, std::vector<std::uint16_t> left, int rt0,
                            int* rt) {
  int mine = rt0;
  // Each round removes one offered item, so this bound is never reached by an honest server.
  const std::size_t max_rounds = left.size() + 1;
  for (std::size_t round = 0; !left.empty() && round < max_rounds && st->result.failure.empty(); ++round) {
    auto p = co_await st->ask(left);
    ++st->result.hellos;
    mine += p.outcome.round_trips;
    if (p.result == pick::kind::failed) {
      st->note_failure(p);
      break;
    }
    if (p.result == pick::kind::none) break;
    st->record(p, mine);
    erase(left, p.value);
  }
  *rt = mine;
  if (--st->chains_left == 0) st->second_found->cancel();
}

asio::awaitable<void> ask_into(asker ask, std::vector<std::uint16_t> offer, pick* out) {
  *out = co_await ask(std::move(offer));
}

// Offers the first two items found in both orders (concurrently with the rest of discovery).
asio::awaitable<void> pair_check(std::shared_ptr<search_state> st, int* rt) {
  if (st->found.size() < 2 && st->chains_left > 0)
    co_await st->second_found->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  if (st->found.size() < 2) co_return;
  std::vector<std::uint16_t> ab{st->found[0], st->found[1]};
  st->in_candidate_order(ab);
  pick forward, backward;
  std::vector<asio::awaitable<void>> tasks;
  tasks.push_back(ask_into(st->ask, ab, &forward));
  tasks.push_back(ask_into(st->ask, {ab[1], ab[0]}, &backward));
  co_await all(std::move(tasks));
  st->result.hellos += 2;
  *rt = st->rt_at_second + std::max(forward.outcome.round_trips, backward.outcome.round_trips);
  st->client_order = forward.result == pick::kind::picked && backward.result == pick::kind::picked &&
                     forward.value == ab[0] && backward.value == ab[1];
}

// Remove-and-repeat over the accepted items only (the server's order when pairs are too many).
asio::awaitable<void> sequential_order(std::shared_ptr<search_state> s, std::vector<std::uint16_t> rest,
                                       std::vector<std::uint16_t>* order, int* rt) {
  const std::size_t max_rounds = rest.size() + 1;
  for (std::size_t round = 0; !rest.empty() && round < max_rounds; ++round) {
    auto p = co_await s->ask(rest);
    ++s->result.hellos;
    *rt += p.outcome.round_trips;
    if (p.result != pick::kind::picked || !contains(rest, p.value)) break;
    order->push_back(p.value);
    erase(rest, p.value);
  }
  // What the server would no longer pick keeps the offering order at the end.
  for (auto x : rest) order->push_back(x);
}

}  // namespace

asio::awaitable<search_result> ordered_search(std::vector<std::uint16_t> candidates, search_plan plan,
                                              asker ask) {
  auto st = std::make_shared<search_state>();
  st->ask = std::move(ask);
  st->candidates = candidates;
  st->second_found = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                          asio::steady_timer::clock_type::time_point::max());
  auto& res = st->result;
  auto left = candidates;
  int rt_first = 0;
  if (plan.probe_first && !left.empty()) {
    // One hello with everything: most servers accept no suite of an old version, and this says
    // so for one hello instead of one per subset.
    auto p = co_await st->ask(left);
    ++res.hellos;
    rt_first = p.outcome.round_trips;
    if (p.result == pick::kind::failed) st->note_failure(p);
    if (p.result != pick::kind::picked) {
      res.round_trips = rt_first;
      co_return res;
    }
    st->record(p, rt_first);
    erase(left, p.value);
  }
  // Interleaved subsets: related suites sit next to each other in the registry (one server
  // family's suites), so dealing them out spreads what a server accepts over every subset.
  const std::size_t k = std::max<std::size_t>(1, std::min(plan.chunks, left.size()));
  std::vector<std::vector<std::uint16_t>> subsets(k);
  for (std::size_t i = 0; i < left.size(); ++i) subsets[i % k].push_back(left[i]);
  std::vector<int> chain_rt(k, 0);
  int pair_rt = 0;
  {
    std::vector<asio::awaitable<void>> tasks;
    st->chains_left = left.empty() ? 0 : k;
    if (!left.empty())
      for (std::size_t i = 0; i < k; ++i)
        tasks.push_back(chain(st, std::move(subsets[i]), rt_first, &chain_rt[i]));
    tasks.push_back(pair_check(st, &pair_rt));
    co_await all(std::move(tasks));
  }
  res.round_trips = std::max(rt_first, pair_rt);
  for (int r : chain_rt) res.round_trips = std::max(res.round_trips, r);

  auto accepted = st->found;
  st->in_candidate_order(accepted);
  const std::size_t n = accepted.size();
  if (n <= 1) {
    res.order = accepted;
    co_return res;
  }
  if (st->client_order) {
    // The server takes the client's first acceptable item: its order is the offering order.
    res.order = accepted;
    res.server_preference = false;
    co_return res;
  }
  // The server's own order. Offer the accepted items reversed as well (as the sequential scan
  // does), for server_preference.
  pick reversed;
  int order_rt = 0;
  bool sorted = false;
  if (n * (n - 1) / 2 <= plan.pair_budget) {
    std::vector<std::pair<std::uint16_t, std::uint16_t>> pairs;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) pairs.emplace_back(accepted[i], accepted[j]);
    std::vector<pick> picks(pairs.size());
    std::vector<asio::awaitable<void>> tasks;
    for (std::size_t i = 0; i < pairs.size(); ++i)
      tasks.push_back(ask_into(st->ask, {pairs[i].first, pairs[i].second}, &picks[i]));
    tasks.push_back(ask_into(st->ask, {accepted.rbegin(), accepted.rend()}, &reversed));
    co_await all(std::move(tasks));
    res.hellos += static_cast<int>(pairs.size()) + 1;
    std::map<std::uint16_t, std::size_t> wins;
    bool consistent = true;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      order_rt = std::max(order_rt, picks[i].outcome.round_trips);
      const auto& p = picks[i];
      if (p.result != pick::kind::picked || (p.value != pairs[i].first && p.value != pairs[i].second)) {
        consistent = false;
        continue;
      }
      ++wins[p.value];
    }
    // A total order gives the items n-1, n-2, ... 0 wins; anything else is asked the slow way.
    std::vector<std::size_t> counts;
    for (auto x : accepted) counts.push_back(wins[x]);
    std::sort(counts.begin(), counts.end());
    for (std::size_t i = 0; i < n && consistent; ++i) consistent = counts[i] == i;
    if (consistent) {
      res.order = accepted;
      std::stable_sort(res.order.begin(), res.order.end(), [&](auto a, auto b) { return wins[a] > wins[b]; });
      sorted = true;
    }
  }
  if (!sorted) {
    // Remove-and-repeat over the accepted items only; the reversed offer goes alongside.
    std::vector<asio::awaitable<void>> tasks;
    tasks.push_back(ask_into(st->ask, {accepted.rbegin(), accepted.rend()}, &reversed));
    res.order.clear();
    tasks.push_back(sequential_order(st, accepted, &res.order, &order_rt));
    co_await all(std::move(tasks));
    ++res.hellos;
    order_rt = std::max(order_rt, reversed.outcome.round_trips);
  }
  res.round_trips += order_rt;
  if (reversed.result == pick::kind::picked) res.server_preference = reversed.value == res.order.front();
  co_return res;
}

namespace {

asio::awaitable<pick> ask_suites(std::uint16_t version, w::hello_params base, responder send,
                                 std::vector<std::uint16_t> offered) {
  base.cipher_suites = offered;
  pick p;
  p.outcome = co_await send(std::move(base));
  if (p.outcome.result == hello_outcome::kind::failed) {
    p.result = pick::kind::failed;
    p.detail = p.outcome.detail;
    co_return p;
  }
  if (p.outcome.result == hello_outcome::kind::refused) co_return p;
  const auto& h = *p.outcome.hello;
  // A server without this version answers with an older one (or a TLS 1.2 ServerHello to a
  // TLS 1.3-only hello): nothing of this version.
  if (h.version != version) co_return p;
  if (!contains(offered, h.cipher_suite)) {
    p.result = pick::kind::failed;
    p.detail = "the server picked a suite that was not offered: " + w::cipher_suite_name(h.cipher_suite);
    co_return p;
  }
  p.result = pick::kind::picked;
  p.value = h.cipher_suite;
  co_return p;
}

asio::awaitable<pick> ask_groups13(w::hello_params base, responder send, std::vector<std::uint16_t> offered) {
  base.supported_groups = offered;
  pick p;
  p.outcome = co_await send(std::move(base));
  if (p.outcome.result != hello_outcome::kind::server_hello) co_return p;
  const auto& h = *p.outcome.hello;
  if (h.version != w::version::tls1_3 || !h.selected_group || !contains(offered, *h.selected_group))
    co_return p;
  p.result = pick::kind::picked;
  p.value = *h.selected_group;
  co_return p;
}

asio::awaitable<pick> ask_curves12(w::hello_params base, responder send, std::vector<std::uint16_t> offered) {
  base.supported_groups = offered;
  pick p;
  p.outcome = co_await send(std::move(base));
  if (p.outcome.result != hello_outcome::kind::server_hello || !p.outcome.key_exchange) co_return p;
  const auto& k = *p.outcome.key_exchange;
  if (k.kind != w::server_params_kind::ecdhe || !k.named_curve || !contains(offered, *k.named_curve))
    co_return p;
  p.result = pick::kind::picked;
  p.value = *k.named_curve;
  co_return p;
}

}  // namespace

asker suite_asker(std::uint16_t version, w::hello_params base, responder send) {
  return [version, base = std::move(base), send = std::move(send)](std::vector<std::uint16_t> offered) {
    return ask_suites(version, base, send, std::move(offered));
  };
}

asker group13_asker(w::hello_params base, std::vector<std::uint16_t> suites, responder send) {
  base.key_shares.clear();
  base.send_key_share = true;
  base.cipher_suites = std::move(suites);
  return [base = std::move(base), send = std::move(send)](std::vector<std::uint16_t> offered) {
    return ask_groups13(base, send, std::move(offered));
  };
}

asker curve12_asker(w::hello_params base, std::vector<std::uint16_t> ecdhe_suites, responder send) {
  base.cipher_suites = std::move(ecdhe_suites);
  return [base = std::move(base), send = std::move(send)](std::vector<std::uint16_t> offered) {
    return ask_curves12(base, send, std::move(offered));
  };
}

std::vector<std::uint16_t> ec_groups(const std::vector<std::uint16_t>& groups) {
  std::vector<std::uint16_t> out;
  for (auto g : groups) {
    const auto* info = w::find_named_group(g);
    if (info && (info->kind == w::group_kind::ec_prime || info->kind == w::group_kind::ec_binary ||
                 info->kind == w::group_kind::montgomery))
      out.push_back(g);
  }
  return out;
}

asio::awaitable<version_scan> search_suites(std::uint16_t version, w::hello_params base, responder send,
                                            search_plan plan) {
  version_scan scan;
  scan.version = version;
  auto r =
      co_await ordered_search(candidate_suites(version), plan, suite_asker(version, std::move(base), send));
  scan.suites = r.order;
  scan.accepted = !scan.suites.empty();
  scan.server_preference = r.server_preference;
  scan.hellos = r.hellos;
  scan.round_trips = r.round_trips;
  scan.failure = r.failure;
  for (auto c : scan.suites) {
    const auto& out = r.answers[c];
    scan.groups.push_back(out.hello ? out.hello->selected_group : std::nullopt);
  }
  // The chain the server sends with its first choice (what the sequential scan saw first).
  if (!scan.suites.empty()) {
    if (auto& first = r.answers[scan.suites.front()]; first.chain) scan.chain = first.chain;
    for (auto c : scan.suites)
      if (!scan.chain && r.answers[c].chain) scan.chain = r.answers[c].chain;
  }
  co_return scan;
}

}  // namespace postern::probe
