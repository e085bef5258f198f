#pragma once
/**
 * @file
 * The byte stream to one server: TCP connect with a deadline (every resolved
 * address, IPv6 and IPv4, in resolver order), then plain bytes, implicit TLS, or a
 * STARTTLS upgrade. Optionally through a SOCKS5 or HTTP CONNECT proxy (net/proxy.hpp). This
 * header is the Asio integration: it exposes Asio types.
 *
 *   net::stream s(io.get_executor());
 *   auto ec = co_await s.connect("mail.example.org", 587, 30s);
 *   auto n = co_await s.read_some(buf, deadline, ec);
 */
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "postern/net/error.hpp"
#include "postern/net/proxy.hpp"

/// OpenSSL's client context, declared here so that this header does not include OpenSSL.
typedef struct ssl_ctx_st SSL_CTX;
/// OpenSSL's TLS session (for resumption), declared here for the same reason.
typedef struct ssl_session_st SSL_SESSION;

namespace postern::net {

/// The clock of every deadline: monotonic, so wall-clock changes do not cut a step short.
using clock = std::chrono::steady_clock;

/** Why a TLS handshake failed, as the tls backend classified it. */
struct tls_failure {
  std::string code;                ///< the cause code, e.g. "tls.cert.expired", "tls.handshake-failed"
  std::string summary;             ///< one line, plain words
  std::string detail;              ///< the technical detail (OpenSSL's error or verify result)
  int alert_received = -1;         ///< the server's TLS alert, -1 if none
  bool server_hello_seen = false;  ///< the server answered in TLS before failing
  bool timed_out = false;          ///< the handshake did not finish before the deadline
};

/** One connection to a server: TCP (possibly through a proxy), then optionally TLS. Not copyable. */
class stream {
 public:
  /** An unconnected stream whose work runs on @p ex. */
  explicit stream(asio::any_io_executor ex);
  ~stream();
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  /**
   * Resolves @p host and connects to the first address that answers before @p deadline.
   * With @p via, connects to the proxy instead and asks it for @p host:@p port (a SOCKS5 proxy
   * resolves the name itself); @p deadline covers the proxy connection and its handshake.
   * Proxy failures are errc::proxy_*; error_text() has the details (the SOCKS5 reply, the
   * HTTP status line).
   */
  asio::awaitable<std::error_code> connect(std::string host, std::uint16_t port, clock::time_point deadline,
                                           std::optional<proxy> via = std::nullopt);
  /** What the last connect() failure was, in words: its details when known, else @p ec's message. */
  std::string error_text(std::error_code ec) const;

  /**
   * Runs the TLS client handshake on the connected socket (implicit TLS, or after STARTTLS).
   * @param ctx        client context (see tls::make_client_context); not owned, must outlive the stream
   * @param name       server name for SNI and the certificate check
   * @param insecure   true: skip the certificate check (still sends SNI)
   * @param deadline   when to give up (the failure then has timed_out set)
   * @param resume     a session to offer for resumption (SSL_set_session); null: a full handshake.
   *                   The server may still refuse it: then the handshake is a full one.
   * @return nullopt on success, else the classified failure
   */
  asio::awaitable<std::optional<tls_failure>> start_tls(SSL_CTX* ctx, std::string name, bool insecure,
                                                        clock::time_point deadline,
                                                        SSL_SESSION* resume = nullptr);

  /** Reads what is there (at least one byte). EOF and resets give errc::closed; the deadline errc::timeout.
   */
  asio::awaitable<std::size_t> read_some(char* buf, std::size_t size, clock::time_point deadline,
                                         std::error_code& ec);
  /** Writes all of @p bytes before @p deadline. */
  asio::awaitable<void> write(std::string_view bytes, clock::time_point deadline, std::error_code& ec);

  /** True once the TLS handshake succeeded: reads and writes are encrypted. */
  bool tls_active() const noexcept { return tls_; }
  /**
   * After a read or write failed on an established TLS connection: whether the server's alert
   * (or its close right after a CertificateRequest, before any data came) says it wants a
   * (different) client certificate (TLS 1.3 servers say so only after the handshake).
   * nullopt when TLS is not active or the failure is about something else.
   */
  std::optional<tls_failure> tls_failure_after_handshake();
  /** The SSL object once TLS is active (for handshake reports), else nullptr. */
  void* native_ssl() noexcept;
  /** The address actually connected to, e.g. "127.0.0.1" or "::1": through a proxy, the proxy's. */
  std::string peer_address() const;
  /** The proxy this stream goes through, if any. */
  const std::optional<proxy>& via() const noexcept { return via_; }
  /** Closes the connection (without a TLS close_notify); safe to call twice. */
  void close() noexcept;

 private:
  asio::awaitable<std::error_code> connect_tcp(const std::string& host, std::uint16_t port,
                                               clock::time_point deadline);
  struct watchdog;  // the deadline of reads and writes: one timer per stream (stream.cpp)

  asio::any_io_executor ex_;
  asio::ip::tcp::socket socket_;
  std::optional<proxy> via_;
  std::string error_detail_;
  std::optional<asio::ssl::context> ssl_ctx_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls_stream_;
  bool tls_ = false;
  bool tls_read_any_ = false;  ///< some application data arrived over TLS
  std::shared_ptr<watchdog> watchdog_;
};

/**
 * Whether @p host:@p port speaks TLS first (an implicit-TLS port): a fresh connection sends
 * a ClientHello offering everything (legacy profile, no verification) and looks for a
 * ServerHello or a TLS alert. A plain SMTP greeting, silence until @p deadline, or a
 * refused connection all mean no. With @p via, the connection goes through that proxy.
 */
asio::awaitable<bool> speaks_tls(std::string host, std::uint16_t port, clock::time_point deadline,
                                 std::optional<proxy> via = std::nullopt);

/**
 * For a plaintext wait on a silent port: from @p start_at on, checks speaks_tls() on a
 * second connection. Returns true as soon as the port proves to be implicit TLS; otherwise
 * returns false only after @p deadline, so that racing it against the greeting read
 * (`read || tls_port_check`) lets a slow greeting still win.
 */
asio::awaitable<bool> tls_port_check(std::string host, std::uint16_t port, clock::time_point start_at,
                                     clock::time_point deadline, std::optional<proxy> via = std::nullopt);

}  // namespace postern::net
