#include "postern/net/stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

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
  }
  return "net.closed";
}

stream::stream(asio::any_io_executor ex) : ex_(ex), socket_(ex) {}
stream::~stream() { close(); }

asio::awaitable<std::error_code> stream::connect(std::string host, std::uint16_t port,
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
                                                              clock::time_point deadline) {
  SSL_CTX_up_ref(ctx);  // asio::ssl::context takes ownership of one reference
  ssl_ctx_.emplace(ctx);
  tls_stream_.emplace(socket_, *ssl_ctx_);
  SSL* ssl = tls_stream_->native_handle();
  std::string error;
  if (!tls::prepare_connection(ssl, name, insecure, error))
    co_return tls_failure{"tls.handshake-failed", "could not set up TLS: " + error, error};

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
  asio::steady_timer timer(ex_, deadline);
  auto buffer = asio::buffer(buf, size);
  std::variant<std::tuple<asio::error_code, std::size_t>, std::tuple<asio::error_code>> r;
  if (tls_)
    r = co_await (tls_stream_->async_read_some(buffer, use_tuple) || timer.async_wait(use_tuple));
  else
    r = co_await (socket_.async_read_some(buffer, use_tuple) || timer.async_wait(use_tuple));
  if (r.index() == 1) {
    ec = errc::timeout;
    co_return 0;
  }
  auto [rec, n] = std::get<0>(r);
  if (rec && n == 0) {
    ec = rec == asio::error::timed_out ? errc::timeout : errc::closed;
    co_return 0;
  }
  if (tls_) tls_read_any_ = true;
  ec.clear();
  co_return n;
}

asio::awaitable<void> stream::write(std::string_view bytes, clock::time_point deadline, std::error_code& ec) {
  asio::steady_timer timer(ex_, deadline);
  auto buffer = asio::buffer(bytes.data(), bytes.size());
  std::variant<std::tuple<asio::error_code, std::size_t>, std::tuple<asio::error_code>> r;
  if (tls_)
    r = co_await (asio::async_write(*tls_stream_, buffer, use_tuple) || timer.async_wait(use_tuple));
  else
    r = co_await (asio::async_write(socket_, buffer, use_tuple) || timer.async_wait(use_tuple));
  if (r.index() == 1) {
    ec = errc::timeout;
    co_return;
  }
  auto [wec, n] = std::get<0>(r);
  if (wec)
    ec = classify_io(wec);
  else
    ec.clear();
}

asio::awaitable<bool> speaks_tls(std::string host, std::uint16_t port, clock::time_point deadline) {
  std::string error;
  auto ctx = tls::make_client_context(*tls::profile("legacy"), {"", true}, error);
  if (!ctx) co_return false;
  stream probe(co_await asio::this_coro::executor);
  // GCC 12 miscompiles `if (co_await …) co_return …;`: await first, then test.
  const auto ec = co_await probe.connect(host, port, deadline);
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
                                     clock::time_point deadline) {
  co_await sleep_until(start_at);
  const bool tls = co_await speaks_tls(host, port, deadline);
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
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace postern::net
