#include "diagnose/follow_up.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "postern/diagnose/finding.hpp"

namespace postern::diagnose {
namespace {

const follow_up& by_label(const std::string& label) {
  const auto& all = follow_ups();
  auto it = std::find_if(all.begin(), all.end(), [&](const follow_up& f) { return f.label == label; });
  EXPECT_NE(it, all.end()) << label;
  return *it;
}

bool all_start_with(const std::vector<std::string>& suites, const std::string& prefix) {
  return !suites.empty() && std::all_of(suites.begin(), suites.end(),
                                        [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
}

// Each follow-up must offer exactly one thing strict refuses, or its success proves nothing.
TEST(follow_ups, rsa_probe_offers_only_rsa_key_exchange_on_tls12) {
  const auto& f = by_label("probe:rsa-kx");
  EXPECT_EQ(f.cause, "tls.kx.rsa-only");
  EXPECT_TRUE(all_start_with(f.policy.tls12_suites, "TLS_RSA_WITH_"));
  EXPECT_TRUE(f.policy.tls13_suites.empty());
  EXPECT_EQ(f.policy.min_version, tls::version::tls1_2);
  EXPECT_EQ(f.policy.max_version, tls::version::tls1_2);
}

TEST(follow_ups, dhe_probe_offers_only_dhe) {
  const auto& f = by_label("probe:dhe");
  EXPECT_EQ(f.cause, "tls.kx.dhe-only");
  EXPECT_TRUE(all_start_with(f.policy.tls12_suites, "TLS_DHE_"));
}

TEST(follow_ups, cbc_probe_offers_only_ecdhe_with_cbc) {
  const auto& f = by_label("probe:ecdhe-cbc");
  EXPECT_EQ(f.cause, "tls.cipher.cbc-only");
  EXPECT_TRUE(all_start_with(f.policy.tls12_suites, "TLS_ECDHE_"));
  for (const auto& s : f.policy.tls12_suites) {
    EXPECT_EQ(s.find("_GCM_"), std::string::npos) << s;
    EXPECT_EQ(s.find("CHACHA20"), std::string::npos) << s;
  }
}

TEST(follow_ups, sha1_probe_is_strict_but_for_its_signatures) {
  const auto& f = by_label("probe:sha1-sigalgs");
  const auto& strict = *tls::profile("strict");
  EXPECT_EQ(f.cause, "tls.sigalg.sha1-only");
  EXPECT_EQ(f.policy.tls12_suites, strict.tls12_suites);
  EXPECT_EQ(f.policy.groups, strict.groups);
  EXPECT_EQ(f.policy.signature_schemes, (std::vector<std::string>{"rsa_pkcs1_sha1", "ecdsa_sha1"}));
}

TEST(follow_ups, old_version_probe_offers_only_tls10_and_tls11) {
  const auto& f = by_label("probe:tls1.0-1.1");
  EXPECT_EQ(f.cause, "tls.version.too-old");
  EXPECT_EQ(f.policy.min_version, tls::version::tls1_0);
  EXPECT_EQ(f.policy.max_version, tls::version::tls1_1);
}

TEST(exit_codes, follow_sysexits_by_cause_family) {
  EXPECT_EQ(exit_code_for_cause(""), 0);
  EXPECT_EQ(exit_code_for_cause("tls.kx.rsa-only"), 77);
  EXPECT_EQ(exit_code_for_cause("mode.plaintext-on-tls-port"), 77);
  EXPECT_EQ(exit_code_for_cause("smtp.starttls-missing"), 77);
  EXPECT_EQ(exit_code_for_cause("net.refused"), 69);
  EXPECT_EQ(exit_code_for_cause("net.dns"), 69);
  EXPECT_EQ(exit_code_for_cause("net.greeting-timeout"), 75);
  EXPECT_EQ(exit_code_for_cause("smtp.reply-too-long"), 76);
}

TEST(diagnosis, exit_code_is_the_first_error_finding) {
  diagnosis d;
  EXPECT_EQ(d.exit_code(), 0);
  d.findings.push_back({"net.timeout", severity::warning, "", {}, {}});
  EXPECT_EQ(d.exit_code(), 0);
  d.findings.push_back({"tls.cert.expired", severity::error, "", {}, {}});
  d.findings.push_back({"net.refused", severity::error, "", {}, {}});
  EXPECT_EQ(d.exit_code(), 77);
}

}  // namespace
}  // namespace postern::diagnose
