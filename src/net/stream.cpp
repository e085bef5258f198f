#include "postern/net/stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <memory>
#include <tuple>

#include "postern/net/proxy_codec.hpp"
#include "tls/openssl_context.hpp"

namespace postern::net {
namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "postern.net"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::ok:
        return "ok";
      case errc::dns:
        return "the server name did not resolve";
      case errc::refused:
        return "connection refused: nothing listens on that port";
      case errc::unreachable:
        return "the host is unreachable";
      case errc::timeout:
        return "the server did not answer in time";
      case errc::greeting_timeout:
        return "connected, but the server sent no greeting in time";
      case errc::closed:
        return "the server closed the connection";
      case errc::proxy_unreachable:
        return "could not connect to the proxy";
      case errc::proxy_refused:
        return "the proxy did not connect to the server";
      case errc::proxy_auth_failed:
        return "the proxy rejected the credentials";
      case errc::proxy_bad_reply:
        return "the proxy's answer is not SOCKS5 or HTTP";
    }
    return "unknown network error";
  }
};

// Maps what the OS and Asio report to our causes; the original value goes to evidence.
errc classify_io(const std::error_code& ec) {
  if (ec == asio::error::connection_refused) return errc::refused;
  if (ec == asio::error::network_unreachable || ec == asio::error::host_unreachable) return errc::unreachable;
  if (ec == asio::error::timed_out) return errc::timeout;
  return errc::closed;
}

// "mail.example.org:587", "[2001:db8::1]:25"
std::string host_port(const std::string& host, std::uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Drives a proxy_codec client over the socket to the proxy. Reads at most bytes_wanted() at
// a time, so nothing of the tunnel (a greeting, a TLS answer) is read here.
template <class Client>
asio::awaitable<std::error_code> proxy_handshake(asio::ip::tcp::socket& sock, Client& c, const proxy& via,
                                                 const std::string& target, clock::time_point deadline,
                                                 std::string& detail) {
  asio::steady_timer timer(sock.get_executor());
  std::array<char, 512> buf{};
  const std::string who = "the " + via.describe();
  for (;;) {
    const std::string out = c.take_output();
    if (!out.empty()) {
      timer.expires_at(deadline);
      auto w =
          co_await (asio::async_write(sock, asio::buffer(out), use_tuple) || timer.async_wait(use_tuple));
      if (w.index() == 1) {
        detail = who + " did not take the request in time";
        co_return errc::timeout;
      }
      auto [wec, n] = std::get<0>(w);
      if (wec) {
        detail = who + " closed the connection: " + wec.message();
        co_return errc::proxy_refused;
      }
    }
    if (c.state() != proxy_codec::step::need_more) break;
    timer.expires_at(deadline);
    const std::size_t want = std::min(c.bytes_wanted(), buf.size());
    auto r = co_await (sock.async_read_some(asio::buffer(buf.data(), want), use_tuple) ||
                       timer.async_wait(use_tuple));
    if (r.index() == 1) {
      detail = who + " did not answer in time";
      co_return errc::timeout;
    }
    auto [rec, n] = std::get<0>(r);
    if (rec && n == 0) {
      // Nothing at all is how some proxies say no (dante for a client its rules do not allow).
      detail = who + (c.answered() ? " closed the connection in the middle of its reply"
                                   : " closed the connection without answering");
      co_return c.answered() ? errc::proxy_bad_reply : errc::proxy_refused;
    }
    c.feed(std::string_view(buf.data(), n));
  }
  if (c.state() == proxy_codec::step::done) co_return std::error_code{};
  const auto& f = c.error();
  switch (f.kind) {
    case proxy_codec::failure_kind::refused:
      detail = who + " did not connect to " + target + ": " + f.reason;
      co_return errc::proxy_refused;
    case proxy_codec::failure_kind::auth_failed:
      detail = who + ": " + f.reason;
      co_return errc::proxy_auth_failed;
    case proxy_codec::failure_kind::bad_request:
      detail = "cannot ask the proxy for " + target + ": " + f.reason;
      co_return errc::dns;
    case proxy_codec::failure_kind::bad_reply:
    case proxy_codec::failure_kind::none:
      break;
  }
  detail = who + " answered with something that is not " +
           (via.type == proxy::kind::socks5 ? "SOCKS5" : "HTTP") + ": " + f.reason;
  co_return errc::proxy_bad_reply;
}

}  // namespace

