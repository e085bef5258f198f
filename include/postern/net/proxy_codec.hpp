#pragma once
/**
 * @file
 * The proxy handshakes without I/O: SOCKS5 (RFC 1928, RFC 1929) and HTTP CONNECT
 * (RFC 9110 §9.3.6). Each client builds the bytes to send and parses the proxy's replies
 * from bytes fed in any split; net::stream drives it over a socket. No Asio, no OpenSSL,
 * no `<expected>`: fuzzed with clang 14 (tests/fuzz/fuzz_proxy_reply.cpp).
 *
 *   proxy_codec::socks5_client c("mail.example.org", 587, "", "");
 *   write(c.take_output());                       // 05 01 00
 *   while (c.state() == proxy_codec::step::need_more) {
 *     read at most c.bytes_wanted() bytes; c.feed(them); write(c.take_output());
 *   }
 *
 * Reading at most bytes_wanted() bytes at a time never reads past the end of the proxy's
 * last reply, so the first byte of the tunnel (the SMTP greeting, or the server's TLS
 * answer) stays in the socket for whoever reads next.
 */
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace postern::net::proxy_codec {

/** Where a handshake stands. */
enum class step {
  need_more,  ///< send take_output(), then feed() the proxy's answer
  done,       ///< the tunnel is open: the next byte is the server's
  failed,     ///< see error(); close the connection
};

/** Why a handshake failed; each but bad_request maps to a net.proxy-* cause. */
enum class failure_kind {
  none,         ///< no failure
  bad_reply,    ///< net.proxy-bad-reply: not a SOCKS5 / HTTP reply, or one too long
  auth_failed,  ///< net.proxy-auth-failed: credentials rejected or required (SOCKS5, HTTP 407)
  refused,      ///< net.proxy-refused: the proxy would not or could not reach the target
  bad_request,  ///< the target or credentials cannot be encoded (longer than 255 bytes, empty)
};

/** A failed handshake: the kind, the proxy's code and a reason in words. */
struct failure {
  failure_kind kind = failure_kind::none;  ///< none while the handshake has not failed
  int reply_code = -1;                     ///< the SOCKS5 REP, RFC 1929 status or HTTP status; -1 when none
  std::string reason;                      ///< plain words, without the proxy's name (the caller adds it)
};

/** RFC 1928 §6 reply field in words: 1 "general SOCKS server failure" … 8 "address type not supported". */
const char* socks5_reply_text(int rep) noexcept;

/**
 * The client side of a SOCKS5 CONNECT. Offers "no authentication", and user name/password when
 * @p user is not empty. The target goes as an IPv4/IPv6 address when @p host is an IP literal,
 * else as a domain name (ATYP 3): the proxy resolves it.
 */
class socks5_client {
 public:
  /** A client that will ask for @p host:@p port; @p user "" = no authentication. */
  socks5_client(std::string_view host, std::uint16_t port, std::string_view user, std::string_view password);

  /** Bytes to send now (the greeting, the credentials, the CONNECT request); "" when none. */
  std::string take_output();
  /** At least 1 while need_more: the most bytes that can be read without reading past the reply. */
  std::size_t bytes_wanted() const noexcept;
  /** Parses proxy bytes; returns how many were used (the rest belong to the tunnel, or follow an error). */
  std::size_t feed(std::string_view bytes);
  step state() const noexcept { return step_; }                            ///< where the handshake stands
  const proxy_codec::failure& error() const noexcept { return failure_; }  ///< why it failed (state() failed)
  /** Whether the proxy sent anything yet (an EOF before any byte is a refusal, not a bad reply). */
  bool answered() const noexcept { return answered_; }
  /** BND.ADDR:BND.PORT of the success reply, e.g. "127.0.0.1:40312" (the proxy's outgoing address). */
  const std::string& bound_address() const noexcept { return bound_; }

 private:
  enum class phase { method, auth, reply_head, reply_addr };
  void fail(failure_kind k, int code, std::string reason);
  void send_connect();
  void on_method();
  void on_auth();
  void on_reply_head();
  void on_reply_addr();

  std::string host_, user_, password_;
  std::uint16_t port_;
  phase phase_ = phase::method;
  step step_ = step::need_more;
  std::string out_;
  std::string got_;       // bytes of the reply being read
  std::size_t need_ = 2;  // bytes of the current piece
  int atyp_ = 0;
  bool answered_ = false;
  proxy_codec::failure failure_;
  std::string bound_;
};

/**
 * The client side of an HTTP CONNECT tunnel. Sends `CONNECT host:port HTTP/1.1` with a Host
 * header and, when @p user is not empty, `Proxy-Authorization: Basic …`. A 2xx reply opens the
 * tunnel once its header ends; 407 (and 401, which tinyproxy sends) is auth_failed; any other
 * status is refused (the status line is the reason). At most @p max_head bytes of status line and headers are
 * accepted.
 */
class http_connect_client {
 public:
  static constexpr std::size_t default_max_head = 16 * 1024;  ///< 16 KiB of status line and headers

  /** A client that will ask for @p host:@p port; @p user "" = no Proxy-Authorization. */
  http_connect_client(std::string_view host, std::uint16_t port, std::string_view user,
                      std::string_view password, std::size_t max_head = default_max_head);

  /** Bytes to send now (the CONNECT request); "" when none. */
  std::string take_output();
  /** At least 1 while need_more: the most bytes that can be read without reading past the header. */
  std::size_t bytes_wanted() const noexcept;
  /** Parses proxy bytes; returns how many were used (the rest belong to the tunnel, or follow an error). */
  std::size_t feed(std::string_view bytes);
  step state() const noexcept { return step_; }                            ///< where the handshake stands
  const proxy_codec::failure& error() const noexcept { return failure_; }  ///< why it failed (state() failed)
  /** Whether the proxy sent anything yet (an EOF before any byte is a refusal, not a bad reply). */
  bool answered() const noexcept { return !head_.empty(); }
  /** The status code once the status line is read, else 0. */
  int status() const noexcept { return status_; }

 private:
  void fail(failure_kind k, int code, std::string reason);
  bool on_status_line();

  std::string out_;
  std::string head_;  // status line and headers read so far
  std::size_t line_start_ = 0;
  std::size_t max_head_;
  int status_ = 0;
  step step_ = step::need_more;
  proxy_codec::failure failure_;
};

/** Printable ASCII as is, anything else as `\xNN`; at most @p max input bytes, then "…". */
std::string escape(std::string_view bytes, std::size_t max = 200);

/** RFC 4648 base64 (for Proxy-Authorization: Basic). */
std::string base64(std::string_view bytes);

}  // namespace postern::net::proxy_codec
