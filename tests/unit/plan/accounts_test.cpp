#include "postern/plan/accounts.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace postern::plan {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The example of docs/config.md, comments included.
constexpr std::string_view kExample = R"(# ~/.config/postern/config
defaults                 # settings every account inherits
  tls-profile strict
  timeout 30

account relay            # a named account
  host smtpdm.example.com
  port 465
  mode tls               # tls | starttls | plain | auto
  tls-profile strict
  allow compat           # this account only
  user me@example.com
  password-command pass show mail/relay
  from me@example.com
  tls-name smtp.example.com
  ca-file /etc/ssl/relay-ca.pem
  ports 465,587

account work
  host mail.work.example

default relay            # the account used when none is named
)";

std::optional<config> parse(std::string_view text, std::string& error) { return parse_config(text, error); }

std::string error_of(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_config(text, error).has_value()) << text;
  return error;
}

TEST(ParseConfig, FullExample) {
  std::string error;
  auto cfg = parse(kExample, error);
  ASSERT_TRUE(cfg) << error;
  ASSERT_EQ(cfg->accounts.size(), 2u);
  const account& r = cfg->accounts[0];
  EXPECT_EQ(r.name, "relay");
  EXPECT_EQ(r.line, 6u);
  EXPECT_EQ(r.host, "smtpdm.example.com");
  EXPECT_EQ(r.port, 465);
  EXPECT_EQ(r.mode, "tls");
  EXPECT_EQ(r.tls_profile, "strict");
  EXPECT_THAT(r.allow, ElementsAre("compat"));
  EXPECT_EQ(r.user, "me@example.com");
  EXPECT_EQ(r.password_command, "pass show mail/relay");
  EXPECT_EQ(r.from, "me@example.com");
  EXPECT_EQ(r.tls_name, "smtp.example.com");
  EXPECT_EQ(r.ca_file, "/etc/ssl/relay-ca.pem");
  EXPECT_EQ(r.ports, "465,587");
  EXPECT_EQ(r.timeout, 30);
  EXPECT_EQ(cfg->default_account, "relay");
  EXPECT_EQ(cfg->default_one(), &cfg->accounts[0]);
  EXPECT_EQ(cfg->find("work"), &cfg->accounts[1]);
  EXPECT_EQ(cfg->find("nope"), nullptr);
}

