#include "postern/plan/host_memory.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <latch>
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

route_facts with(route_facts r, std::uint16_t port, const char* mode) {
  r.port = port;
  r.mode = mode;
  return r;
}

TEST(stronger, profile_then_version_then_key_exchange_then_recency) {
  EXPECT_TRUE(stronger(ecdhe13(), rsa12()));
  EXPECT_FALSE(stronger(rsa12(), ecdhe13()));
  route_facts tls12 = ecdhe13();
  tls12.tls_version = "TLSv1.2";
  tls12.kx = "ECDHE";
  EXPECT_TRUE(stronger(ecdhe13(), tls12));
  route_facts dhe = tls12;
  dhe.kx = "DHE";
  EXPECT_TRUE(stronger(tls12, dhe));
  route_facts older = ecdhe13(), newer = ecdhe13();
  older.seen_at = 1;
  newer.seen_at = 2;
  EXPECT_TRUE(stronger(newer, older));
  EXPECT_FALSE(stronger(ecdhe13(), ecdhe13()));  // irreflexive
  EXPECT_FALSE(strongest({}));
  EXPECT_EQ(strongest({rsa12(), ecdhe13(), dhe})->port, 587);
}

TEST(remembered_route, the_strongest_in_scope_with_an_allowed_profile) {
  const std::vector<route_facts> known{rsa12(), ecdhe13(), with(ecdhe13(), 2525, "starttls")};
  EXPECT_EQ(remembered_route(known, 0, {}, {})->port, 587);
  EXPECT_EQ(remembered_route(known, 2525, {}, {})->port, 2525);  // the given port only
  EXPECT_EQ(remembered_route(known, 0, {465, 2525}, {})->port, 2525);
  EXPECT_FALSE(remembered_route(known, 465, {}, {}));  // compat there, not allowed
  EXPECT_EQ(remembered_route(known, 465, {}, {"compat"})->port, 465);
  EXPECT_FALSE(remembered_route(known, 0, {25}, {"compat"}));
  EXPECT_FALSE(remembered_route({}, 0, {}, {}));
}

TEST(check_route, the_same_service_weaker_is_refused) {
  const std::vector<route_facts> known{ecdhe13()};
  auto v = check_route(known, with(rsa12(), 587, "starttls"));
  ASSERT_TRUE(v.refused());
  EXPECT_EQ(v.remembered->port, 587);
  EXPECT_EQ(v.reasons.size(), 3u);
  EXPECT_NE(v.summary.find("possible downgrade attack on mail.example.org"), std::string::npos);
  EXPECT_NE(v.summary.find("RSA key exchange"), std::string::npos);
  EXPECT_NE(v.summary.find("postern hosts forget mail.example.org:587"), std::string::npos);
  auto f = v.finding();
  EXPECT_EQ(f.code, "plan.downgrade");
  EXPECT_EQ(f.severity, diagnose::severity::error);
  EXPECT_TRUE(check_route(known, ecdhe13()).ok());
}

TEST(check_route, a_new_service_weaker_than_another_port_warns_naming_it) {
  const std::vector<route_facts> known{ecdhe13()};
  auto v = check_route(known, rsa12());  // 465/tls compat, never seen
  ASSERT_TRUE(v.warned());
  EXPECT_EQ(v.summary, "587/starttls with strict worked for this host; this route uses compat");
  EXPECT_EQ(v.remembered->port, 587);
  auto f = v.finding();
  EXPECT_EQ(f.code, "plan.weaker-than-known");
  EXPECT_EQ(f.severity, diagnose::severity::warning);
  EXPECT_EQ(f.summary, v.summary);
  ASSERT_FALSE(f.remedies.empty());
  EXPECT_NE(f.remedies[0].command.find("mail.example.org:587 --starttls --tls-profile strict"),
            std::string::npos);
  // the same mode on the same port is the same service; another mode is another one
  EXPECT_TRUE(check_route(known, with(rsa12(), 587, "tls")).warned());
  // same profile, weaker facts: the reasons are named
  route_facts tls12 = with(ecdhe13(), 2525, "starttls");
  tls12.tls_version = "TLSv1.2";
  tls12.kx = "ECDHE";
  auto w = check_route(known, tls12);
  ASSERT_TRUE(w.warned());
  EXPECT_NE(w.summary.find("this route uses strict (TLSv1.2 where TLSv1.3 worked)"), std::string::npos);
}

TEST(check_route, once_remembered_the_weaker_service_is_checked_against_itself) {
  const std::vector<route_facts> known{ecdhe13(), rsa12()};
  EXPECT_TRUE(check_route(known, rsa12()).ok());  // no warning every time
  route_facts worse = rsa12();
  worse.tls_version = "TLSv1.0";
  worse.profile = "legacy";
  EXPECT_TRUE(check_route(known, worse).refused());
}

