#include "postern/auth/sasl_client.hpp"

#include <gsasl.h>
#include <gtest/gtest.h>

#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/smtp/error.hpp"

namespace postern::auth {
namespace {

// The server side of each exchange is libgsasl itself, in-process, knowing one account.
constexpr const char* server_user = "user";
constexpr const char* server_password = "correct horse";

int server_callback(Gsasl* /*ctx*/, Gsasl_session* session, Gsasl_property prop) {
  if (prop == GSASL_PASSWORD) {
    const char* authid = gsasl_property_fast(session, GSASL_AUTHID);
    if (authid == nullptr || std::string(authid) != server_user) return GSASL_NO_CALLBACK;
    gsasl_property_set(session, GSASL_PASSWORD, server_password);
    return GSASL_OK;
  }
  if (prop == GSASL_VALIDATE_SIMPLE) {  // PLAIN and LOGIN
    const char* authid = gsasl_property_fast(session, GSASL_AUTHID);
    const char* password = gsasl_property_fast(session, GSASL_PASSWORD);
    const bool ok = authid != nullptr && password != nullptr && std::string(authid) == server_user &&
                    std::string(password) == server_password;
    return ok ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
  }
  return GSASL_NO_CALLBACK;
}

class gsasl_server {
 public:
  gsasl_server() {
    EXPECT_EQ(gsasl_init(&ctx_), GSASL_OK);
    gsasl_callback_set(ctx_, server_callback);
  }
  ~gsasl_server() { gsasl_done(ctx_); }
  gsasl_server(const gsasl_server&) = delete;
  gsasl_server& operator=(const gsasl_server&) = delete;
  Gsasl* ctx() const { return ctx_; }

