// The scan algorithms against a fake server: suites in the server's order, preference
// detection, version refusal, bounded rounds, group enumeration.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <map>
#include <random>

#include "probe/enumerate.hpp"

namespace postern::probe {
namespace {

namespace w = wire;

// A TLS server reduced to its choices. It answers like OpenSSL: the highest common version,
// then the first common suite in its own (or the client's) order.
struct fake_server {
  std::map<std::uint16_t, std::vector<std::uint16_t>> suites;  // version -> its order
  bool server_order = true;
  std::vector<std::uint16_t> groups13;  // its order
  std::vector<std::uint16_t> curves12;
  std::uint32_t dh_bits = 0;
  bool broken_picks_unoffered = false;
  bool network_down = false;
  int hellos = 0;

  hello_outcome answer(const w::hello_params& p) {
    ++hellos;
    hello_outcome o;
    o.round_trips = 2;  // connect, hello
    if (network_down) {
      o.detail = "net.refused";
      return o;
    }
    std::vector<std::uint16_t> asked = p.supported_versions;
    if (asked.empty())
      for (auto v : {w::version::tls1_2, w::version::tls1_1, w::version::tls1_0, w::version::ssl3})
        if (v <= p.legacy_version) asked.push_back(v);
    std::sort(asked.rbegin(), asked.rend());
    // A TLS 1.2 server ignores supported_versions and falls back to legacy_version.
    if (!suites.contains(w::version::tls1_3) && !p.supported_versions.empty()) asked = {p.legacy_version};
    for (auto v : asked) {
      auto it = suites.find(v);
      if (it == suites.end()) continue;
      const auto& mine = it->second;
      std::optional<std::uint16_t> pick;
      if (broken_picks_unoffered) pick = mine.front();
      const auto& first = server_order ? mine : p.cipher_suites;
      const auto& second = server_order ? p.cipher_suites : mine;
      for (auto c : first)
        if (!pick && std::find(second.begin(), second.end(), c) != second.end()) pick = c;
      if (!pick) break;
      w::server_hello h;
      h.version = v;
      h.cipher_suite = *pick;
      if (v == w::version::tls1_3) {
        for (auto g : groups13)
          if (std::find(p.supported_groups.begin(), p.supported_groups.end(), g) !=
              p.supported_groups.end()) {
            h.selected_group = g;
            break;
          }
        if (!h.selected_group) break;
        h.hello_retry_request = p.key_shares.empty();
      } else if (const auto* info = w::find_cipher_suite(*pick); !info) {
        // not a registry suite: no parameters to show
      } else if (info->kx == w::key_exchange::ecdhe) {
        w::server_key_exchange k;
        k.kind = w::server_params_kind::ecdhe;
        for (auto g : curves12)
          if (std::find(p.supported_groups.begin(), p.supported_groups.end(), g) !=
              p.supported_groups.end()) {
            k.named_curve = g;
            break;
          }
        if (!k.named_curve) break;
        o.key_exchange = k;
      } else if (info->kx == w::key_exchange::dhe) {
        w::server_key_exchange k;
        k.kind = w::server_params_kind::dhe;
        k.prime_bits = dh_bits;
        o.key_exchange = k;
      }
      o.result = hello_outcome::kind::server_hello;
      o.hello = h;
      if (v < w::version::tls1_3) o.chain = w::certificate_chain{{"leaf-der"}};
      return o;
    }
    o.result = hello_outcome::kind::refused;
    o.alert = w::alert{2, w::alert_description::handshake_failure};
    return o;
  }
};

asio::awaitable<hello_outcome> ask(fake_server* s, w::hello_params p) { co_return s->answer(p); }

responder to(fake_server& s) {
  return [ps = &s](w::hello_params p) { return ask(ps, std::move(p)); };
}

template <class T>
T run(asio::awaitable<T> a) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  return std::move(*out);
}

constexpr std::uint16_t rsa_gcm128 = 0x009c, rsa_gcm256 = 0x009d, ecdhe_gcm128 = 0xc02f,
                        ecdhe_gcm256 = 0xc030, aes128 = 0x1301, aes256 = 0x1302, chacha = 0x1303;

TEST(ProbeEnumerate, FindsEverySuiteInServerOrder) {
  fake_server s;
  s.suites[w::version::tls1_2] = {ecdhe_gcm256, rsa_gcm128, ecdhe_gcm128, rsa_gcm256};
  s.curves12 = {w::group::x25519};
  auto scan = run(enumerate_suites(w::version::tls1_2, hello_for(w::version::tls1_2, "mx"), to(s)));
  EXPECT_TRUE(scan.accepted);
  EXPECT_EQ(scan.suites, s.suites[w::version::tls1_2]);
  ASSERT_TRUE(scan.server_preference.has_value());
  EXPECT_TRUE(*scan.server_preference);
  ASSERT_TRUE(scan.chain);
  // Work grows with what the server accepts: one hello per suite, one refusal, one order check.
  EXPECT_EQ(scan.hellos, 4 + 1 + 1);
  EXPECT_EQ(s.hellos, scan.hellos);
}

TEST(ProbeEnumerate, ClientOrderServerIsDetected) {
  fake_server s;
  s.server_order = false;
  s.suites[w::version::tls1_2] = {rsa_gcm256, rsa_gcm128};
  auto scan = run(enumerate_suites(w::version::tls1_2, hello_for(w::version::tls1_2, "mx"), to(s)));
  EXPECT_EQ(scan.suites.size(), 2u);
  ASSERT_TRUE(scan.server_preference.has_value());
  EXPECT_FALSE(*scan.server_preference);
}

TEST(ProbeEnumerate, Tls13SuitesAndTheGroupsSeen) {
  fake_server s;
  s.suites[w::version::tls1_3] = {chacha, aes256, aes128};
  s.suites[w::version::tls1_2] = {ecdhe_gcm128};
  s.groups13 = {w::group::x25519, w::group::secp384r1};
  auto scan = run(enumerate_suites(w::version::tls1_3, hello_for(w::version::tls1_3, "mx"), to(s)));
  EXPECT_EQ(scan.suites, (std::vector<std::uint16_t>{chacha, aes256, aes128}));
  EXPECT_FALSE(scan.chain);  // TLS 1.3 sends it encrypted
  ASSERT_EQ(scan.groups.size(), 3u);
  EXPECT_EQ(scan.groups[0], w::group::x25519);
}

TEST(ProbeEnumerate, VersionTheServerLacksIsNotAccepted) {
  fake_server s;
  s.suites[w::version::tls1_2] = {rsa_gcm128};
  // Asked for TLS 1.3 only, a TLS 1.2 server answers in TLS 1.2: not TLS 1.3.
  auto v13 = run(enumerate_suites(w::version::tls1_3, hello_for(w::version::tls1_3, "mx"), to(s)));
  EXPECT_FALSE(v13.accepted);
  EXPECT_EQ(v13.hellos, 1);
  auto v10 = run(enumerate_suites(w::version::tls1_0, hello_for(w::version::tls1_0, "mx"), to(s)));
  EXPECT_FALSE(v10.accepted);
  EXPECT_TRUE(v10.failure.empty());
}

TEST(ProbeEnumerate, StopsOnNetworkFailure) {
  fake_server s;
  s.network_down = true;
  auto scan = run(enumerate_suites(w::version::tls1_2, hello_for(w::version::tls1_2, "mx"), to(s)));
  EXPECT_FALSE(scan.accepted);
  EXPECT_EQ(scan.failure, "net.refused");
  EXPECT_EQ(s.hellos, 1);
}

TEST(ProbeEnumerate, MisbehavingServerCannotLoopForever) {
  fake_server s;
  s.suites[w::version::tls1_2] = {0xfefe};  // not in any hello we send
  s.broken_picks_unoffered = true;
  auto scan = run(enumerate_suites(w::version::tls1_2, hello_for(w::version::tls1_2, "mx"), to(s)));
  EXPECT_FALSE(scan.accepted);
  EXPECT_NE(scan.failure.find("not offered"), std::string::npos);
  EXPECT_EQ(s.hellos, 1);
}

TEST(ProbeEnumerate, EveryRegistrySuiteCanBeOffered) {
  // Suites OpenSSL no longer implements are offered too; the hello stays encodable.
  auto c12 = candidate_suites(w::version::tls1_2);
  EXPECT_GT(c12.size(), 300u);
  EXPECT_NE(std::find(c12.begin(), c12.end(), 0x0003), c12.end());  // TLS_RSA_EXPORT_WITH_RC4_40_MD5
  auto p = hello_for(w::version::tls1_2, "mx.example");
  p.cipher_suites = c12;
  EXPECT_NO_THROW(w::build_client_hello(p));
  auto c13 = candidate_suites(w::version::tls1_3);
  for (auto c : c13) EXPECT_TRUE(w::find_cipher_suite(c)->tls13());
}

TEST(ProbeEnumerate, Tls13GroupsByHelloRetryRequest) {
  fake_server s;
  s.suites[w::version::tls1_3] = {aes128};
  s.groups13 = {w::group::secp384r1, w::group::x25519, w::group::ffdhe2048};
  int hellos = 0;
  auto groups = run(enumerate_groups_tls13(hello_for(w::version::tls1_3, "mx"), {aes128}, to(s), &hellos));
  EXPECT_EQ(groups, s.groups13);
  EXPECT_EQ(hellos, 4);
}

TEST(ProbeEnumerate, Tls12CurvesAndDhe) {
  fake_server s;
  s.suites[w::version::tls1_2] = {ecdhe_gcm128, 0x009e};
  s.curves12 = {w::group::secp256r1, w::group::x25519};
  s.dh_bits = 3072;
  auto curves = run(enumerate_curves_tls12(hello_for(w::version::tls1_2, "mx"), {ecdhe_gcm128}, to(s)));
  EXPECT_EQ(curves, s.curves12);
  auto bits = run(dhe_prime_bits(hello_for(w::version::tls1_2, "mx"), {0x009e}, to(s)));
  EXPECT_EQ(bits, 3072u);
}

TEST(ProbeEnumerate, OutcomeFromRealBytes) {
  // A fatal handshake_failure alert: refused.
  auto refused =
      outcome_from_events(w::read_server_flight(std::string("\x15\x03\x03\x00\x02\x02\x28", 7), true));
  EXPECT_EQ(refused.result, hello_outcome::kind::refused);
  ASSERT_TRUE(refused.alert);
  EXPECT_EQ(refused.alert->description, w::alert_description::handshake_failure);
  // Hung up without a byte: refused too (servers do that to unacceptable hellos).
  EXPECT_EQ(outcome_from_events(w::read_server_flight("", true)).result, hello_outcome::kind::refused);
  // An SMTP greeting: not TLS.
  auto text = outcome_from_events(w::read_server_flight("220 mx ESMTP\r\n", true));
  EXPECT_EQ(text.result, hello_outcome::kind::failed);
  EXPECT_EQ(text.detail.rfind("plaintext_reply", 0), 0u);
}

// The concurrent search must give what the sequential one gives, whatever the server accepts
// and whichever order it follows.
TEST(ProbeSearch, SameAsSequentialOnRandomServers) {
  std::mt19937 rng(14);
  const auto c12 = candidate_suites(w::version::tls1_2);
  const auto c13 = candidate_suites(w::version::tls1_3);
  for (int round = 0; round < 60; ++round) {
    fake_server s;
    s.server_order = round % 2 == 0;
    auto pick_some = [&](const std::vector<std::uint16_t>& from, std::size_t n) {
      auto v = from;
      std::shuffle(v.begin(), v.end(), rng);
      v.resize(std::min(n, v.size()));
      return v;
    };
    s.suites[w::version::tls1_2] = pick_some(c12, static_cast<std::size_t>(round % 7 == 0 ? 0 : rng() % 70));
    if (s.suites[w::version::tls1_2].empty()) s.suites.erase(w::version::tls1_2);
    if (round % 3 != 0) s.suites[w::version::tls1_3] = pick_some(c13, 1 + rng() % c13.size());
    s.groups13 = pick_some(hello_for(w::version::tls1_3, "mx").supported_groups, 1 + rng() % 12);
    s.curves12 = pick_some(ec_groups(hello_for(w::version::tls1_2, "mx").supported_groups), 1 + rng() % 6);
    for (auto v : {w::version::tls1_3, w::version::tls1_2}) {
      SCOPED_TRACE("round " + std::to_string(round) + " version " + std::to_string(v));
      auto seq = run(enumerate_suites(v, hello_for(v, "mx"), to(s)));
      for (search_plan plan :
           {search_plan{.chunks = 16, .probe_first = false}, search_plan{.chunks = 3, .probe_first = true},
            search_plan{.chunks = 8, .probe_first = false, .pair_budget = 0}}) {
        auto par = run(search_suites(v, hello_for(v, "mx"), to(s), plan));
        EXPECT_EQ(par.accepted, seq.accepted);
        EXPECT_EQ(par.suites, seq.suites);
        EXPECT_EQ(par.server_preference, seq.server_preference);
        EXPECT_EQ(par.chain.has_value(), seq.chain.has_value());
        EXPECT_EQ(par.groups, seq.groups);
        EXPECT_GT(par.round_trips, 0);
      }
    }
    if (s.suites.contains(w::version::tls1_3)) {
      auto base = hello_for(w::version::tls1_3, "mx");
      auto seq = run(enumerate_groups_tls13(base, s.suites[w::version::tls1_3], to(s)));
      auto par = run(ordered_search(base.supported_groups, {.chunks = 6, .probe_first = true},
                                    group13_asker(base, c13, to(s))));
      EXPECT_EQ(par.order, seq) << "round " << round;
    }
    if (s.suites.contains(w::version::tls1_2)) {
      std::vector<std::uint16_t> ecdhe;
      for (auto c : s.suites[w::version::tls1_2])
        if (w::find_cipher_suite(c)->kx == w::key_exchange::ecdhe) ecdhe.push_back(c);
      if (ecdhe.empty()) continue;
      auto base = hello_for(w::version::tls1_2, "mx");
      auto seq = run(enumerate_curves_tls12(base, ecdhe, to(s)));
      auto par = run(ordered_search(ec_groups(base.supported_groups), {.chunks = 4, .probe_first = true},
                                    curve12_asker(base, ecdhe, to(s))));
      EXPECT_EQ(par.order, seq) << "round " << round;
    }
  }
}

// The point of the search: few sequential round trips, for a bounded number of extra hellos.
TEST(ProbeSearch, FewRoundTripsForManySuites) {
  fake_server s;
  s.server_order = false;
  s.curves12 = {w::group::x25519};
  auto c12 = candidate_suites(w::version::tls1_2);
  for (std::size_t i = 0; i < c12.size(); i += 5) s.suites[w::version::tls1_2].push_back(c12[i]);  // ~60
  const auto n = s.suites[w::version::tls1_2].size();
  auto seq = run(enumerate_suites(w::version::tls1_2, hello_for(w::version::tls1_2, "mx"), to(s)));
  auto par = run(search_suites(w::version::tls1_2, hello_for(w::version::tls1_2, "mx"), to(s),
                               {.chunks = 16, .probe_first = false}));
  EXPECT_EQ(par.suites, seq.suites);
  // Each of the 16 chains asks about n/16 + 1 times; the pair check runs alongside.
  EXPECT_LE(par.round_trips, 2 * static_cast<int>((n + 15) / 16 + 2));
  EXPECT_LE(par.hellos, static_cast<int>(n) + 16 + 2);
  EXPECT_EQ(seq.hellos, static_cast<int>(n) + 2);
}

// Too many items for pairwise offers: the server's order by remove-and-repeat over them.
TEST(ProbeSearch, ServerOrderWithoutPairs) {
  fake_server s;
  s.suites[w::version::tls1_2] = {rsa_gcm128, rsa_gcm256, ecdhe_gcm128};
  s.curves12 = {w::group::x25519};
  auto par = run(search_suites(w::version::tls1_2, hello_for(w::version::tls1_2, "mx"), to(s),
                               {.chunks = 4, .probe_first = false, .pair_budget = 0}));
  EXPECT_EQ(par.suites, s.suites[w::version::tls1_2]);
  ASSERT_TRUE(par.server_preference.has_value());
  EXPECT_TRUE(*par.server_preference);
}

}  // namespace
}  // namespace postern::probe