TEST(check_route, other_hosts_and_stronger_routes_are_ok) {
  route_facts other = ecdhe13();
  other.host = "other.example";
  EXPECT_TRUE(check_route({other}, rsa12()).ok());
  EXPECT_TRUE(check_route({rsa12()}, ecdhe13()).ok());
  EXPECT_TRUE(check_route({}, rsa12()).ok());
}

TEST(check_route, a_weaker_fallback_after_the_remembered_route_failed_is_refused) {
  const std::vector<route_facts> known{ecdhe13()};
  auto v = check_route(known, rsa12(), ecdhe13());
  ASSERT_TRUE(v.refused());
  EXPECT_NE(v.summary.find("the remembered route 587/starttls failed"), std::string::npos);
  EXPECT_TRUE(check_route(known, with(ecdhe13(), 465, "tls"), ecdhe13()).ok());
}

TEST(check_starttls_missing, refused_only_where_starttls_worked) {
  const std::vector<route_facts> known{ecdhe13(), rsa12()};
  auto v = check_starttls_missing(known, "mail.example.org", 587);
  ASSERT_TRUE(v.refused());
  EXPECT_NE(v.summary.find("STARTTLS is no longer offered on port 587"), std::string::npos);
  EXPECT_TRUE(check_starttls_missing(known, "mail.example.org", 465).ok());
  EXPECT_TRUE(check_starttls_missing(known, "other.example", 587).ok());
}

TEST(should_record, weaker_than_the_same_service_only_when_accepted) {
  EXPECT_TRUE(should_record(std::nullopt, rsa12(), false));
  EXPECT_FALSE(should_record(with(ecdhe13(), 465, "tls"), rsa12(), false));
  EXPECT_TRUE(should_record(with(ecdhe13(), 465, "tls"), rsa12(), true));
  EXPECT_TRUE(should_record(rsa12(), with(ecdhe13(), 465, "tls"), false));
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
  EXPECT_FALSE(m.lookup("mail.example.org", 587, "starttls"));
  EXPECT_TRUE(m.record(ecdhe13()));
  auto got = m.lookup("mail.example.org", 587, "starttls");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->port, 587);
  EXPECT_EQ(got->cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_GT(got->seen_at, 0);
  EXPECT_FALSE(m.lookup("mail.example.org", 587, "tls"));  // another mode: another service
  EXPECT_FALSE(m.lookup("mail.example.org", 465, "starttls"));
  EXPECT_EQ(m.list().size(), 1u);
  EXPECT_EQ(m.forget("mail.example.org"), 1u);
  EXPECT_EQ(m.forget("mail.example.org"), 0u);
  EXPECT_TRUE(m.list().empty());
}

TEST_F(memory_file, keeps_the_strongest_per_service_unless_a_downgrade_is_accepted) {
  host_memory m(path());
  EXPECT_TRUE(m.record(ecdhe13()));
  route_facts same = rsa12();  // RSA on the very service that did TLS 1.3
  same.port = 587;
  same.mode = "starttls";
  EXPECT_FALSE(m.record(same));
  EXPECT_EQ(m.lookup("mail.example.org", 587, "starttls")->tls_version, "TLSv1.3");
  EXPECT_TRUE(m.record(same, /*accept_weaker=*/true));
  EXPECT_EQ(m.lookup("mail.example.org", 587, "starttls")->kx, "RSA");
  EXPECT_TRUE(m.record(ecdhe13()));  // stronger again: always recorded
}

TEST_F(memory_file, a_weaker_route_on_another_port_is_its_own_service) {
  host_memory m(path());
  EXPECT_TRUE(m.record(ecdhe13()));
  EXPECT_TRUE(m.record(rsa12()));  // 465/tls, never seen: stored beside 587/starttls
  auto all = m.services("mail.example.org");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].port, 587);  // strongest first
  EXPECT_EQ(all[1].port, 465);
  EXPECT_EQ(m.strongest("mail.example.org")->port, 587);
  EXPECT_EQ(m.lookup("mail.example.org", 587, "starttls")->tls_version, "TLSv1.3");
  EXPECT_EQ(m.lookup("mail.example.org", 465, "tls")->kx, "RSA");
  route_facts other = ecdhe13();
  other.host = "other.example";
  m.record(other);
  EXPECT_EQ(m.list().size(), 3u);
  EXPECT_EQ(m.forget("mail.example.org", 465), 1u);  // one port
  EXPECT_EQ(m.services("mail.example.org").size(), 1u);
  EXPECT_EQ(m.forget("mail.example.org"), 1u);
  EXPECT_EQ(m.list().size(), 1u);  // other hosts are not touched
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
      r.port = static_cast<std::uint16_t>(587 + i % 2);
      for (int k = 0; k < 20; ++k) m.record(r);
    });
  for (auto& t : writers) t.join();
  host_memory m(path());
  EXPECT_EQ(m.list().size(), 7u);  // mail.example.org + host0..2, each on 587 and 588
  EXPECT_EQ(m.lookup("mail.example.org", 465, "tls")->kx, "RSA");
}