 private:
  Gsasl* ctx_ = nullptr;
};

struct outcome {
  bool server_accepted = false;
  int server_rc = GSASL_OK;
  std::error_code client_ec;
  std::vector<std::string> client_messages;  // base64, as sent
};

// Plays an SMTP AUTH exchange: the client's initial response (if any), then 334 challenges
// answered by step(), until the server says yes (235) or no (535). A server's final data
// (SCRAM's server signature) is handed to the client as a last 334, as RFC 4954 requires.
// `tamper` may rewrite the server's final message to test the client's checks.
outcome run_exchange(std::string_view mechanism, const credentials& c,
                     std::string (*tamper)(const std::string&) = nullptr) {
  outcome result;
  gsasl_server server;
  Gsasl_session* session = nullptr;
  EXPECT_EQ(gsasl_server_start(server.ctx(), std::string(mechanism).c_str(), &session), GSASL_OK);
  std::error_code ec;
  auto client = make_mechanism(mechanism, c, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(client);
  if (!client) return result;

  std::string to_server;
  if (auto initial = client->initial_response(ec)) {
    result.client_messages.push_back(*initial);
    to_server = *initial == "=" ? "" : *initial;
  }
  result.client_ec = ec;
  for (int round = 0; round < 10 && !ec; ++round) {
    char* out = nullptr;
    const int rc = gsasl_step64(session, to_server.c_str(), &out);
    std::string challenge = out != nullptr ? out : "";
    gsasl_free(out);
    if (rc == GSASL_NEEDS_MORE) {
      to_server = client->step(challenge, ec);
      result.client_ec = ec;
      result.client_messages.push_back(to_server);
      continue;
    }
    result.server_rc = rc;
    if (rc == GSASL_OK) {
      result.server_accepted = true;
      if (!challenge.empty()) {
        if (tamper != nullptr) challenge = tamper(challenge);
        const std::string last = client->step(challenge, ec);
        result.client_ec = ec;
        EXPECT_EQ(last, "");  // the empty line that ends the exchange
      }
    }
    break;
  }
  gsasl_finish(session);
  return result;
}

const credentials right{"user", "correct horse"};
const credentials wrong{"user", "battery staple"};
const credentials unknown_user{"mallory", "correct horse"};

class GsaslMechanism : public testing::TestWithParam<const char*> {};

TEST_P(GsaslMechanism, SucceedsWithTheRightPassword) {
  const auto r = run_exchange(GetParam(), right);
  EXPECT_TRUE(r.server_accepted) << gsasl_strerror(r.server_rc);
  EXPECT_FALSE(r.client_ec) << r.client_ec.message();
  // Client messages per mechanism: PLAIN 1, LOGIN 2 (user, password), CRAM-MD5 1, SCRAM 2.
  const std::string name = GetParam();
  const std::size_t expected = name == "LOGIN" || name == "SCRAM-SHA-256" ? 2 : 1;
  EXPECT_EQ(r.client_messages.size(), expected);
}

TEST_P(GsaslMechanism, FailsWithAWrongPassword) {
  const auto r = run_exchange(GetParam(), wrong);
  EXPECT_FALSE(r.server_accepted);
  // The server must have seen the client's proof and refused it, not failed on the way there.
  EXPECT_EQ(r.server_rc, GSASL_AUTHENTICATION_ERROR) << gsasl_strerror(r.server_rc);
  EXPECT_FALSE(r.client_messages.empty());
  EXPECT_FALSE(r.client_ec);
}

TEST_P(GsaslMechanism, FailsForAnUnknownUser) {
  const auto r = run_exchange(GetParam(), unknown_user);
  EXPECT_FALSE(r.server_accepted);
}

TEST_P(GsaslMechanism, NameIsCanonicalUpperCase) {
  std::error_code ec;
  std::string lower(GetParam());
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto m = make_mechanism(lower, right, ec);
  ASSERT_TRUE(m) << ec.message();
  EXPECT_EQ(m->name(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(All, GsaslMechanism, testing::Values("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"),
                         [](const testing::TestParamInfo<const char*>& param_info) {
                           std::string n = param_info.param;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(Plain, InitialResponseKnownAnswer) {
  std::error_code ec;
  auto m = make_mechanism("PLAIN", {"user", "secret"}, ec);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->initial_response(ec), "AHVzZXIAc2VjcmV0");  // "\0user\0secret"
  EXPECT_FALSE(ec);
}

TEST(Login, ServerSpeaksFirstAndChallengesAreUsernamePassword) {
  std::error_code ec;
  auto m = make_mechanism("LOGIN", {"user", "secret"}, ec);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->initial_response(ec), std::nullopt);
  EXPECT_FALSE(ec);
  EXPECT_EQ(m->step("VXNlcm5hbWU6", ec), "dXNlcg==");  // "Username:" -> "user"
  EXPECT_FALSE(ec);
  EXPECT_EQ(m->step("UGFzc3dvcmQ6", ec), "c2VjcmV0");  // "Password:" -> "secret"
  EXPECT_FALSE(ec);
}

TEST(CramMd5, ServerSpeaksFirst) {
  std::error_code ec;
  auto m = make_mechanism("CRAM-MD5", right, ec);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->initial_response(ec), std::nullopt);
}

TEST(CramMd5, Rfc2195KnownAnswer) {
  // RFC 2195 §2: tim / tanstaaftanstaaf.
  std::error_code ec;
  auto m = make_mechanism("CRAM-MD5", {"tim", "tanstaaftanstaaf"}, ec);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->step("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", ec),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  EXPECT_FALSE(ec);
}

TEST(Scram, ClientSpeaksFirstWithoutChannelBinding) {
  std::error_code ec;
  auto m = make_mechanism("SCRAM-SHA-256", right, ec);
  ASSERT_TRUE(m);
  const auto initial = m->initial_response(ec);
  ASSERT_TRUE(initial.has_value());
  EXPECT_FALSE(ec);
  // "n,,n=user,r=" in base64 starts with "biwsbj11c2VyLHI9".
  EXPECT_EQ(initial->substr(0, 16), "biwsbj11c2VyLHI9");
}

TEST(Scram, RejectsAForgedServerSignature) {
  // Flip one character of "v=<signature>": a server that does not know the password cannot
  // produce the right one, and the client must notice.
  const auto r = run_exchange("SCRAM-SHA-256", right, [](const std::string& b64) {
    std::string forged = "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    (void)b64;
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < forged.size(); i += 3) {
      unsigned v = static_cast<unsigned char>(forged[i]) << 16;
      if (i + 1 < forged.size()) v |= static_cast<unsigned char>(forged[i + 1]) << 8;
      if (i + 2 < forged.size()) v |= static_cast<unsigned char>(forged[i + 2]);
      out += alphabet[(v >> 18) & 63];
      out += alphabet[(v >> 12) & 63];
      out += i + 1 < forged.size() ? alphabet[(v >> 6) & 63] : '=';
      out += i + 2 < forged.size() ? alphabet[v & 63] : '=';
    }
    return out;
  });
  EXPECT_TRUE(r.server_accepted);
  EXPECT_EQ(r.client_ec, smtp::errc::auth_failed);
}

TEST(GsaslMechanismErrors, GarbageChallengeIsAuthFailed) {
  std::error_code ec;
  auto m = make_mechanism("SCRAM-SHA-256", right, ec);
  ASSERT_TRUE(m);
  (void)m->initial_response(ec);
  EXPECT_EQ(m->step("bm90IGEgc2NyYW0gbWVzc2FnZQ==", ec), "");  // "not a scram message"
  EXPECT_EQ(ec, smtp::errc::auth_failed);
}

TEST(GsaslMechanismErrors, ChallengeAfterCompletionIsAuthFailed) {
  std::error_code ec;
  auto m = make_mechanism("PLAIN", right, ec);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->initial_response(ec));
  (void)m->step("", ec);
  (void)m->step("", ec);
  EXPECT_EQ(ec, smtp::errc::auth_failed);
}

TEST(Plain, EmptyCredentialsStillProduceAResponse) {
  std::error_code ec;
  auto m = make_mechanism("PLAIN", {"", ""}, ec);
  ASSERT_TRUE(m);
  const auto initial = m->initial_response(ec);
  ASSERT_TRUE(initial.has_value());
  EXPECT_EQ(*initial, "AAA=");  // "\0\0"
}

// ---- XOAUTH2 -------------------------------------------------------------------------------

TEST(Xoauth2, InitialResponseKnownAnswer) {
  // The example of Google's XOAUTH2 protocol documentation.
  std::error_code ec;
  auto m = make_mechanism("XOAUTH2",
                          {"someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"}, ec);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name(), "XOAUTH2");
  EXPECT_EQ(m->initial_response(ec),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJo"
            "ZG1semRHRXVZMjl0Q2cBAQ==");
  EXPECT_FALSE(ec);
}

TEST(Xoauth2, ErrorChallengeGetsAnEmptyResponse) {
  std::error_code ec;
  auto m = make_mechanism("xoauth2", {"u@example.com", "token"}, ec);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->initial_response(ec));
  // base64 of {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}
  EXPECT_EQ(
      m->step(
          "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
          ec),
      "");
  EXPECT_FALSE(ec);
}

TEST(Xoauth2, SeparatorInCredentialsIsRejected) {
  std::error_code ec;
  auto m = make_mechanism("XOAUTH2",
                          {"u@example.com\x01"
                           "auth=Bearer forged",
                           "token"},
                          ec);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->initial_response(ec), std::nullopt);
  EXPECT_EQ(ec, smtp::errc::invalid_argument);
}