const std::error_category& net_category() noexcept {
  static const category c;
  return c;
}

const char* cause(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "";
    case errc::dns:
      return "net.dns";
    case errc::refused:
      return "net.refused";
    case errc::unreachable:
      return "net.unreachable";
    case errc::timeout:
      return "net.timeout";
    case errc::greeting_timeout:
      return "net.greeting-timeout";
    case errc::closed:
      return "net.closed";
    case errc::proxy_unreachable:
      return "net.proxy-unreachable";
    case errc::proxy_refused:
      return "net.proxy-refused";
    case errc::proxy_auth_failed:
      return "net.proxy-auth-failed";
    case errc::proxy_bad_reply:
      return "net.proxy-bad-reply";
  }
  return "net.closed";
}

// One timer per stream for the deadline of reads and writes. A fresh timer raced against every
// operation (`op || timer`) cost two coroutine frames, a parallel-group state and two updates of
// the reactor's timer queue per read or write: on a bulk connection that was a tenth of the
// client's CPU. The watchdog moves its timer only when a deadline comes sooner than its current
// wake-up; waking early, it sleeps again until the current deadline; once that has passed with an
// operation in flight, it cancels the socket's operations and the operation reports a timeout.
// The handler holds the watchdog, not the stream, so it may run after the stream is gone.
struct stream::watchdog {
  explicit watchdog(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;
  asio::ip::tcp::socket* socket = nullptr;                // null once the stream is closed or gone
  clock::time_point deadline = clock::time_point::max();  // of the operation in flight
  clock::time_point wake = clock::time_point::max();      // the timer's expiry; max: not waiting
  bool busy = false;                                      // an operation is in flight
  bool expired = false;                                   // its deadline passed: it was cancelled

  static void start(const std::shared_ptr<watchdog>& d, clock::time_point deadline) {
    d->deadline = deadline;
    d->busy = true;
    d->expired = false;
    if (d->wake <= deadline) return;  // an earlier wake-up is pending: it sleeps on from there
    d->wake = deadline;
    d->timer.expires_at(deadline);  // a pending wait ends with operation_aborted
    d->timer.async_wait([d](const asio::error_code& ec) { woke(d, ec); });
  }
  static void woke(const std::shared_ptr<watchdog>& d, const asio::error_code& ec) {
    if (ec == asio::error::operation_aborted || !d->socket) return;
    d->wake = clock::time_point::max();
    if (!d->busy) return;  // nothing in flight: the next operation arms it again
    if (clock::now() >= d->deadline) {
      d->expired = true;
      asio::error_code ignored;
      d->socket->cancel(ignored);
      return;
    }
    start(d, d->deadline);
  }
  // After the operation: whether it ended because its deadline passed.
  bool finish() noexcept {
    busy = false;
    return expired;
  }
};

stream::stream(asio::any_io_executor ex) : ex_(ex), socket_(ex), watchdog_(std::make_shared<watchdog>(ex)) {
  watchdog_->socket = &socket_;
}
stream::~stream() {
  close();
  watchdog_->socket = nullptr;
}

asio::awaitable<std::error_code> stream::connect(std::string host, std::uint16_t port,
                                                 clock::time_point deadline, std::optional<proxy> via) {
  error_detail_.clear();
  via_ = std::move(via);
  if (!via_) {
    const auto ec = co_await connect_tcp(host, port, deadline);
    co_return ec;
  }
  const auto ec = co_await connect_tcp(via_->host, via_->port, deadline);
  if (ec) {
    const std::string why = ec == errc::dns ? "its name did not resolve" : ec.message();
    error_detail_ = "no connection to the " + via_->describe() + ": " + why;
    co_return ec == errc::timeout ? ec : make_error_code(errc::proxy_unreachable);
  }
  const std::string target = host_port(host, port);
  std::error_code hec;
  if (via_->type == proxy::kind::socks5) {
    proxy_codec::socks5_client c(host, port, via_->user, via_->password);
    hec = co_await proxy_handshake(socket_, c, *via_, target, deadline, error_detail_);
  } else {
    proxy_codec::http_connect_client c(host, port, via_->user, via_->password);
    hec = co_await proxy_handshake(socket_, c, *via_, target, deadline, error_detail_);
  }
  if (hec) close();
  co_return hec;
}

std::string stream::error_text(std::error_code ec) const {
  return error_detail_.empty() ? ec.message() : error_detail_;
}

asio::awaitable<std::error_code> stream::connect_tcp(const std::string& host, std::uint16_t port,
                                                     clock::time_point deadline) {
  asio::ip::tcp::resolver resolver(ex_);
  asio::steady_timer timer(ex_, deadline);
  auto resolved =
      co_await (resolver.async_resolve(host, std::to_string(port), use_tuple) || timer.async_wait(use_tuple));
  if (resolved.index() == 1) co_return errc::timeout;
  auto [rec, results] = std::get<0>(std::move(resolved));
  if (rec || results.empty()) co_return errc::dns;

  // Each address in resolver order (the system's RFC 6724 preference), within one total deadline.
  errc last = errc::refused;
  for (const auto& entry : results) {
    if (clock::now() >= deadline) co_return errc::timeout;
    asio::ip::tcp::socket candidate(ex_);
    timer.expires_at(deadline);
    auto r = co_await (candidate.async_connect(entry.endpoint(), use_tuple) || timer.async_wait(use_tuple));
    if (r.index() == 1) co_return errc::timeout;
    auto [cec] = std::get<0>(r);
    if (!cec) {
      socket_ = std::move(candidate);
      asio::error_code ignored;
      socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
      co_return std::error_code{};
    }
    last = classify_io(cec);
  }
  co_return last;
}

asio::awaitable<std::optional<tls_failure>> stream::start_tls(SSL_CTX* ctx, std::string name, bool insecure,
                                                              clock::time_point deadline,
                                                              SSL_SESSION* resume) {
  SSL_CTX_up_ref(ctx);  // asio::ssl::context takes ownership of one reference
  ssl_ctx_.emplace(ctx);
  tls_stream_.emplace(socket_, *ssl_ctx_);
  SSL* ssl = tls_stream_->native_handle();
  std::string error;
  if (!tls::prepare_connection(ssl, name, insecure, error))
    co_return tls_failure{"tls.handshake-failed", "could not set up TLS: " + error, error};
  if (resume) SSL_set_session(ssl, resume);  // a refused session falls back to a full handshake

  asio::steady_timer timer(ex_, deadline);
  auto r = co_await (tls_stream_->async_handshake(asio::ssl::stream_base::client, use_tuple) ||
                     timer.async_wait(use_tuple));
  if (r.index() == 1)
    co_return tls_failure{"net.timeout",
                          "the TLS handshake did not finish in time",
                          "no handshake progress before the deadline",
                          -1,
                          false,
                          true};
  auto [ec] = std::get<0>(r);
  if (!ec) {
    tls_ = true;
    co_return std::nullopt;
  }
  bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
             ec == asio::error::connection_reset;
  // Asio took the first queued OpenSSL error into ec; put it back so the classifier sees it.
  if (ec.category() == asio::error::get_ssl_category() && ec.value() != 0) {
    unsigned long e = static_cast<unsigned long>(ec.value());
    ERR_raise(ERR_GET_LIB(e), ERR_GET_REASON(e));
  }
  auto f = tls::classify_handshake_failure(ssl, eof);
  if (f.detail.empty()) f.detail = ec.message();
  co_return tls_failure{f.code, f.summary, f.detail, f.alert_received, f.server_hello_seen, false};
}

asio::awaitable<std::size_t> stream::read_some(char* buf, std::size_t size, clock::time_point deadline,
                                               std::error_code& ec) {
  watchdog::start(watchdog_, deadline);
  auto buffer = asio::buffer(buf, size);
  asio::error_code rec;
  std::size_t n = 0;
  if (tls_)
    std::tie(rec, n) = co_await tls_stream_->async_read_some(buffer, use_tuple);
  else
    std::tie(rec, n) = co_await socket_.async_read_some(buffer, use_tuple);
  const bool expired = watchdog_->finish();
  if (rec && n == 0) {
    ec = expired || rec == asio::error::timed_out ? errc::timeout : errc::closed;
    co_return 0;
  }
  if (tls_) tls_read_any_ = true;
  ec.clear();
  co_return n;
}

asio::awaitable<void> stream::write(std::string_view bytes, clock::time_point deadline, std::error_code& ec) {
  watchdog::start(watchdog_, deadline);
  auto buffer = asio::buffer(bytes.data(), bytes.size());
  asio::error_code wec;
  std::size_t n = 0;
  if (tls_)
    std::tie(wec, n) = co_await asio::async_write(*tls_stream_, buffer, use_tuple);
  else
    std::tie(wec, n) = co_await asio::async_write(socket_, buffer, use_tuple);
  const bool expired = watchdog_->finish();
  if (wec)
    ec = expired ? make_error_code(errc::timeout) : make_error_code(classify_io(wec));
  else
    ec.clear();
}

asio::awaitable<bool> speaks_tls(std::string host, std::uint16_t port, clock::time_point deadline,
                                 std::optional<proxy> via) {
  std::string error;
  auto ctx = tls::make_client_context(*tls::profile("legacy"), {"", true}, error);
  if (!ctx) co_return false;
  stream probe(co_await asio::this_coro::executor);
  // GCC 12 miscompiles `if (co_await …) co_return …;`: await first, then test.
  const auto ec = co_await probe.connect(host, port, deadline, std::move(via));
  if (ec) co_return false;
  auto failure = co_await probe.start_tls(ctx.get(), host, true, deadline);
  if (!failure) co_return true;
  // An alert or a ServerHello is TLS talking, even when the handshake then fails.
  co_return failure->server_hello_seen || failure->alert_received >= 0;
}

namespace {
asio::awaitable<void> sleep_until(clock::time_point t) {
  asio::steady_timer timer(co_await asio::this_coro::executor, t);
  co_await timer.async_wait(asio::use_awaitable);
}
}  // namespace

asio::awaitable<bool> tls_port_check(std::string host, std::uint16_t port, clock::time_point start_at,
                                     clock::time_point deadline, std::optional<proxy> via) {
  co_await sleep_until(start_at);
  const bool tls = co_await speaks_tls(host, port, deadline, std::move(via));
  if (tls) co_return true;
  co_await sleep_until(deadline + std::chrono::seconds(1));
  co_return false;
}

std::optional<tls_failure> stream::tls_failure_after_handshake() {
  if (!tls_) return std::nullopt;
  auto f = tls::classify_after_handshake(tls_stream_->native_handle(), !tls_read_any_);
  if (!f) return std::nullopt;
  return tls_failure{f->code, f->summary, f->detail, f->alert_received, true, false};
}

void* stream::native_ssl() noexcept { return tls_ ? tls_stream_->native_handle() : nullptr; }

std::string stream::peer_address() const {
  asio::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? std::string{} : ep.address().to_string();
}

void stream::close() noexcept {
  asio::error_code ignored;
  try {
    watchdog_->timer.cancel();
  } catch (const std::exception&) {  // cancel() throws only when the reactor fails: nothing to undo
  }
  watchdog_->wake = clock::time_point::max();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace postern::net