TEST(ParseConfig, ClientCertificateKeys) {
  std::string error;
  auto cfg = parse(
      "defaults\n  client-cert /etc/postern/me.pem\naccount a\n  host x\n  client-key /etc/postern/me.key\n"
      "account b\n  host y\n  client-cert \"/etc/postern/both.pem\"\n",
      error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_EQ(cfg->accounts[0].client_cert, "/etc/postern/me.pem");
  EXPECT_EQ(cfg->accounts[0].client_key, "/etc/postern/me.key");
  EXPECT_EQ(cfg->accounts[1].client_cert, "/etc/postern/both.pem");
  EXPECT_EQ(cfg->accounts[1].client_key, "");
  EXPECT_EQ(error_of("account a\n  host x\n  client-cert\n"), "line 3: 'client-cert' needs a value");
}

TEST(ParseConfig, QueueKeys) {
  std::string error;
  auto cfg = parse(
      "defaults\n  queue on-failure\n  bounce-to sender\naccount a\n  host x\n"
      "account b\n  host y\n  queue always\n  queue-location /var/spool/postern.sqlite\n  bounce-to ops@example.org\n",
      error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_EQ(cfg->accounts[0].queue, "on-failure");
  EXPECT_EQ(cfg->accounts[0].bounce_to, "sender");
  EXPECT_EQ(cfg->accounts[0].queue_location, "");
  EXPECT_EQ(cfg->accounts[1].queue, "always");
  EXPECT_EQ(cfg->accounts[1].queue_location, "/var/spool/postern.sqlite");
  EXPECT_EQ(cfg->accounts[1].bounce_to, "ops@example.org");
  EXPECT_EQ(error_of("account a\n  host x\n  queue sometimes\n"),
            "line 3: queue takes on-failure, always or never, not 'sometimes'");
}

TEST(ParseConfig, DefaultsAreInheritedButAllowIsPerAccount) {
  std::string error;
  auto cfg = parse(kExample, error);
  ASSERT_TRUE(cfg) << error;
  const account& w = cfg->accounts[1];
  EXPECT_EQ(w.host, "mail.work.example");
  EXPECT_EQ(w.tls_profile, "strict");  // from defaults
  EXPECT_EQ(w.timeout, 30);
  EXPECT_FALSE(w.port);
  EXPECT_EQ(w.mode, "");
  EXPECT_THAT(w.allow, IsEmpty());  // the relay's allow compat does not leak
  EXPECT_EQ(w.user, "");
}

TEST(ParseConfig, DefaultsApplyToLaterAccountsAndAccountsOverride) {
  std::string error;
  auto cfg = parse(
      "defaults\n from a@x.y\n allow legacy\naccount one\n host h1\n from b@x.y\n allow compat\n allow "
      "legacy\n"
      "defaults\n user u\naccount two\n host h2\n",
      error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_EQ(cfg->accounts[0].from, "b@x.y");
  EXPECT_THAT(cfg->accounts[0].allow, ElementsAre("compat", "legacy"));
  EXPECT_EQ(cfg->accounts[0].user, "");  // `defaults` after it does not reach back
  EXPECT_EQ(cfg->accounts[1].from, "a@x.y");
  EXPECT_THAT(cfg->accounts[1].allow, ElementsAre("legacy"));
  EXPECT_EQ(cfg->accounts[1].user, "u");
}

TEST(ParseConfig, DefaultAccount) {
  std::string error;
  auto none = parse("account a\n host h\naccount b\n host h\n", error);
  ASSERT_TRUE(none) << error;
  EXPECT_EQ(none->default_one(), nullptr);
  auto named_default = parse("account a\n host h\naccount default\n host d\n", error);
  ASSERT_TRUE(named_default) << error;
  ASSERT_NE(named_default->default_one(), nullptr);
  EXPECT_EQ(named_default->default_one()->host, "d");
  auto before = parse("default b\naccount a\n host h\naccount b\n host h2\n", error);  // may come first
  ASSERT_TRUE(before) << error;
  EXPECT_EQ(before->default_one()->name, "b");
  EXPECT_EQ(error_of("account a\n host h\n\ndefault c\n"), "line 4: default account 'c' is not defined");
}

TEST(ParseConfig, CommentsQuotesAndWhiteSpace) {
  std::string error;
  auto cfg = parse(
      "# comment\r\n   \r\naccount a # trailing\r\n\thost h\r\n  password-command pass show mail#1\r\n"
      "  from \"  spaced # not a comment \"\r\n  user \"a \\\"b\\\" c\"\r\n",
      error);
  ASSERT_TRUE(cfg) << error;
  const account& a = cfg->accounts[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.host, "h");
  EXPECT_EQ(a.password_command, "pass show mail#1");  // '#' not after white space
  EXPECT_EQ(a.from, "  spaced # not a comment ");
  EXPECT_EQ(a.user, "a \"b\" c");
  auto literal = parse("account a\n host h\n password-command sh -c \"echo x\" \"y\"\n", error);
  ASSERT_TRUE(literal) << error;
  EXPECT_EQ(literal->accounts[0].password_command, "sh -c \"echo x\" \"y\"");
}

TEST(ParseConfig, EmptyFileHasNoAccounts) {
  std::string error;
  auto cfg = parse("", error);
  ASSERT_TRUE(cfg);
  EXPECT_THAT(cfg->accounts, IsEmpty());
  EXPECT_EQ(cfg->default_one(), nullptr);
  EXPECT_TRUE(parse("# nothing\n\n", error));
}

TEST(ParseConfig, UnknownKeysNameTheLine) {
  EXPECT_EQ(error_of("account a\n  host h\n\n# x\n\n\n  hots h\n"),
            "line 7: unknown key 'hots' (did you mean 'host'?)");
  EXPECT_EQ(error_of("account a\n host h\n starttls on\n"), "line 3: unknown key 'starttls'");
  EXPECT_EQ(error_of("account a\n host h\n password_command x\n"),
            "line 3: unknown key 'password_command' (did you mean 'password-command'?)");
}

TEST(ParseConfig, BadValues) {
  EXPECT_EQ(error_of("account a\n host h\n port 99999\n"),
            "line 3: bad port '99999' (a number from 1 to 65535)");
  EXPECT_EQ(error_of("account a\n host h\n port 0\n"), "line 3: bad port '0' (a number from 1 to 65535)");
  EXPECT_EQ(error_of("account a\n host h\n port 25x\n"), "line 3: bad port '25x' (a number from 1 to 65535)");
  EXPECT_EQ(error_of("account a\n host h\n mode ssl\n"),
            "line 3: unknown mode 'ssl' (tls, starttls, plain or auto)");
  EXPECT_EQ(error_of("account a\n host h\n tls-profile weak\n"),
            "line 3: unknown tls-profile 'weak' (strict, compat or legacy)");
  EXPECT_EQ(error_of("account a\n host h\n allow compat,insecure\n"),
            "line 3: allow 'insecure': only compat or legacy");
  EXPECT_EQ(error_of("account a\n host h\n ports 465,,x\n"),
            "line 3: bad port 'x' in ports (numbers from 1 to 65535)");
  EXPECT_EQ(error_of("account a\n host h\n timeout -1\n"), "line 3: bad timeout '-1' (seconds, more than 0)");
  EXPECT_EQ(error_of("account a\n host h\n user\n"), "line 3: 'user' needs a value");
  EXPECT_EQ(error_of("account a\n host two words\n"), "line 2: host 'two words' has white space");
}

TEST(ParseConfig, StructureErrors) {
  EXPECT_EQ(error_of("host h\n"), "line 1: 'host' before any 'account NAME' or 'defaults' line");
  EXPECT_EQ(error_of("account\n"), "line 1: 'account' needs a name");
  EXPECT_EQ(error_of("account a b\n host h\n"), "line 1: account name 'a b' has white space");
  EXPECT_EQ(error_of("account a\n host h\naccount a\n host h\n"),
            "line 3: account 'a' is already defined on line 1");
  EXPECT_EQ(error_of("account a\n host h\naccount b\n port 25\n"), "line 3: account 'b' has no host");
  EXPECT_EQ(error_of("defaults now\n"), "line 1: 'defaults' takes no value");
  EXPECT_EQ(error_of("default\n"), "line 1: 'default' needs an account name");
}

TEST(ParseConfig, AllowListsAndPorts) {
  std::string error;
  auto cfg = parse("account a\n host h\n allow compat, legacy\n allow compat\n ports 465 587,25\n", error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_THAT(cfg->accounts[0].allow, ElementsAre("compat", "legacy"));
  EXPECT_EQ(cfg->accounts[0].ports, "465,587,25");
}

TEST(ParseConfig, Proxy) {
  std::string error;
  auto cfg = parse(
      "defaults\n proxy socks5://127.0.0.1:1080\naccount a\n host h\naccount b\n host h\n proxy none\n"
      "account c\n host h\n proxy http://u:p@proxy:3128\n",
      error);
  ASSERT_TRUE(cfg) << error;
  EXPECT_EQ(cfg->accounts[0].proxy, "socks5://127.0.0.1:1080");
  EXPECT_EQ(cfg->accounts[1].proxy, "");
  EXPECT_EQ(cfg->accounts[2].proxy, "http://u:p@proxy:3128");
  EXPECT_EQ(
      error_of("account a\n host h\n proxy socks4://p:1080\n"),
      "line 3: bad proxy URL: SOCKS4 is not supported; use socks5:// (socks5://[USER:PASSWORD@]HOST[:PORT] "
      "or http://[USER:PASSWORD@]HOST:PORT)");
  EXPECT_EQ(error_of("account a\n host h\n proxi x\n"),
            "line 3: unknown key 'proxi' (did you mean 'proxy'?)");
}

TEST(DefaultConfigPath, XdgThenHome) {
  const char* old_xdg = std::getenv("XDG_CONFIG_HOME");
  const char* old_home = std::getenv("HOME");
  const std::string saved_xdg = old_xdg ? old_xdg : "", saved_home = old_home ? old_home : "";
  ::setenv("XDG_CONFIG_HOME", "/xdg", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(default_config_path(), "/xdg/postern/config");
  ::setenv("XDG_CONFIG_HOME", "", 1);  // empty or relative: ignored (XDG Base Directory spec)
  EXPECT_EQ(default_config_path(), "/home/u/.config/postern/config");
  ::unsetenv("XDG_CONFIG_HOME");
  EXPECT_EQ(default_config_path(), "/home/u/.config/postern/config");
  if (old_xdg) ::setenv("XDG_CONFIG_HOME", saved_xdg.c_str(), 1);
  ::setenv("HOME", saved_home.c_str(), 1);
  if (!old_home) ::unsetenv("HOME");
}

}  // namespace
}  // namespace postern::plan