// The schema before services: one row per host.
constexpr const char* old_schema =
    "CREATE TABLE IF NOT EXISTS hosts (host TEXT PRIMARY KEY, port INTEGER, mode TEXT, profile TEXT, "
    "tls_version TEXT, cipher TEXT, kx TEXT, grp TEXT, issuer TEXT, key_sha256 TEXT, seen_at INTEGER)";

void make_old_database(const std::string& file) {
  std::filesystem::create_directories(std::filesystem::path(file).parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  const std::string sql =
      std::string("PRAGMA journal_mode=WAL; ") + old_schema +
      "; INSERT INTO hosts VALUES ('mail.example.org', 587, 'starttls', 'strict', 'TLSv1.3', "
      "'TLS_AES_256_GCM_SHA384', '', 'x25519', 'CN=R11,O=Let''s Encrypt', 'aa', 1700000000);"
      "INSERT INTO hosts VALUES ('relay.example.net', 465, 'tls', 'compat', 'TLSv1.2', "
      "'TLS_RSA_WITH_AES_128_GCM_SHA256', 'RSA', '', 'CN=Old CA', 'bb', 1700000001);";
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

int query_int(const std::string& file, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  int v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

TEST_F(memory_file, migrates_an_old_per_host_database_in_place) {
  make_old_database(path());
  ASSERT_EQ(query_int(path(), "PRAGMA user_version"), 0);
  {
    host_memory m(path());
    auto all = m.list();
    ASSERT_EQ(all.size(), 2u);
    auto mail = m.lookup("mail.example.org", 587, "starttls");
    ASSERT_TRUE(mail);
    EXPECT_EQ(mail->tls_version, "TLSv1.3");
    EXPECT_EQ(mail->issuer, "CN=R11,O=Let's Encrypt");
    EXPECT_EQ(mail->seen_at, 1700000000);
    auto relay = m.lookup("relay.example.net", 465, "tls");
    ASSERT_TRUE(relay);
    EXPECT_EQ(relay->kx, "RSA");
    EXPECT_EQ(relay->key_sha256, "bb");
    // the migrated row still drives the downgrade check of its service
    route_facts weaker = rsa12();
    weaker.port = 587;
    weaker.mode = "starttls";
    EXPECT_TRUE(check_route(m.services("mail.example.org"), weaker).refused());
    EXPECT_FALSE(m.record(weaker));
  }
  EXPECT_EQ(query_int(path(), "PRAGMA user_version"), host_memory::schema_version);
  EXPECT_EQ(query_int(path(), "SELECT count(*) FROM sqlite_master WHERE name = 'hosts'"), 0);
  EXPECT_EQ(query_int(path(), "SELECT count(*) FROM services"), 2);
  host_memory again(path());  // reopening a migrated file changes nothing
  EXPECT_EQ(again.list().size(), 2u);
}

TEST_F(memory_file, concurrent_openers_of_an_old_database_migrate_it_once) {
  make_old_database(path());
  constexpr int n = 8;
  std::latch start(n);
  std::vector<std::thread> openers;
  std::vector<std::size_t> seen(n, 0);
  std::vector<std::string> errors(n);
  for (int i = 0; i < n; ++i)
    openers.emplace_back([&, i] {
      start.arrive_and_wait();  // all open the old file at the same moment, one connection each
      try {
        host_memory m(path());
        seen[i] = m.list().size();
        route_facts r = ecdhe13();
        r.host = "new" + std::to_string(i) + ".example";
        m.record(r);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : openers) t.join();
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(errors[i], "") << i;
    EXPECT_GE(seen[i], 2u) << i;  // every opener saw the migrated rows
  }
  host_memory m(path());
  EXPECT_EQ(m.list().size(), 2u + n);
  EXPECT_EQ(query_int(path(), "PRAGMA user_version"), host_memory::schema_version);
  EXPECT_EQ(query_int(path(), "SELECT count(*) FROM sqlite_master WHERE name = 'hosts'"), 0);
}

TEST_F(memory_file, a_newer_schema_is_refused_not_rewritten) {
  {
    host_memory m(path());
    m.record(ecdhe13());
  }
  sqlite3* db = nullptr;
  sqlite3_open(path().c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_THROW(host_memory{path()}, std::runtime_error);
  EXPECT_EQ(query_int(path(), "PRAGMA user_version"), 99);
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
