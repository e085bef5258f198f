#include "postern/plan/host_memory.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "postern/plan/router.hpp"

namespace postern::plan {
namespace {

route_facts ecdhe13() {
  route_facts r;
  r.host = "mail.example.org";
  r.port = 587;
  r.mode = "starttls";
  r.profile = "strict";
  r.tls_version = "TLSv1.3";
  r.cipher = "TLS_AES_256_GCM_SHA384";
  r.group = "x25519";
  r.issuer = "CN=R11,O=Let's Encrypt";
  r.key_sha256 = "aa";
  return r;
}

route_facts rsa12() {
  route_facts r = ecdhe13();
  r.port = 465;
  r.mode = "tls";
  r.profile = "compat";
  r.tls_version = "TLSv1.2";
  r.cipher = "TLS_RSA_WITH_AES_128_GCM_SHA256";
  r.kx = "RSA";
  r.group = "";
  return r;
}

TEST(downgrade_reasons, none_for_the_same_or_a_stronger_route) {
  EXPECT_TRUE(downgrade_reasons(ecdhe13(), ecdhe13()).empty());
  EXPECT_TRUE(downgrade_reasons(rsa12(), ecdhe13()).empty());
  route_facts rotated = ecdhe13();
  rotated.key_sha256 = "bb";  // a new key from the same issuer is routine, not a downgrade
  EXPECT_TRUE(downgrade_reasons(ecdhe13(), rotated).empty());
}

TEST(downgrade_reasons, names_every_weakening) {
  auto r = downgrade_reasons(ecdhe13(), rsa12());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_NE(r[0].find("TLSv1.2 where TLSv1.3"), std::string::npos);
  EXPECT_NE(r[1].find("RSA key exchange"), std::string::npos);
  EXPECT_NE(r[2].find("compat"), std::string::npos);
}

TEST(downgrade_reasons, dhe_where_ecdhe_worked_and_a_new_issuer) {
  route_facts before = ecdhe13();
  before.tls_version = "TLSv1.2";
  before.kx = "ECDHE";
  route_facts now = before;
  now.kx = "DHE";
  now.issuer = "CN=Someone Else";
  auto r = downgrade_reasons(before, now);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NE(r[0].find("DHE where ECDHE"), std::string::npos);
  EXPECT_NE(r[1].find("CN=Someone Else"), std::string::npos);
}

class memory_file : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("postern-memory-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "sub" / "hosts.sqlite").string(); }
  std::filesystem::path dir_;
};

TEST_F(memory_file, records_looks_up_and_forgets) {
  host_memory m(path());
  EXPECT_FALSE(m.lookup("mail.example.org"));
  EXPECT_TRUE(m.record(ecdhe13()));
  auto got = m.lookup("mail.example.org");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->port, 587);
  EXPECT_EQ(got->cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_GT(got->seen_at, 0);
  EXPECT_EQ(m.list().size(), 1u);
  EXPECT_TRUE(m.forget("mail.example.org"));
  EXPECT_FALSE(m.forget("mail.example.org"));
  EXPECT_TRUE(m.list().empty());
}

TEST_F(memory_file, keeps_the_strongest_unless_a_downgrade_is_accepted) {
  host_memory m(path());
  EXPECT_TRUE(m.record(ecdhe13()));
  EXPECT_FALSE(m.record(rsa12()));
  EXPECT_EQ(m.lookup("mail.example.org")->tls_version, "TLSv1.3");
  EXPECT_TRUE(m.record(rsa12(), /*accept_weaker=*/true));
  EXPECT_EQ(m.lookup("mail.example.org")->kx, "RSA");
  EXPECT_TRUE(m.record(ecdhe13()));  // stronger again: always recorded
}

TEST_F(memory_file, survives_reopening_and_concurrent_writers) {
  {
    host_memory m(path());
    m.record(rsa12(), true);
  }
  std::vector<std::thread> writers;
  for (int i = 0; i < 8; ++i)
    writers.emplace_back([&, i] {
      host_memory m(path());  // one connection each, as separate processes would have
      route_facts r = ecdhe13();
      r.host = "host" + std::to_string(i % 3) + ".example";
      for (int k = 0; k < 20; ++k) m.record(r);
    });
  for (auto& t : writers) t.join();
  host_memory m(path());
  EXPECT_EQ(m.list().size(), 4u);  // mail.example.org + host0..2
  EXPECT_EQ(m.lookup("mail.example.org")->kx, "RSA");
}

TEST(candidate_routes, given_port_first_conventional_mode_first_no_duplicates) {
  auto r = candidate_routes(2525, {465, 587, 2525}, "strict");
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].port, 2525);
  EXPECT_EQ(r[0].mode, net::mode::starttls);
  EXPECT_EQ(r[1].mode, net::mode::implicit_tls);
  EXPECT_EQ(r[2].port, 465);
  EXPECT_EQ(r[2].mode, net::mode::implicit_tls);  // RFC 8314: implicit TLS first on 465
  EXPECT_EQ(r[4].port, 587);
  for (const auto& x : r) {
    EXPECT_EQ(x.profile, "strict");
    EXPECT_NE(x.mode, net::mode::plain);  // plaintext is never a route
  }
}

}  // namespace
}  // namespace postern::plan