// ---- make_mechanism / choose ---------------------------------------------------------------

TEST(MakeMechanism, UnknownIsUnsupported) {
  std::error_code ec;
  EXPECT_EQ(make_mechanism("GSSAPI", right, ec), nullptr);
  EXPECT_EQ(ec, smtp::errc::auth_mech_unsupported);
  EXPECT_EQ(make_mechanism("", right, ec), nullptr);
  EXPECT_EQ(ec, smtp::errc::auth_mech_unsupported);
}

TEST(MakeMechanism, EverySupportedMechanismCanBeCreated) {
  for (const auto& name : supported_mechanisms()) {
    std::error_code ec;
    auto m = make_mechanism(name, right, ec);
    ASSERT_TRUE(m) << name << ": " << ec.message();
    EXPECT_EQ(m->name(), name);
  }
}

TEST(SupportedMechanisms, StrongestFirst) {
  EXPECT_EQ(supported_mechanisms(),
            (std::vector<std::string>{"SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2", "EXTERNAL"}));
}

TEST(Choose, StrongestOffered) {
  EXPECT_EQ(choose({"PLAIN", "LOGIN", "SCRAM-SHA-256", "CRAM-MD5"}, std::nullopt), "SCRAM-SHA-256");
  EXPECT_EQ(choose({"LOGIN", "PLAIN", "CRAM-MD5"}, std::nullopt), "CRAM-MD5");
  EXPECT_EQ(choose({"LOGIN", "PLAIN"}, std::nullopt), "PLAIN");
  EXPECT_EQ(choose({"LOGIN", "GSSAPI"}, std::nullopt), "LOGIN");
}

