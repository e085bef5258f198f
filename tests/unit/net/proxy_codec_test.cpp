#include "postern/net/proxy_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::net::proxy_codec {
namespace {

using namespace std::string_literals;

struct run_result {
  std::string sent;      // everything the client wrote
  std::size_t used = 0;  // proxy bytes consumed
  step final = step::need_more;
  failure error;
};

// Plays @p proxy_bytes to the client in pieces: the first piece @p first bytes, then @p rest
// bytes at a time (0: as many as bytes_wanted() allows). Returns what the client sent.
template <class Client>
run_result play(Client& c, std::string_view proxy_bytes, std::size_t first, std::size_t rest) {
  run_result r;
  r.sent += c.take_output();
  std::size_t pos = 0;
  bool first_piece = true;
  while (c.state() == step::need_more && pos < proxy_bytes.size()) {
    std::size_t n = first_piece ? first : rest;
    if (n == 0) n = c.bytes_wanted();
    first_piece = false;
    if (n == 0) n = 1;
    const auto piece = proxy_bytes.substr(pos, n);
    const auto used = c.feed(piece);
    EXPECT_LE(used, piece.size());
    if (c.state() == step::need_more) EXPECT_EQ(used, piece.size());
    pos += used;
    r.sent += c.take_output();
    if (used == 0) break;
  }
  r.used = pos;
  r.final = c.state();
  r.error = c.error();
  return r;
}

const std::string greeting_noauth = "\x05\x01\x00"s;
const std::string greeting_auth = "\x05\x02\x00\x02"s;
const std::string connect_name = "\x05\x01\x00\x03\x10mail.example.org\x02\x4b"s;  // port 587
const std::string ok_v4 = "\x05\x00\x00\x01\x7f\x00\x00\x01\x9c\x40"s;             // 127.0.0.1:40000

TEST(Socks5, NoAuthSplitAtEveryBoundary) {
  const std::string proxy = "\x05\x00"s + ok_v4 + "220 greeting";
  const std::size_t reply_len = 2 + ok_v4.size();
  for (std::size_t first = 1; first <= proxy.size(); ++first) {
    for (std::size_t rest : {std::size_t{1}, std::size_t{3}, proxy.size()}) {
      socks5_client c("mail.example.org", 587, "", "");
      auto r = play(c, proxy, first, rest);
      ASSERT_EQ(r.final, step::done) << first << "/" << rest << ": " << r.error.reason;
      EXPECT_EQ(r.sent, greeting_noauth + connect_name);
      EXPECT_EQ(r.used, reply_len) << "must not consume tunnel bytes";
      EXPECT_EQ(c.bound_address(), "127.0.0.1:40000");
    }
  }
}

TEST(Socks5, BytesWantedNeverReadsPastTheReply) {
  const std::string proxy = "\x05\x02"s + "\x01\x00"s + "\x05\x00\x00\x03\x04host\x00\x19"s + "TUNNEL";
  socks5_client c("mail.example.org", 587, "alice", "s3cret");
  auto r = play(c, proxy, 0, 0);
  ASSERT_EQ(r.final, step::done) << r.error.reason;
  EXPECT_EQ(r.used, proxy.size() - 6);
  EXPECT_EQ(c.bound_address(), "host:25");
  EXPECT_EQ(r.sent, greeting_auth +
                        "\x01\x05"
                        "alice\x06s3cret"s +
                        connect_name);
}

TEST(Socks5, UserPasswordSplitAtEveryBoundary) {
  const std::string proxy =
      "\x05\x02"s + "\x01\x00"s + "\x05\x00\x00\x04"s + std::string(16, '\0') + "\x00\x19"s;
  for (std::size_t first = 1; first <= proxy.size(); ++first) {
    socks5_client c("mail.example.org", 587, "alice", "s3cret");
    auto r = play(c, proxy, first, 1);
    ASSERT_EQ(r.final, step::done) << first << ": " << r.error.reason;
    EXPECT_EQ(r.used, proxy.size());
    EXPECT_EQ(c.bound_address(), "[::]:25");
  }
}

TEST(Socks5, IpLiteralsGoAsAddresses) {
  {
    socks5_client c("192.0.2.7", 465, "", "");
    auto r = play(c, "\x05\x00"s + ok_v4, 2, 0);
    EXPECT_EQ(r.sent, greeting_noauth + "\x05\x01\x00\x01\xc0\x00\x02\x07\x01\xd1"s);
  }
  {
    socks5_client c("::1", 25, "", "");
    auto r = play(c, "\x05\x00"s + ok_v4, 2, 0);
    EXPECT_EQ(r.sent, greeting_noauth + "\x05\x01\x00\x04"s + std::string(15, '\0') + "\x01\x00\x19"s);
  }
}

TEST(Socks5, EveryReplyCodeIsRefusedWithItsReason) {
  const std::vector<std::string> reasons{"general SOCKS server failure", "connection not allowed by ruleset",
                                         "network unreachable",          "host unreachable",
                                         "connection refused",           "TTL expired",
                                         "command not supported",        "address type not supported"};
  for (int rep = 1; rep <= 9; ++rep) {
    socks5_client c("mail.example.org", 587, "", "");
    // Some proxies send only VER and REP on failure, then close: judged after two bytes.
    const std::string proxy = "\x05\x00"s + "\x05"s + static_cast<char>(rep);
    auto r = play(c, proxy, 1, 1);
    ASSERT_EQ(r.final, step::failed);
    EXPECT_EQ(r.error.kind, failure_kind::refused);
    EXPECT_EQ(r.error.reply_code, rep);
    if (rep <= 8) {
      EXPECT_NE(r.error.reason.find(reasons[static_cast<std::size_t>(rep - 1)]), std::string::npos)
          << r.error.reason;
    } else {
      EXPECT_NE(r.error.reason.find("unassigned"), std::string::npos);
    }
  }
}

TEST(Socks5, AuthenticationFailures) {
  {  // the proxy wants credentials we do not have
    socks5_client c("mail.example.org", 587, "", "");
    auto r = play(c, "\x05\xff"s, 2, 0);
    EXPECT_EQ(r.error.kind, failure_kind::auth_failed);
    EXPECT_NE(r.error.reason.find("requires authentication"), std::string::npos);
  }
  {  // wrong password
    socks5_client c("mail.example.org", 587, "alice", "wrong");
    auto r = play(c, "\x05\x02\x01\x01"s, 1, 1);
    EXPECT_EQ(r.error.kind, failure_kind::auth_failed);
    EXPECT_EQ(r.error.reply_code, 1);
  }
  {  // version 5 in the RFC 1929 reply is tolerated
    socks5_client c("mail.example.org", 587, "alice", "pw");
    auto r = play(c, "\x05\x02\x05\x00"s + ok_v4, 4, 0);
    EXPECT_EQ(r.final, step::done) << r.error.reason;
  }
  {  // a method we did not offer
    socks5_client c("mail.example.org", 587, "", "");
    auto r = play(c, "\x05\x02"s, 2, 0);
    EXPECT_EQ(r.error.kind, failure_kind::bad_reply);
  }
}

TEST(Socks5, NotSocks) {
  {
    socks5_client c("mail.example.org", 587, "", "");
    auto r = play(c, "HTTP/1.1 400 Bad Request\r\n\r\n", 100, 0);
    EXPECT_EQ(r.error.kind, failure_kind::bad_reply);
    EXPECT_NE(r.error.reason.find("HTTP"), std::string::npos) << r.error.reason;
  }
  {
    socks5_client c("mail.example.org", 587, "", "");
    auto r = play(c, "220 mail ESMTP\r\n", 100, 0);
    EXPECT_EQ(r.error.kind, failure_kind::bad_reply);
    EXPECT_EQ(r.used, 2u);
  }
  {  // unknown address type in the reply
    socks5_client c("mail.example.org", 587, "", "");
    auto r = play(c, "\x05\x00\x05\x00\x00\x09"s, 100, 0);
    EXPECT_EQ(r.error.kind, failure_kind::bad_reply);
  }
  {  // wrong version in the CONNECT reply
    socks5_client c("mail.example.org", 587, "", "");
    auto r = play(c, "\x05\x00\x04\x5a"s, 100, 0);
    EXPECT_EQ(r.error.kind, failure_kind::bad_reply);
  }
}

TEST(Socks5, UnencodableTargets) {
  socks5_client a(std::string(256, 'a'), 25, "", "");
  EXPECT_EQ(a.state(), step::failed);
  EXPECT_EQ(a.error().kind, failure_kind::bad_request);
  socks5_client b("", 25, "", "");
  EXPECT_EQ(b.state(), step::failed);
  socks5_client c("host", 25, std::string(256, 'u'), "p");
  EXPECT_EQ(c.state(), step::failed);
}

const std::string http_ok = "HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n";

TEST(HttpConnect, RequestBytes) {
  http_connect_client a("mail.example.org", 587, "", "");
  EXPECT_EQ(a.take_output(), "CONNECT mail.example.org:587 HTTP/1.1\r\nHost: mail.example.org:587\r\n\r\n");
  http_connect_client b("::1", 465, "Aladdin", "open sesame");
  EXPECT_EQ(b.take_output(),
            "CONNECT [::1]:465 HTTP/1.1\r\nHost: [::1]:465\r\n"
            "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
  http_connect_client c("bad host", 25, "", "");
  EXPECT_EQ(c.state(), step::failed);
  EXPECT_EQ(c.error().kind, failure_kind::bad_request);
}

TEST(HttpConnect, SuccessSplitAtEveryBoundary) {
  for (const std::string head :
       {http_ok, "HTTP/1.1 200 OK\r\n\r\n"s, "HTTP/1.1 200\n\n"s, "HTTP/1.1 204 x\r\nA: b\nC: d\r\n\r\n"s}) {
    const std::string proxy = head + "220 mail ESMTP\r\n";
    for (std::size_t first = 1; first <= proxy.size(); ++first) {
      for (std::size_t rest : {std::size_t{1}, std::size_t{7}, proxy.size()}) {
        http_connect_client c("mail.example.org", 587, "", "");
        auto r = play(c, proxy, first, rest);
        ASSERT_EQ(r.final, step::done) << first << "/" << rest << ": " << r.error.reason;
        EXPECT_EQ(r.used, head.size());
      }
    }
  }
}

TEST(HttpConnect, BytesWantedNeverReadsPastTheHeader) {
  const std::string proxy = http_ok + "220 mail ESMTP\r\n";
  http_connect_client c("mail.example.org", 587, "", "");
  auto r = play(c, proxy, 0, 0);
  ASSERT_EQ(r.final, step::done);
  EXPECT_EQ(r.used, http_ok.size());
}

TEST(HttpConnect, Refusals) {
  struct tc {
    std::string reply;
    failure_kind kind;
    int code;
  };
  for (const auto& t : std::vector<tc>{
           {"HTTP/1.0 403 Access violation\r\n\r\n", failure_kind::refused, 403},
           {"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
            failure_kind::auth_failed, 407},
           {"HTTP/1.0 401 Unauthorized\r\n\r\n", failure_kind::auth_failed, 401},
           {"HTTP/1.1 502 Bad Gateway\r\n\r\n", failure_kind::refused, 502},
           {"HTTP/1.1 100 Continue\r\n\r\n", failure_kind::refused, 100},
           {"220 mail ESMTP\r\n", failure_kind::bad_reply, -1},
           {"\x05\x00", failure_kind::bad_reply, -1},
           {"HTTP/1.1 2000 OK\r\n\r\n", failure_kind::bad_reply, -1},
           {"HTTP/x.1 200 OK\r\n\r\n", failure_kind::bad_reply, -1},
           {"HTTP/1.1\r\n\r\n", failure_kind::bad_reply, -1},
       }) {
    for (std::size_t first = 1; first <= t.reply.size(); ++first) {
      http_connect_client c("mail.example.org", 587, "", "");
      auto r = play(c, t.reply, first, 1);
      ASSERT_EQ(r.final, step::failed) << t.reply;
      EXPECT_EQ(r.error.kind, t.kind) << t.reply;
      EXPECT_EQ(r.error.reply_code, t.code) << t.reply;
    }
  }
  http_connect_client c("mail.example.org", 587, "", "");
  auto r = play(c, "HTTP/1.0 403 Access violation\r\n\r\n", 100, 0);
  EXPECT_EQ(r.error.reason, "403 Access violation");
}

TEST(HttpConnect, EndlessHeadersAreBounded) {
  http_connect_client c("mail.example.org", 587, "", "", 1024);
  (void)c.take_output();
  std::string line = "X-Filler: " + std::string(50, 'a') + "\r\n";
  std::size_t fed = c.feed("HTTP/1.1 200 OK\r\n");
  for (int i = 0; i < 1000 && c.state() == step::need_more; ++i) fed += c.feed(line);
  EXPECT_EQ(c.state(), step::failed);
  EXPECT_EQ(c.error().kind, failure_kind::bad_reply);
  EXPECT_LE(fed, 1025u);
  EXPECT_NE(c.error().reason.find("1024"), std::string::npos);
}

TEST(Helpers, Base64AndEscape) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(escape("a\r\n\x01\\"), "a\\r\\n\\x01\\\\");
  EXPECT_EQ(escape("abcdef", 3), "abc…");
}

}  // namespace
}  // namespace postern::net::proxy_codec
