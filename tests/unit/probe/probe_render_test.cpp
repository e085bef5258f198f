// The report renderings: the JSON contract of docs/probe.md, the text tables, and the HTML
// page (self-contained, server text escaped).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "postern/probe/probe.hpp"

namespace postern::probe {
namespace {

report sample() {
  target_report t;
  t.host = "127.0.0.1";
  t.port = 587;
  t.mode = port_mode::starttls;
  t.banner = "mx <script>alert(1)</script> & co";
  t.ehlo_before_tls = {"PIPELINING", "STARTTLS", "AUTH"};
  t.ehlo_after_tls = {"PIPELINING", "AUTH"};
  t.auth_before_tls = true;
  t.versions = {{"TLSv1.0", false}, {"TLSv1.1", false}, {"TLSv1.2", true}, {"TLSv1.3", true}};
  t.suites = {{"TLS_AES_256_GCM_SHA384", 0x1302, "TLSv1.3", "ECDHE", 256, 1},
              {"TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009c, "TLSv1.2", "RSA", 128, 1}};
  t.server_preference = true;
  t.groups = {{"x25519", "TLSv1.3"}, {"secp256r1", "TLSv1.2"}};
  certificate c;
  c.subject = "CN=mx<b>";
  c.issuer = "CN=ca";
  c.sans = {"DNS:mx"};
  c.not_before = "2024-01-01T00:00:00Z";
  c.not_after = "2034-01-01T00:00:00Z";
  c.key_type = "RSA";
  c.key_bits = 2048;
  c.signature_algorithm = "sha256WithRSAEncryption";
  t.chain = {c};
  t.chain_verifies = true;
  t.clients = {{"rustls", true, "TLSv1.3", "TLS_AES_256_GCM_SHA384", "", "x25519"},
               {"postern-strict", false, "", "", "tls.handshake-failed", "alert \"handshake failure\""}};
  diagnose::finding f;
  f.code = "smtp.auth-before-tls";
  f.severity = diagnose::severity::warning;
  f.summary = "AUTH before TLS";
  t.findings = {f};
  t.elapsed_ms = 42;
  report r;
  r.targets.push_back(t);
  target_report closed;
  closed.host = "127.0.0.1";
  closed.port = 25;
  closed.error_code = "net.refused";
  r.targets.push_back(closed);
  return r;
}

TEST(ProbeRender, JsonFollowsTheContract) {
  const auto j = nlohmann::json::parse(render_json(sample()));
  ASSERT_EQ(j["targets"].size(), 2u);
  const auto& t = j["targets"][0];
  EXPECT_EQ(t["host"], "127.0.0.1");
  EXPECT_EQ(t["port"], 587);
  EXPECT_EQ(t["mode"], "starttls");
  EXPECT_EQ(t["banner"], "mx <script>alert(1)</script> & co");
  EXPECT_EQ(t["auth_before_tls"], true);
  EXPECT_EQ(t["ehlo_before_tls"][1], "STARTTLS");
  EXPECT_EQ(t["versions"][2]["version"], "TLSv1.2");
  EXPECT_EQ(t["versions"][2]["accepted"], true);
  EXPECT_EQ(t["suites"][1]["name"], "TLS_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(t["suites"][1]["code"], "0x009C");
  EXPECT_EQ(t["suites"][1]["version"], "TLSv1.2");
  EXPECT_EQ(t["suites"][1]["kx"], "RSA");
  EXPECT_EQ(t["suites"][1]["bits"], 128);
  EXPECT_EQ(t["suites"][1]["order"], 1);
  EXPECT_EQ(t["server_preference"], true);
  EXPECT_EQ(t["groups"][0]["name"], "x25519");
  EXPECT_EQ(t["chain"][0]["key_bits"], 2048);
  EXPECT_EQ(t["chain"][0]["sans"][0], "DNS:mx");
  EXPECT_EQ(t["chain_verifies"], true);
  EXPECT_TRUE(t["chain_problem"].is_null());
  EXPECT_EQ(t["clients"][0]["family"], "rustls");
  EXPECT_EQ(t["clients"][0]["ok"], true);
  EXPECT_EQ(t["clients"][0]["suite"], "TLS_AES_256_GCM_SHA384");
  EXPECT_TRUE(t["clients"][0]["code"].is_null());
  EXPECT_EQ(t["clients"][1]["ok"], false);
  EXPECT_TRUE(t["clients"][1]["version"].is_null());
  EXPECT_EQ(t["clients"][1]["code"], "tls.handshake-failed");
  EXPECT_EQ(t["findings"][0]["code"], "smtp.auth-before-tls");
  EXPECT_EQ(t["findings"][0]["severity"], "warning");
  EXPECT_EQ(t["elapsed_ms"], 42);
  const auto& c = j["targets"][1];
  EXPECT_EQ(c["mode"], "closed");
  EXPECT_TRUE(c["banner"].is_null());
  EXPECT_EQ(c["error"], "net.refused");
}

TEST(ProbeRender, ExitCodeCountsOnlyReachability) {
  auto r = sample();
  EXPECT_EQ(r.exit_code(), 69);
  r.targets.pop_back();
  EXPECT_EQ(r.exit_code(), 0);  // findings do not change it
}

TEST(ProbeRender, HtmlIsSelfContainedAndEscaped) {
  const auto h = render_html(sample());
  EXPECT_NE(h.find("<table id=\"clients\">"), std::string::npos);
  EXPECT_NE(h.find("<table id=\"suites\">"), std::string::npos);
  EXPECT_NE(h.find("<table id=\"chain\">"), std::string::npos);
  EXPECT_NE(h.find("<table id=\"clients-2\">"), std::string::npos);  // ids stay unique
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_NE(h.find("mx &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"), std::string::npos);
  EXPECT_NE(h.find("CN=mx&lt;b&gt;"), std::string::npos);
  EXPECT_EQ(h.find("http://"), std::string::npos);
  EXPECT_EQ(h.find("https://"), std::string::npos);
  EXPECT_EQ(h.find("src="), std::string::npos);
  EXPECT_NE(h.find("class=\"verdict\""), std::string::npos);
}

TEST(ProbeRender, TextShowsTheMatrix) {
  const auto t = render_text(sample(), false);
  EXPECT_NE(t.find("127.0.0.1:587  starttls"), std::string::npos);
  EXPECT_NE(t.find("ok rustls"), std::string::npos);
  EXPECT_NE(t.find("-- postern-strict [tls.handshake-failed]"), std::string::npos);
  EXPECT_NE(t.find("TLSv1.2  1. TLS_RSA_WITH_AES_128_GCM_SHA256  RSA 128"), std::string::npos);
  EXPECT_NE(t.find("[smtp.auth-before-tls]"), std::string::npos);
  EXPECT_NE(render_text(sample(), true).find("✓ rustls"), std::string::npos);
}

}  // namespace
}  // namespace postern::probe
