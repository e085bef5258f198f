#include "probe/connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <stdexcept>

#include "postern/smtp/commands.hpp"
#include "postern/smtp/error.hpp"
#include "tls/openssl_context.hpp"

namespace postern::probe {

using net::clock;
namespace w = wire;

asio::awaitable<void> limiter::acquire() {
  if (free_ > 0) {
    --free_;
    co_return;
  }
  auto t = std::make_shared<asio::steady_timer>(ex_, clock::time_point::max());
  waiters_.push_back(t);
  // release() hands its slot over by cancelling this wait.
  co_await t->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

void limiter::release() {
  if (waiters_.empty()) {
    ++free_;
    return;
  }
  auto t = std::move(waiters_.front());
  waiters_.pop_front();
  t->cancel();
}

namespace {

// Holds one limiter slot for the lifetime of a connection.
class slot {
 public:
  explicit slot(limiter& l) : l_(l) {}
  ~slot() { l_.release(); }
  slot(const slot&) = delete;
  slot& operator=(const slot&) = delete;

 private:
  limiter& l_;
};

// Reads one reply at a time, keeping bytes that belong to the next one.
class reply_reader {
 public:
  explicit reply_reader(net::stream& s) : stream_(s) {}

  asio::awaitable<std::optional<smtp::reply>> next(clock::time_point deadline, std::string& code,
                                                   std::string& summary) {
    for (;;) {
      if (!pending_.empty()) {
        std::error_code ec;
        const auto used = parser_.feed(pending_, ec);
        pending_.erase(0, used);
        if (ec) {
          code = smtp::cause(static_cast<smtp::errc>(ec.value()));
          summary = ec.message();
          co_return std::nullopt;
        }
        if (parser_.has_reply()) co_return parser_.take();
      }
      std::error_code ec;
      const auto n = co_await stream_.read_some(buf_.data(), buf_.size(), deadline, ec);
      if (ec) {
        if (auto f = stream_.tls_failure_after_handshake()) {
          code = f->code;
          summary = f->summary;
          co_return std::nullopt;
        }
        code = net::cause(static_cast<net::errc>(ec.value()));
        summary = net::make_error_code(static_cast<net::errc>(ec.value())).message();
        co_return std::nullopt;
      }
      pending_.append(buf_.data(), n);
    }
  }

 private:
  net::stream& stream_;
  smtp::reply_parser parser_;
  std::string pending_;
  std::array<char, 4096> buf_{};
};

asio::awaitable<bool> send_line(net::stream& s, const std::string& line, clock::time_point deadline,
                                smtp_view& v) {
  std::error_code ec;
  co_await s.write(line, deadline, ec);
  if (ec) {
    if (auto f = s.tls_failure_after_handshake()) {
      v.code = f->code;
      v.summary = f->summary;
      co_return false;
    }
    v.code = net::cause(static_cast<net::errc>(ec.value()));
    v.summary = net::make_error_code(static_cast<net::errc>(ec.value())).message();
    co_return false;
  }
  co_return true;
}

// EHLO, and the capabilities it returned (v.caps), or v.code.
asio::awaitable<void> ehlo(net::stream& s, reply_reader& reader, const endpoint& ep, smtp_view& v) {
  std::error_code ec;
  const auto line = smtp::ehlo(ep.ehlo, ec);
  if (ec) {
    v.code = "usage";
    v.summary = "bad EHLO name";
    co_return;
  }
  const bool sent = co_await send_line(s, line, clock::now() + ep.timeout, v);
  if (!sent) co_return;
  auto r = co_await reader.next(clock::now() + ep.timeout, v.code, v.summary);
  if (!r) co_return;
  if (r->code / 100 != 2) {
    v.code = r->transient() ? "smtp.transient" : "smtp.rejected";
    v.summary = "the server answered EHLO with " + r->one_line();
    co_return;
  }
  v.caps = smtp::capabilities::parse(*r);
}

// Greeting and EHLO, then STARTTLS when asked.
asio::awaitable<smtp_view> preamble(net::stream& s, reply_reader& reader, const endpoint& ep, bool starttls) {
  smtp_view v;
  auto g = co_await reader.next(clock::now() + ep.timeout, v.code, v.summary);
  if (!g) {
    if (v.code == "net.timeout") v.code = "net.greeting-timeout";
    co_return v;
  }
  v.greeting = g;
  if (g->code != 220) {
    v.code = g->transient() ? "smtp.transient" : "smtp.rejected";
    v.summary = "the server's greeting was " + g->one_line();
    co_return v;
  }
  co_await ehlo(s, reader, ep, v);
  if (!v.code.empty() || !starttls) co_return v;
  if (!v.caps->starttls) {
    v.code = "smtp.starttls-missing";
    v.summary = "the server did not offer STARTTLS";
    co_return v;
  }
  const bool sent = co_await send_line(s, smtp::starttls(), clock::now() + ep.timeout, v);
  if (!sent) co_return v;
  auto r = co_await reader.next(clock::now() + ep.timeout, v.code, v.summary);
  if (!r) co_return v;
  if (r->code != 220) {
    v.code = r->transient() ? "smtp.transient" : "smtp.rejected";
    v.summary = "the server answered STARTTLS with " + r->one_line();
  }
  co_return v;
}

hello_outcome failed(std::string detail) {
  hello_outcome o;
  o.result = hello_outcome::kind::failed;
  o.detail = std::move(detail);
  return o;
}

}  // namespace

namespace {

asio::awaitable<hello_outcome> hello_on_fresh_connection(endpoint ep, w::hello_params hello, limiter& jobs,
                                                         int& rt) {
  std::string record;
  try {
    record = w::build_client_hello(hello);
  } catch (const std::invalid_argument& e) {
    co_return failed(std::string("cannot encode the ClientHello: ") + e.what());
  }
  co_await jobs.acquire();
  slot held(jobs);
  net::stream s(co_await asio::this_coro::executor);
  if (ep.connections) ++*ep.connections;
  const auto connect_ec = co_await s.connect(ep.host, ep.port, clock::now() + ep.timeout, ep.proxy);
  ++rt;
  if (connect_ec)
    co_return failed(std::string(net::cause(static_cast<net::errc>(connect_ec.value()))) + ": " +
                     s.error_text(connect_ec));
  if (ep.starttls) {
    reply_reader reader(s);
    auto v = co_await preamble(s, reader, ep, true);
    rt += 3;  // greeting, EHLO, STARTTLS
    if (!v.code.empty()) co_return failed(v.code + ": " + v.summary);
  }
  ++rt;  // the hello
  std::error_code ec;
  const auto deadline = clock::now() + ep.timeout;
  co_await s.write(record, deadline, ec);
  if (ec) co_return failed(net::cause(static_cast<net::errc>(ec.value())));
  w::server_reader reader;
  std::vector<w::server_event> events;
  std::array<char, 16384> buf{};
  while (!reader.done()) {
    const auto n = co_await s.read_some(buf.data(), buf.size(), deadline, ec);
    if (ec) {
      if (static_cast<net::errc>(ec.value()) == net::errc::timeout) {
        while (auto e = reader.next()) events.push_back(std::move(*e));
        auto out = outcome_from_events(events);
        // A ServerHello already read is the answer; silence before it is a failure.
        if (out.hello) co_return out;
        co_return failed("net.timeout: no TLS answer to the ClientHello in time");
      }
      reader.finish();
      break;
    }
    reader.feed(std::string_view(buf.data(), n));
    while (auto e = reader.next()) events.push_back(std::move(*e));
  }
  while (auto e = reader.next()) events.push_back(std::move(*e));
  co_return outcome_from_events(events);
}

}  // namespace

asio::awaitable<hello_outcome> send_hello(endpoint ep, w::hello_params hello, limiter& jobs) {
  int rt = 0;
  auto out = co_await hello_on_fresh_connection(std::move(ep), std::move(hello), jobs, rt);
  out.round_trips = rt;
  co_return out;
}

asio::awaitable<smtp_view> plain_session(endpoint ep, limiter& jobs) {
  co_await jobs.acquire();
  slot held(jobs);
  net::stream s(co_await asio::this_coro::executor);
  if (ep.connections) ++*ep.connections;
  const auto connect_ec = co_await s.connect(ep.host, ep.port, clock::now() + ep.timeout, ep.proxy);
  if (connect_ec) {
    smtp_view v;
    v.code = net::cause(static_cast<net::errc>(connect_ec.value()));
    v.summary = s.error_text(connect_ec);
    co_return v;
  }
  reply_reader reader(s);
  auto v = co_await preamble(s, reader, ep, false);
  v.round_trips = 3;
  if (v.code.empty()) {
    smtp_view ignored;
    (void)co_await send_line(s, smtp::quit(), clock::now() + ep.timeout, ignored);
  }
  co_return v;
}

asio::awaitable<handshake_outcome> real_handshake(endpoint ep, SSL_CTX* ctx, bool insecure, bool smtp_after,
                                                  limiter& jobs) {
  handshake_outcome out;
  co_await jobs.acquire();
  slot held(jobs);
  net::stream s(co_await asio::this_coro::executor);
  if (ep.connections) ++*ep.connections;
  out.round_trips = 1;
  const auto connect_ec = co_await s.connect(ep.host, ep.port, clock::now() + ep.timeout, ep.proxy);
  if (connect_ec) {
    out.code = net::cause(static_cast<net::errc>(connect_ec.value()));
    out.summary = s.error_text(connect_ec);
    co_return out;
  }
  reply_reader reader(s);
  if (ep.starttls) {
    auto v = co_await preamble(s, reader, ep, true);
    out.round_trips += 3;
    if (!v.code.empty()) {
      out.code = v.code;
      out.summary = v.summary;
      co_return out;
    }
  }
  auto failure = co_await s.start_tls(ctx, ep.tls_name, insecure, clock::now() + ep.timeout);
  out.round_trips += 1;
  if (failure) {
    out.code = failure->code;
    out.summary = failure->summary;
    co_return out;
  }
  out.ok = true;
  auto* ssl = static_cast<SSL*>(s.native_ssl());
  const auto info = tls::describe_handshake(ssl);
  out.version = info.version;
  out.cipher = info.cipher;
  out.group = info.group;
  if (out.version != "TLSv1.3") ++out.round_trips;  // TLS 1.2: a second flight
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      unsigned char* der = nullptr;
      const int len = i2d_X509(sk_X509_value(chain, i), &der);
      if (len > 0) out.chain_der.emplace_back(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
      OPENSSL_free(der);
    }
  }
  // A TLS 1.3 server that asked for a client certificate judges it after the handshake.
  const bool asked = tls::certificate_requested(ssl);
  if (!smtp_after && !asked) co_return out;
  smtp_view v;
  auto refused = [&] {
    if (v.code != "tls.client-cert-required") return false;
    out.ok = false;
    out.code = v.code;
    out.summary = v.summary;
    return true;
  };
  if (!ep.starttls) {
    ++out.round_trips;
    auto g = co_await reader.next(clock::now() + ep.timeout, v.code, v.summary);
    if (!g) {
      refused();
      co_return out;
    }
    out.greeting = g;
    if (g->code != 220) co_return out;
  }
  co_await ehlo(s, reader, ep, v);
  ++out.round_trips;
  if (refused()) co_return out;
  if (v.caps) out.caps_after_tls = v.caps;
  if (v.code.empty()) (void)co_await send_line(s, smtp::quit(), clock::now() + ep.timeout, v);
  co_return out;
}

}  // namespace postern::probe