TEST(Choose, CaseInsensitive) {
  EXPECT_EQ(choose({"login", "Plain"}, std::nullopt), "PLAIN");
  EXPECT_EQ(choose({"scram-sha-256"}, std::nullopt), "SCRAM-SHA-256");
  EXPECT_EQ(choose({}, "cram-md5"), "CRAM-MD5");
}

TEST(Choose, NoneOffered) {
  EXPECT_EQ(choose({}, std::nullopt), std::nullopt);
  EXPECT_EQ(choose({"GSSAPI", "NTLM", "SCRAM-SHA-1"}, std::nullopt), std::nullopt);
}

TEST(Choose, Xoauth2OnlyWhenForced) {
  EXPECT_EQ(choose({"XOAUTH2"}, std::nullopt), std::nullopt);
  EXPECT_EQ(choose({"XOAUTH2", "LOGIN"}, std::nullopt), "LOGIN");
  EXPECT_EQ(choose({"XOAUTH2"}, "xoauth2"), "XOAUTH2");
}

TEST(Choose, ExternalOnlyWhenForced) {
  EXPECT_EQ(choose({"EXTERNAL"}, std::nullopt), std::nullopt);
  EXPECT_EQ(choose({"EXTERNAL", "PLAIN"}, std::nullopt), "PLAIN");
  EXPECT_EQ(choose({"EXTERNAL"}, "external"), "EXTERNAL");
}

// ---- EXTERNAL (RFC 4422 appendix A) ---------------------------------------------------------

TEST(External, EmptyAuthzidIsEquals) {
  std::error_code ec;
  auto m = make_mechanism("EXTERNAL", {"", ""}, ec);
  ASSERT_TRUE(m) << ec.message();
  EXPECT_EQ(m->initial_response(ec), "=");
  EXPECT_FALSE(ec);
}

TEST(External, AuthzidIsBase64) {
  std::error_code ec;
  auto m = make_mechanism("external", {"alice@example.org", "ignored"}, ec);
  ASSERT_TRUE(m) << ec.message();
  EXPECT_EQ(m->name(), "EXTERNAL");
  EXPECT_EQ(m->initial_response(ec), "YWxpY2VAZXhhbXBsZS5vcmc=");
  // A server that ignored the initial response asks once more; a second challenge is a failure.
  EXPECT_EQ(m->step("", ec), "YWxpY2VAZXhhbXBsZS5vcmc=");
  EXPECT_FALSE(ec);
  m->step("", ec);
  EXPECT_EQ(ec, smtp::errc::auth_failed);
}

TEST(Choose, ForcedNeedNotBeOfferedButMustBeSupported) {
  EXPECT_EQ(choose({"SCRAM-SHA-256"}, "LOGIN"), "LOGIN");
  EXPECT_EQ(choose({"PLAIN"}, "GSSAPI"), std::nullopt);
  EXPECT_EQ(choose({"PLAIN"}, ""), std::nullopt);
}

}  // namespace
}  // namespace postern::auth
