#include "postern/watch/profile.hpp"

#include <gtest/gtest.h>

namespace postern::watch {
namespace {

profile sample() {
  profile p;
  p.host = "::1";
  p.port = 587;
  p.time = 1790000000;
  p.mode = "starttls";
  p.versions = {"TLSv1.3"};
  p.suites = {"TLS_AES_128_GCM_SHA256"};
  p.groups = {"x25519"};
  p.starttls = true;
  p.chain = {{"CN=a", "CN=b", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "ff", "ee"}};
  p.chain_verifies = true;
  p.clients = {{"rustls", true, "TLSv1.3", "TLS_AES_128_GCM_SHA256", ""}, {"java17", false, "", "", "tls.x"}};
  p.causes = {"tls.cert.expired"};
  return p;
}

TEST(WatchProfile, JsonRoundTrip) {
  std::string error;
  auto back = parse_profile(to_json(sample()), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, sample());
  EXPECT_EQ(back->target(), "[::1]:587");
}

TEST(WatchProfile, RejectsWhatItCannotTrust) {
  std::string error;
  EXPECT_FALSE(parse_profile("{", error));
  EXPECT_EQ(error, "not JSON");
  EXPECT_FALSE(parse_profile("[]", error));
  EXPECT_FALSE(parse_profile(R"({"host":"h","port":70000,"time":1,"mode":"tls"})", error));
  EXPECT_NE(error.find("port"), std::string::npos);
  EXPECT_FALSE(parse_profile(R"({"host":"h","port":25,"time":1,"mode":"tls","versions":[1]})", error));
  EXPECT_NE(error.find("versions"), std::string::npos);
  EXPECT_FALSE(parse_profile(R"({"host":"h","port":25,"time":1,"mode":"sideways"})", error));
  EXPECT_FALSE(parse_profile(R"({"host":"h","port":25,"time":1,"mode":"tls","chain":[3]})", error));
  EXPECT_TRUE(parse_profile(R"({"host":"h","port":25,"time":1,"mode":"closed","future":true})", error))
      << error;
}

TEST(WatchProfile, UtcTimes) {
  EXPECT_EQ(parse_utc("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_utc("2000-03-01T00:00:00Z"), 951868800);
  EXPECT_EQ(parse_utc("2024-02-29T12:34:56Z"), 1709210096);
  EXPECT_EQ(format_utc(1709210096), "2024-02-29T12:34:56Z");
  EXPECT_FALSE(parse_utc("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_utc("2024-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_utc("2024-01-01 00:00:00Z"));
  EXPECT_FALSE(parse_utc(""));
}

TEST(WatchProfile, Durations) {
  EXPECT_EQ(parse_duration("90d"), 90 * 86400);
  EXPECT_EQ(parse_duration("12h"), 12 * 3600);
  EXPECT_EQ(parse_duration("2w"), 14 * 86400);
  EXPECT_EQ(parse_duration("1d12h"), 36 * 3600);
  EXPECT_EQ(parse_duration("30s"), 30);
  EXPECT_EQ(parse_duration("5m"), 300);
  for (const char* bad : {"", "90", "d", "0d", "-1d", "1y", "1.5d", "99999999999999999999d", "40000d", " 1d"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

}  // namespace
}  // namespace postern::watch
