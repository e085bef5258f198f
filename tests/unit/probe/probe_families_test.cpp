// The client families of the compatibility matrix: every list names real registry entries,
// and OpenSSL accepts each family as a client context.
#include <gtest/gtest.h>

#include <set>

#include "postern/probe/wire.hpp"
#include "probe/client_families.hpp"
#include "tls/openssl_context.hpp"

namespace postern::probe {
namespace {

TEST(ProbeFamilies, IdsAreTheJsonContract) {
  std::vector<std::string> ids;
  for (const auto& f : client_families()) ids.push_back(f.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"rustls", "go", "openssl", "python", "java17", "node",
                                           "postern-strict", "postern-compat", "postern-legacy"}));
}

TEST(ProbeFamilies, EveryNameIsInTheIanaRegistries) {
  for (const auto& f : client_families()) {
    SCOPED_TRACE(f.id);
    const auto& p = f.policy;
    EXPECT_FALSE(p.tls13_suites.empty());
    EXPECT_FALSE(p.tls12_suites.empty());
    std::set<std::string> seen;
    for (const auto& s : p.tls13_suites) {
      const auto* info = wire::find_cipher_suite(s);
      ASSERT_NE(info, nullptr) << s;
      EXPECT_TRUE(info->tls13()) << s;
      EXPECT_TRUE(seen.insert(s).second) << "duplicate " << s;
    }
    for (const auto& s : p.tls12_suites) {
      const auto* info = wire::find_cipher_suite(s);
      ASSERT_NE(info, nullptr) << s;
      EXPECT_FALSE(info->tls13()) << s;
      EXPECT_TRUE(seen.insert(s).second) << "duplicate " << s;
    }
    for (const auto& g : p.groups) EXPECT_NE(wire::find_named_group(g), nullptr) << g;
    for (const auto& s : p.signature_schemes) EXPECT_NE(wire::find_signature_scheme(s), nullptr) << s;
    EXPECT_LE(p.min_version, p.max_version);
  }
}

TEST(ProbeFamilies, ModernDefaultsHaveNoRsaKeyExchange) {
  for (const auto& f : client_families()) {
    if (f.id != "rustls" && f.id != "go" && f.id != "python" && f.id != "postern-strict") continue;
    for (const auto& s : f.policy.tls12_suites)
      EXPECT_TRUE(wire::find_cipher_suite(s)->forward_secret()) << f.id << " " << s;
  }
  // rustls' defaults are exactly postern strict's suites (DESIGN.md).
  const auto& all = client_families();
  EXPECT_EQ(all[0].policy.tls13_suites, tls::profile("strict")->tls13_suites);
  EXPECT_EQ(all[0].policy.tls12_suites, tls::profile("strict")->tls12_suites);
}

TEST(ProbeFamilies, PosternFamiliesAreTheProfiles) {
  for (const auto& f : client_families()) {
    if (f.id.rfind("postern-", 0) != 0) continue;
    EXPECT_EQ(f.policy, *tls::profile(f.id.substr(8)));
  }
}

TEST(ProbeFamilies, OpenSslBuildsEveryFamily) {
  for (const auto& f : client_families()) {
    std::string error;
    auto ctx = tls::make_client_context(f.policy, {"", true}, error);
    EXPECT_TRUE(ctx) << f.id << ": " << error;
  }
}

}  // namespace
}  // namespace postern::probe
