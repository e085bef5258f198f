#include "postern/watch/diff.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "postern/watch/prometheus.hpp"

namespace postern::watch {
namespace {

constexpr std::int64_t day = 86400;
const std::int64_t t0 = *parse_utc("2026-12-01T00:00:00Z");

cert_facts leaf(const std::string& issuer, const std::string& fp, const std::string& key,
                const std::string& not_after = "2030-01-01T00:00:00Z") {
  return {"CN=localhost", issuer, "2026-01-01T00:00:00Z", not_after, fp, key};
}

// A healthy modern server: TLS 1.3 and 1.2, ECDHE with AEAD, every family connects.
profile modern(std::int64_t time = t0) {
  profile p;
  p.host = "mx.example.net";
  p.port = 465;
  p.time = time;
  p.mode = "tls";
  p.versions = {"TLSv1.3", "TLSv1.2"};
  p.suites = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"};
  p.groups = {"x25519", "secp256r1"};
  p.auth = true;
  p.chain = {leaf("CN=Root A", "aa", "k1")};
  p.chain_verifies = true;
  for (const char* f : {"rustls", "go", "openssl", "postern-strict", "postern-compat"})
    p.clients.push_back({f, true, "TLSv1.3", "TLS_AES_256_GCM_SHA384", ""});
  return p;
}

// The legacy relay: TLS 1.2 with RSA key exchange only; strict families fail.
profile rsa_only(std::int64_t time = t0) {
  profile p = modern(time);
  p.versions = {"TLSv1.2"};
  p.suites = {"TLS_RSA_WITH_AES_128_GCM_SHA256"};
  p.groups = {};
  for (auto& c : p.clients) {
    const bool weak_ok = c.family == "openssl" || c.family == "postern-compat";
    c = {c.family, weak_ok, weak_ok ? "TLSv1.2" : "", weak_ok ? "TLS_RSA_WITH_AES_128_GCM_SHA256" : "",
         weak_ok ? "" : "tls.handshake-failed"};
  }
  p.causes = {"tls.kx.rsa-only"};  // the probe's diagnosis of the failed handshakes
  return p;
}

std::vector<std::string> codes(const std::vector<finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.code);
  return out;
}

const finding* find(const std::vector<finding>& fs, const std::string& code) {
  auto it = std::find_if(fs.begin(), fs.end(), [&](const finding& f) { return f.code == code; });
  return it == fs.end() ? nullptr : &*it;
}

TEST(WatchDiff, IdenticalProfilesGiveNothing) { EXPECT_TRUE(compare(modern(), modern(t0 + day)).empty()); }

TEST(WatchDiff, FirstRunIsABaseline) {
  auto fs = compare(std::nullopt, modern());
  ASSERT_EQ(codes(fs), std::vector<std::string>{"watch.baseline"});
  EXPECT_EQ(fs[0].level, level::note);
  EXPECT_EQ(monitoring_status(fs), 0);
}

TEST(WatchDiff, ExpiryThresholds) {
  compare_options o;  // 21 / 7 days
  auto p = modern();
  p.chain = {leaf("CN=Root A", "aa", "k1", format_utc(t0 + 30 * day))};
  EXPECT_EQ(find(compare(modern(), p, o), "watch.cert.expiring"), nullptr);
  p.chain[0].not_after = format_utc(t0 + 20 * day);
  auto fs = compare(modern(), p, o);
  ASSERT_NE(find(fs, "watch.cert.expiring"), nullptr);
  EXPECT_EQ(find(fs, "watch.cert.expiring")->level, level::warning);
  EXPECT_NE(find(fs, "watch.cert.expiring")->summary.find("20 days"), std::string::npos);
  p.chain[0].not_after = format_utc(t0 + 6 * day);
  fs = compare(modern(), p, o);
  EXPECT_EQ(find(fs, "watch.cert.expiring")->level, level::critical);
  p.chain[0].not_after = format_utc(t0 - 1);
  fs = compare(modern(), p, o);
  ASSERT_NE(find(fs, "watch.cert.expired"), nullptr);
  EXPECT_EQ(find(fs, "watch.cert.expiring"), nullptr);
  EXPECT_EQ(monitoring_status(fs), 2);
  o.check_expiry = false;  // --history
  EXPECT_EQ(find(compare(modern(), p, o), "watch.cert.expired"), nullptr);
}

TEST(WatchDiff, RenewalBySameIssuerIsANote) {
  auto p = modern(t0 + day);
  p.chain = {leaf("CN=Root A", "bb", "k2")};
  auto fs = compare(modern(), p);
  ASSERT_EQ(codes(fs), std::vector<std::string>{"watch.cert.replaced"});
  EXPECT_EQ(fs[0].level, level::note);
  EXPECT_NE(fs[0].summary.find("new key"), std::string::npos);
  p.chain = {leaf("CN=Root A", "bb", "k1")};
  EXPECT_NE(compare(modern(), p)[0].summary.find("same key"), std::string::npos);
}

TEST(WatchDiff, OtherIssuerIsAWarningAndChainChangeANote) {
  auto p = modern(t0 + day);
  p.chain = {leaf("CN=Intermediate B", "cc", "k3"), {"CN=Intermediate B", "CN=Root A", "", "", "ii", "ik"}};
  auto fs = compare(modern(), p);
  EXPECT_EQ(codes(fs), (std::vector<std::string>{"watch.cert.issuer-changed", "watch.chain.changed"}));
  EXPECT_EQ(fs[0].level, level::warning);
  EXPECT_EQ(monitoring_status(fs), 1);
}

TEST(WatchDiff, ChainThatStopsVerifyingIsCritical) {
  auto p = modern(t0 + day);
  p.chain_verifies = false;
  p.chain_problem = "tls.cert.incomplete-chain";
  auto fs = compare(modern(), p);
  ASSERT_NE(find(fs, "watch.chain.unverified"), nullptr);
  EXPECT_EQ(find(fs, "watch.chain.unverified")->after, "tls.cert.incomplete-chain");
  // A current-state check: reported again while it lasts.
  EXPECT_NE(find(compare(p, p), "watch.chain.unverified"), nullptr);
}

TEST(WatchDiff, VersionsSuitesGroups) {
  auto p = modern(t0 + day);
  p.versions = {"TLSv1.2", "TLSv1.0"};
  p.suites = {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"};
  p.groups = {"x25519", "secp384r1"};
  auto fs = compare(modern(), p);
  auto removed = find(fs, "watch.tls.version-removed");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->level, level::warning);
  EXPECT_NE(removed->summary.find("TLSv1.3"), std::string::npos);
  auto added = find(fs, "watch.tls.version-added");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->level, level::warning);  // a deprecated version came back
  EXPECT_EQ(std::count_if(fs.begin(), fs.end(),
                          [](const finding& f) { return f.code == "watch.tls.suite-removed"; }),
            2);
  EXPECT_EQ(find(fs, "watch.tls.suite-added")->after, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
  EXPECT_EQ(find(fs, "watch.tls.group-removed")->before, "secp256r1");
  EXPECT_EQ(find(fs, "watch.tls.group-added")->after, "secp384r1");
  // Turning a deprecated version off is good news.
  auto q = p;
  q.time += day;
  q.versions = {"TLSv1.2"};
  EXPECT_EQ(find(compare(p, q), "watch.tls.version-removed")->level, level::note);
}

TEST(WatchDiff, ClientFamiliesLostAndGained) {
  auto fs = compare(modern(), rsa_only(t0 + day));
  auto lost =
      std::count_if(fs.begin(), fs.end(), [](const finding& f) { return f.code == "watch.client.lost"; });
  EXPECT_EQ(lost, 3);  // rustls, go, postern-strict; openssl and postern-compat still connect
  EXPECT_NE(find(fs, "watch.strict.broken"), nullptr);
  EXPECT_EQ(find(fs, "watch.strict.broken")->level, level::critical);
  EXPECT_NE(find(fs, "watch.client.lost")->summary.find("the server: tls.kx.rsa-only"), std::string::npos);
  auto back = compare(rsa_only(), modern(t0 + day));
  EXPECT_EQ(std::count_if(back.begin(), back.end(),
                          [](const finding& f) { return f.code == "watch.client.gained"; }),
            3);
  EXPECT_EQ(find(back, "watch.strict.broken"), nullptr);
}

TEST(WatchDiff, SmtpCapabilities) {
  profile before = modern();
  before.port = 587;
  before.mode = "starttls";
  before.starttls = true;
  profile now = before;
  now.time += day;
  now.mode = "plain";
  now.starttls = false;
  now.auth = false;
  auto fs = compare(before, now);
  EXPECT_EQ(find(fs, "watch.smtp.starttls-gone")->level, level::critical);
  EXPECT_EQ(find(fs, "watch.smtp.auth-gone")->level, level::warning);
  EXPECT_EQ(find(fs, "watch.port.mode-changed")->after, "plain");
  auto back = compare(now, before);
  EXPECT_NE(find(back, "watch.smtp.starttls-appeared"), nullptr);
  EXPECT_NE(find(back, "watch.smtp.auth-appeared"), nullptr);
}

TEST(WatchDiff, PortUnreachableThenAnswering) {
  profile down;
  down.host = "mx.example.net";
  down.port = 465;
  down.time = t0 + day;
  down.mode = "closed";
  down.error_code = "net.refused";
  auto fs = compare(modern(), down);
  ASSERT_EQ(codes(fs), std::vector<std::string>{"watch.port.unreachable"});
  EXPECT_EQ(fs[0].level, level::critical);
  EXPECT_EQ(fs[0].after, "net.refused");
  EXPECT_EQ(monitoring_status(fs), 2);
  auto up = compare(down, modern(t0 + 2 * day));
  EXPECT_EQ(codes(up), std::vector<std::string>{"watch.port.answering"});
}

TEST(WatchDiff, AllowanceNoLongerNeeded) {
  compare_options o;
  o.uses = {{"account", "aliyun", "mx.example.net", 0, "compat", "allow compat"},
            {"host-memory", "465/tls", "mx.example.net", 465, "compat", ""},
            {"account", "elsewhere", "other.example.net", 0, "compat", "allow compat"},  // another host
            {"account", "strict-one", "mx.example.net", 0, "strict", ""}};
  auto p = modern(t0 + day);
  p.clients = {{"postern-strict", true, "TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", ""}};
  auto fs = compare(rsa_only(), p, o);
  std::vector<const finding*> unneeded;
  for (const auto& f : fs)
    if (f.code == "watch.allowance.unneeded") unneeded.push_back(&f);
  ASSERT_EQ(unneeded.size(), 2u);
  EXPECT_EQ(unneeded[0]->summary,
            "mx.example.net now does ECDHE with AES-GCM (postern strict connects on port 465: TLSv1.2, "
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384): remove `allow compat` from account aliyun");
  EXPECT_NE(unneeded[1]->summary.find("postern hosts forget mx.example.net:465"), std::string::npos);
  EXPECT_EQ(unneeded[0]->level, level::warning);
  // Still RSA-only: the allowance is needed, nothing to say about it.
  EXPECT_EQ(find(compare(rsa_only(), rsa_only(t0 + day), o), "watch.allowance.unneeded"), nullptr);
}

TEST(WatchDiff, StrictBrokenForAStrictUseEvenWithoutHistory) {
  compare_options o;
  o.uses = {{"host-memory", "465/tls", "mx.example.net", 465, "strict", ""}};
  auto fs = compare(std::nullopt, rsa_only(), o);
  auto broken = find(fs, "watch.strict.broken");
  ASSERT_NE(broken, nullptr);
  EXPECT_NE(broken->summary.find("tls.kx.rsa-only"), std::string::npos);
  EXPECT_NE(broken->summary.find("the host memory's 465/tls route"), std::string::npos);
  // A use on another port of the host is not affected by this port.
  o.uses[0].port = 587;
  EXPECT_EQ(find(compare(std::nullopt, rsa_only(), o), "watch.strict.broken"), nullptr);
}

TEST(WatchDiff, Differences) {
  auto d = differences(modern(), rsa_only(t0 + day));
  auto versions = std::find_if(d.begin(), d.end(), [](const difference& x) { return x.field == "versions"; });
  ASSERT_NE(versions, d.end());
  EXPECT_EQ(versions->removed, std::vector<std::string>{"TLSv1.3"});
  EXPECT_TRUE(versions->added.empty());
  EXPECT_TRUE(differences(modern(), modern(t0 + day)).empty());
}

TEST(WatchDiff, DescribeSuite) {
  EXPECT_EQ(describe_suite("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLSv1.2"), "ECDHE with AES-GCM");
  EXPECT_EQ(describe_suite("TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3"), "TLS 1.3 with ChaCha20-Poly1305");
  EXPECT_EQ(describe_suite("TLS_RSA_WITH_AES_128_CBC_SHA", "TLSv1.2"), "RSA key exchange with CBC");
}

TEST(WatchPrometheus, MetricsPerTarget) {
  auto p = modern();
  p.chain[0].not_after = format_utc(t0 + 10 * day);
  auto text = render_prometheus({p}, compare(std::nullopt, p), t0);
  EXPECT_NE(text.find("# TYPE postern_watch_cert_expiry_seconds gauge\n"), std::string::npos);
  EXPECT_NE(text.find("postern_watch_cert_expiry_seconds{target=\"mx.example.net:465\"} 864000\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("postern_watch_tls_version_accepted{target=\"mx.example.net:465\",version=\"TLSv1.1\"} 0\n"),
      std::string::npos);
  EXPECT_NE(text.find("postern_watch_client_ok{target=\"mx.example.net:465\",family=\"rustls\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("postern_watch_findings{target=\"mx.example.net:465\",level=\"warning\"} 1\n"),
            std::string::npos);  // expiring in 10 days
}

}  // namespace
}  // namespace postern::watch
