// postern relay's listeners: one Asio coroutine per connection drives a server_session; the
// store callback runs on its own thread so that a slow disk never stalls the other clients.
#include <openssl/ssl.h>
#include <unistd.h>

#include <array>
#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <memory>
#include <set>
#include <variant>

#include "postern/relay/relay.hpp"
#include "tls/openssl_context.hpp"

namespace postern::relay {

std::string listener::text() const {
  return address.find(':') != std::string::npos ? "[" + address + "]:" + std::to_string(port)
                                                : address + ":" + std::to_string(port);
}

bool listener::loopback() const {
  asio::error_code ec;
  auto a = asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

std::optional<listener> parse_listener(const std::string& text, bool implicit_tls) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  asio::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  if (ec || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  unsigned long p = std::stoul(port);
  if (p == 0 || p > 65535) return std::nullopt;
  return listener{a.to_string(), static_cast<std::uint16_t>(p), implicit_tls};
}

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// One client connection: the socket, TLS once started, and the timer that bounds every wait
// (cancelled early when the relay shuts down).
struct connection {
  explicit connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  std::optional<asio::ssl::stream<tcp::socket&>> tls;
  asio::steady_timer timer;
  bool shutdown_requested = false;
  bool shutdown_delivered = false;
};

std::string host_name() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf.data();
}

std::string peer_of(const tcp::socket& s) {
  asio::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "unknown";
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

class server {
 public:
  explicit server(const options& o) : o_(o), store_thread_(1) {
    hostname_ = o_.hostname.empty() ? host_name() : o_.hostname;
    check();
  }

  void run() {
    for (const auto& l : o_.listeners) listen(l);
    asio::signal_set signals(io_, SIGTERM, SIGINT);
    signals.async_wait([this](const asio::error_code& ec, int sig) {
      if (!ec) stop(sig);
    });
    if (o_.on_ready) o_.on_ready();
    io_.run();
    store_thread_.join();
  }

 private:
  void log(const std::string& line) const {
    if (o_.log) o_.log(line);
  }

  void check() {
    if (o_.listeners.empty()) throw relay_error("relay.listen-failed", "no address to listen on (--listen)");
    if (!o_.store) throw relay_error("relay.listen-failed", "no queue to store messages in");
    bool have_cert = !o_.tls_cert.empty() || !o_.tls_key.empty();
    if (have_cert) {
      if (o_.tls_cert.empty() || o_.tls_key.empty())
        throw relay_error("relay.tls-config", "--tls-cert and --tls-key go together");
      std::string error;
      auto ctx = tls::make_server_context(o_.tls_cert, o_.tls_key, error);
      if (!ctx) throw relay_error("relay.tls-config", error);
      tls_.emplace(ctx.release());  // asio::ssl::context owns it from here
    }
    for (const auto& l : o_.listeners) {
      if (l.implicit_tls && !tls_)
        throw relay_error("relay.tls-config",
                          "the implicit-TLS listener " + l.text() + " needs --tls-cert and --tls-key");
      if (!l.loopback() && (!tls_ || !o_.users))
        throw relay_error(
            "relay.insecure-listen",
            "refusing to listen on " + l.text() +
                ": a relay reachable from other machines needs TLS (--tls-cert/--tls-key) and AUTH "
                "(--users); without them anyone could send mail through it");
    }
  }

  void listen(const listener& l) {
    asio::error_code ec;
    auto a = asio::ip::make_address(l.address, ec);
    tcp::endpoint ep(a, l.port);
    auto acc = std::make_unique<tcp::acceptor>(io_);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && a.is_v6()) acc->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw relay_error("relay.listen-failed", "cannot listen on " + l.text() + ": " + ec.message());
    log("listening on " + l.text() +
        (l.implicit_tls ? " (implicit TLS)"
         : tls_         ? " (STARTTLS)"
                        : " (plain)"));
    asio::co_spawn(io_, accept_loop(*acc, l), asio::detached);
    acceptors_.push_back(std::move(acc));
  }

  void stop(int sig) {
    log(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
        ": no new connections; finishing the transactions in progress");
    stopping_ = true;
    for (auto& a : acceptors_) {
      asio::error_code ec;
      a->close(ec);
    }
    for (auto* c : connections_) {
      c->shutdown_requested = true;
      c->timer.cancel();
    }
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acc, listener l) {
    while (!stopping_) {
      auto [ec, sock] = co_await acc.async_accept(use_tuple);
      if (ec) {
        if (stopping_ || ec == asio::error::operation_aborted) co_return;
        // Out of file descriptors and the like: wait a little instead of spinning.
        asio::steady_timer pause(io_, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      asio::co_spawn(io_, serve(std::move(sock), l), asio::detached);
    }
  }

  asio::awaitable<bool> write(connection& c, std::string_view bytes, steady::time_point deadline) {
    c.timer.expires_at(deadline);
    std::variant<std::tuple<asio::error_code, std::size_t>, std::tuple<asio::error_code>> r;
    if (c.tls)
      r = co_await (asio::async_write(*c.tls, asio::buffer(bytes), use_tuple) ||
                    c.timer.async_wait(use_tuple));
    else
      r = co_await (asio::async_write(c.socket, asio::buffer(bytes), use_tuple) ||
                    c.timer.async_wait(use_tuple));
    co_return r.index() == 0 && !std::get<0>(std::get<0>(r));
  }

  asio::awaitable<void> serve(tcp::socket sock, listener l) {
    auto c = std::make_unique<connection>(std::move(sock));
    std::string peer = peer_of(c->socket);
    if (stopping_) co_return;
    if (connections_.size() >= o_.max_connections) {
      log("refused a connection from " + peer + " on " + l.text() + ": " +
          std::to_string(connections_.size()) + " connections already (--max-connections)");
      if (!l.implicit_tls)
        co_await write(*c, "421 4.7.0 " + hostname_ + " Error: too many connections, try again later\r\n",
                       steady::now() + std::chrono::seconds(5));
      co_return;
    }
    connections_.insert(c.get());
    struct unregister {
      std::set<connection*>& s;
      connection* c;
      ~unregister() { s.erase(c); }
    } guard{connections_, c.get()};

    const auto session_end = steady::now() + o_.session_timeout;
    auto deadline = [&] { return std::min(steady::now() + o_.idle_timeout, session_end); };

    if (l.implicit_tls) {
      c->tls.emplace(c->socket, *tls_);
      c->timer.expires_at(deadline());
      auto r = co_await (c->tls->async_handshake(asio::ssl::stream_base::server, use_tuple) ||
                         c->timer.async_wait(use_tuple));
      if (r.index() != 0 || std::get<0>(std::get<0>(r))) {
        log("TLS handshake with " + peer + " on " + l.text() + " failed");
        co_return;
      }
    }

    server_config cfg;
    cfg.hostname = hostname_;
    cfg.peer_address = peer;
    cfg.max_message_size = o_.max_message_size;
    cfg.max_recipients = o_.max_recipients;
    cfg.max_errors = o_.max_errors;
    cfg.tls_active = l.implicit_tls;
    cfg.starttls_available = tls_.has_value();
    cfg.auth_available = o_.users.has_value();
    cfg.auth_required = o_.users.has_value();
    // Plain AUTH only where the password cannot leave the machine.
    cfg.allow_auth_without_tls = l.loopback();
    const users_file* users = o_.users ? &*o_.users : nullptr;
    server_session s(
        cfg, [users](const std::string& u, const std::string& p) { return users && users->check(u, p); });
    peer_info who{peer, l.text()};
    std::array<char, 16 * 1024> buf;

    for (;;) {
      if (c->shutdown_requested && !c->shutdown_delivered) {
        c->shutdown_delivered = true;
        s.shut_down();
      }
      auto a = s.next();
      switch (a.kind) {
        case action_kind::write:
          if (!co_await write(*c, a.bytes, deadline())) co_return;
          s.written();
          break;
        case action_kind::read: {
          c->timer.expires_at(deadline());
          std::variant<std::tuple<asio::error_code, std::size_t>, std::tuple<asio::error_code>> r;
          if (c->tls)
            r = co_await (c->tls->async_read_some(asio::buffer(buf), use_tuple) ||
                          c->timer.async_wait(use_tuple));
          else
            r = co_await (c->socket.async_read_some(asio::buffer(buf), use_tuple) ||
                          c->timer.async_wait(use_tuple));
          if (r.index() == 1) {
            if (c->shutdown_requested) continue;  // delivered at the top of the loop
            log("closing the connection from " + peer + ": timeout");
            s.timed_out();
            continue;
          }
          auto [ec, n] = std::get<0>(r);
          if (ec || n == 0) {
            if (s.in_transaction())
              log("the connection from " + peer + " was lost during a transaction: nothing queued");
            co_return;
          }
          s.received(std::string_view(buf.data(), n));
          break;
        }
        case action_kind::start_tls: {
          c->tls.emplace(c->socket, *tls_);
          c->timer.expires_at(deadline());
          auto r = co_await (c->tls->async_handshake(asio::ssl::stream_base::server, use_tuple) ||
                             c->timer.async_wait(use_tuple));
          if (r.index() != 0 || std::get<0>(std::get<0>(r))) {
            log("STARTTLS handshake with " + peer + " failed");
            co_return;
          }
          s.tls_started();
          break;
        }
        case action_kind::store: {
          auto id = co_await store(s.message(), who);
          if (id)
            log("queued " + *id + " from " + peer + " (" + std::to_string(s.message().rcpt_to.size()) +
                " recipient(s), " + std::to_string(s.message().content.size()) + " octets)");
          s.stored(id);
          break;
        }
        case action_kind::close:
          co_await close(*c, buf);
          co_return;
      }
    }
  }

  // Ends a connection so that the last reply arrives: close_notify over TLS; then FIN, and a short
  // drain of what the client still sends, since closing with unread input would send a reset that
  // can destroy the reply in flight (a hostile client that keeps sending). Bounded in time and bytes.
  asio::awaitable<void> close(connection& c, std::array<char, 16 * 1024>& buf) {
    auto until = steady::now() + std::chrono::seconds(2);
    if (c.tls) {
      c.timer.expires_at(until);
      co_await (c.tls->async_shutdown(use_tuple) || c.timer.async_wait(use_tuple));
    }
    asio::error_code ec;
    c.socket.shutdown(tcp::socket::shutdown_send, ec);
    for (std::size_t drained = 0; !ec && drained < 1024 * 1024;) {
      c.timer.expires_at(until);
      auto r =
          co_await (c.socket.async_read_some(asio::buffer(buf), use_tuple) || c.timer.async_wait(use_tuple));
      if (r.index() == 1) break;
      auto [rec, n] = std::get<0>(r);
      ec = rec;
      drained += n;
    }
    c.socket.close(ec);
  }

  // The store callback on its own thread; the connection's coroutine waits without blocking the
  // listeners. The timer is only a wake-up signal: cancel() from the io thread resumes the wait.
  asio::awaitable<std::optional<std::string>> store(const received_message& m, const peer_info& who) {
    asio::steady_timer done(io_, steady::time_point::max());
    std::optional<std::string> id;
    std::string error;
    asio::post(store_thread_, [&] {
      try {
        id = o_.store(m, who);
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(io_, [&] { done.cancel(); });
    });
    co_await done.async_wait(use_tuple);
    if (!error.empty()) log("could not queue a message from " + who.address + ": " + error);
    co_return id;
  }

  const options& o_;
  std::string hostname_;
  asio::io_context io_{1};
  asio::thread_pool store_thread_;
  std::optional<asio::ssl::context> tls_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::set<connection*> connections_;
  bool stopping_ = false;
};

}  // namespace

void run(const options& o) {
  server s(o);
  s.run();
}

}  // namespace postern::relay
