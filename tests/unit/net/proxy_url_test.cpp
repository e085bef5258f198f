#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "postern/net/proxy.hpp"

namespace postern::net {
namespace {

proxy parse_ok(std::string_view url) {
  std::string error;
  auto p = parse_proxy(url, error);
  EXPECT_TRUE(p) << url << ": " << error;
  return p ? *p : proxy{};
}

std::string parse_error(std::string_view url) {
  std::string error;
  auto p = parse_proxy(url, error);
  EXPECT_FALSE(p) << url;
  return error;
}

TEST(ProxyUrl, Socks5) {
  auto p = parse_ok("socks5://127.0.0.1:1080");
  EXPECT_EQ(p.type, proxy::kind::socks5);
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, 1080);
  EXPECT_FALSE(p.has_credentials());
  EXPECT_EQ(p.to_string(), "socks5://127.0.0.1:1080");
  EXPECT_EQ(p.describe(), "SOCKS5 proxy 127.0.0.1:1080");

  EXPECT_EQ(parse_ok("socks5h://proxy.example.net").port, 1080);
  EXPECT_EQ(parse_ok("SOCKS5H://proxy.example.net:9050/").port, 9050);
  EXPECT_EQ(parse_ok("socks5h://proxy.example.net").type, proxy::kind::socks5);
}

TEST(ProxyUrl, CredentialsArePercentDecodedAndNeverPrinted) {
  auto p = parse_ok("socks5://al%40ice:p%3Ass%25@[::1]:1081");
  EXPECT_EQ(p.user, "al@ice");
  EXPECT_EQ(p.password, "p:ss%");
  EXPECT_EQ(p.host, "::1");
  EXPECT_EQ(p.port, 1081);
  EXPECT_EQ(p.to_string(), "socks5://al@ice:***@[::1]:1081");
  EXPECT_EQ(p.to_string().find("p:ss"), std::string::npos);
  // An '@' in the password unescaped: the last '@' ends the user information.
  auto q = parse_ok("http://bob:a@b@proxy:3128");
  EXPECT_EQ(q.password, "a@b");
  EXPECT_EQ(q.host, "proxy");
}

TEST(ProxyUrl, Http) {
  auto p = parse_ok("http://user:pw@proxy.example.net:3128");
  EXPECT_EQ(p.type, proxy::kind::http);
  EXPECT_EQ(p.port, 3128);
  EXPECT_EQ(p.describe(), "HTTP proxy proxy.example.net:3128");
  EXPECT_NE(parse_error("http://proxy.example.net").find("needs a port"), std::string::npos);
}

TEST(ProxyUrl, BadUrlsSayWhy) {
  EXPECT_NE(parse_error("127.0.0.1:1080").find("no scheme"), std::string::npos);
  EXPECT_NE(parse_error("https://p:443").find("not supported"), std::string::npos);
  EXPECT_NE(parse_error("socks4://p:1080").find("SOCKS4"), std::string::npos);
  EXPECT_NE(parse_error("ftp://p:21").find("unknown scheme"), std::string::npos);
  EXPECT_NE(parse_error("socks5://p:0").find("bad port"), std::string::npos);
  EXPECT_NE(parse_error("socks5://p:65536").find("bad port"), std::string::npos);
  EXPECT_NE(parse_error("socks5://p:99999999999999999999").find("bad port"), std::string::npos);
  EXPECT_NE(parse_error("socks5://p:").find("empty port"), std::string::npos);
  EXPECT_NE(parse_error("socks5://p:1x").find("bad port"), std::string::npos);
  EXPECT_NE(parse_error("socks5://::1:1080").find("brackets"), std::string::npos);
  EXPECT_NE(parse_error("socks5://[::1").find("']'"), std::string::npos);
  EXPECT_NE(parse_error("socks5://").find("no host"), std::string::npos);
  EXPECT_NE(parse_error("socks5://user@p").find("password"), std::string::npos);
  EXPECT_NE(parse_error("socks5://u:%zz@p").find("%-escape"), std::string::npos);
  EXPECT_NE(parse_error("socks5://u:%4@p").find("%-escape"), std::string::npos);
  EXPECT_NE(parse_error("socks5://:pw@p").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("socks5://p:1080/path").find("no path"), std::string::npos);
  EXPECT_NE(parse_error("socks5://u:p%0a@h").find("control"), std::string::npos);
  EXPECT_NE(parse_error("socks5://" + std::string(256, 'u') + ":p@h").find("255"), std::string::npos);
  EXPECT_NE(parse_error("http://a%3ab:p@h:1").find("':'"), std::string::npos);
  EXPECT_NE(parse_error("socks5://bad host:1").find("bad character"), std::string::npos);
  // Every error names the accepted forms.
  EXPECT_NE(parse_error("x").find("socks5://[USER:PASSWORD@]HOST[:PORT]"), std::string::npos);
}

TEST(ProxyUrl, Environment) {
  ::unsetenv("all_proxy");
  ::unsetenv("ALL_PROXY");
  std::string error, variable;
  EXPECT_FALSE(proxy_from_environment(error, variable));
  EXPECT_TRUE(error.empty());

  ::setenv("ALL_PROXY", "socks5h://127.0.0.1:9050", 1);
  auto p = proxy_from_environment(error, variable);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(variable, "ALL_PROXY");
  EXPECT_EQ(p->port, 9050);

  ::setenv("all_proxy", "http://127.0.0.1:3128", 1);  // the lower-case name wins, as in curl
  p = proxy_from_environment(error, variable);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(variable, "all_proxy");
  EXPECT_EQ(p->type, proxy::kind::http);

  ::setenv("all_proxy", "nonsense", 1);
  EXPECT_FALSE(proxy_from_environment(error, variable));
  EXPECT_NE(error.find("all_proxy"), std::string::npos);
  ::unsetenv("all_proxy");
  ::unsetenv("ALL_PROXY");
}

}  // namespace
}  // namespace postern::net
