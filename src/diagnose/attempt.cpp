#include "diagnose/attempt.hpp"

#include <openssl/ssl.h>

#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "postern/smtp/commands.hpp"
#include "postern/smtp/error.hpp"

namespace postern::diagnose {
namespace {

using namespace asio::experimental::awaitable_operators;
using net::clock;

// Reads one reply at a time from the stream, keeping bytes that belong to the next one.
class reply_reader {
 public:
  explicit reply_reader(net::stream& s) : stream_(s) {}

  // Returns the reply, or nullopt with code/summary set in @p out.
  asio::awaitable<std::optional<smtp::reply>> next(clock::time_point deadline, attempt_result& out,
                                                   bool greeting) {
    for (;;) {
      if (!pending_.empty()) {
        std::error_code ec;
        auto used = parser_.feed(pending_, ec);
        pending_.erase(0, used);
        if (ec) {
          out.code = smtp::cause(static_cast<smtp::errc>(ec.value()));
          out.summary = ec.message();
          out.detail = smtp::escape_bytes(parser_.offending_bytes().substr(0, 200));
          co_return std::nullopt;
        }
        if (parser_.has_reply()) co_return parser_.take();
      }
      std::error_code ec;
      auto n = co_await stream_.read_some(buf_.data(), buf_.size(), deadline, ec);
      if (ec) {
        // TLS 1.3: a refused client certificate shows on the first read after the handshake.
        if (auto f = stream_.tls_failure_after_handshake()) {
          out.code = f->code;
          out.summary = f->summary;
          out.detail = f->detail;
          out.tls_failure = *f;
          co_return std::nullopt;
        }
        auto e = static_cast<net::errc>(ec.value());
        if (e == net::errc::timeout && greeting) e = net::errc::greeting_timeout;
        out.code = net::cause(e);
        out.summary = net::make_error_code(e).message();
        co_return std::nullopt;
      }
      pending_.append(buf_.data(), n);
    }
  }
  bool has_pending() const { return !pending_.empty() || parser_.mid_reply(); }

 private:
  net::stream& stream_;
  smtp::reply_parser parser_;
  std::string pending_;
  std::array<char, 8192> buf_{};
};

asio::awaitable<bool> send_line(net::stream& s, const std::string& line, clock::time_point deadline,
                                attempt_result& out) {
  std::error_code ec;
  co_await s.write(line, deadline, ec);
  if (ec) {
    if (auto f = s.tls_failure_after_handshake()) {
      out.code = f->code;
      out.summary = f->summary;
      out.detail = f->detail;
      out.tls_failure = *f;
      co_return false;
    }
    auto e = static_cast<net::errc>(ec.value());
    out.code = net::cause(e);
    out.summary = net::make_error_code(e).message();
    co_return false;
  }
  co_return true;
}

}  // namespace

asio::awaitable<attempt_result> run_attempt(attempt_spec spec) {
  attempt_result out;
  auto step = [&] { return clock::now() + spec.timeout; };
  net::stream s(co_await asio::this_coro::executor);
  // GCC 12 miscompiles co_await inside an if condition: every await is its own statement here.
  const auto connect_ec = co_await s.connect(spec.host, spec.port, step(), spec.proxy);
  if (auto ec = connect_ec) {
    auto e = static_cast<net::errc>(ec.value());
    out.code = net::cause(e);
    out.summary = s.error_text(ec);
    co_return out;
  }
  out.connected = true;

  std::string err;
  tls::ssl_ctx_ptr ctx;
  if (spec.mode != net::mode::plain) {
    ctx = tls::make_client_context(spec.policy, {spec.ca_file, !spec.verify}, err, spec.client);
    if (!ctx) {
      out.code = "tls.handshake-failed";
      out.summary = "could not build the TLS context: " + err;
      co_return out;
    }
  }
  const std::string name = spec.tls_name.empty() ? spec.host : spec.tls_name;
  auto handshake = [&]() -> asio::awaitable<bool> {
    auto f = co_await s.start_tls(ctx.get(), name, !spec.verify, step());
    if (f) {
      out.code = f->code;
      out.summary = f->summary;
      out.detail = f->detail;
      out.tls_failure = *f;
      co_return false;
    }
    out.handshake_ok = true;
    out.tls = tls::describe_handshake(static_cast<SSL*>(s.native_ssl()));
    co_return true;
  };

  if (spec.mode == net::mode::implicit_tls) {
    const bool up = co_await handshake();
    if (!up) co_return out;
    if (spec.handshake_only) co_return out;
  }

  reply_reader reader(s);
  std::optional<smtp::reply> greeting;
  const auto greeting_deadline = step();
  if (spec.mode != net::mode::implicit_tls && spec.silence_window.count() > 0) {
    // Named first: GCC 12 mishandles coroutine-call temporaries inside a co_await operand.
    auto read = reader.next(greeting_deadline, out, true);
    auto check = net::tls_port_check(spec.host, spec.port, clock::now() + spec.silence_window,
                                     greeting_deadline, spec.proxy);
    auto r = co_await (std::move(read) || std::move(check));
    if (r.index() == 1) {
      if (std::get<1>(r)) {
        out.tls_port_detected = true;
        out.code = "mode.plaintext-on-tls-port";
        out.summary =
            "the port sent nothing in plain text, and a second connection found it waiting for a TLS "
            "ClientHello: it is an implicit-TLS port";
        co_return out;
      }
      out.code = "net.greeting-timeout";
      out.summary = net::make_error_code(net::errc::greeting_timeout).message();
      co_return out;
    }
    greeting = std::get<0>(std::move(r));
  } else {
    greeting = co_await reader.next(greeting_deadline, out, true);
  }
  if (!greeting) co_return out;
  out.greeting = greeting;
  if (greeting->code != 220) {
    out.code = greeting->transient()   ? "smtp.transient"
               : greeting->permanent() ? "smtp.rejected"
                                       : "smtp.bad-reply";
    out.summary = "the server's greeting was " + greeting->one_line();
    co_return out;
  }

  std::error_code ec;
  auto ehlo = [&]() -> asio::awaitable<std::optional<smtp::capabilities>> {
    const bool sent = co_await send_line(s, smtp::ehlo(spec.ehlo_domain, ec), step(), out);
    if (!sent) co_return std::nullopt;
    auto r = co_await reader.next(step(), out, false);
    if (!r) co_return std::nullopt;
    if (r->code / 100 != 2) {
      out.code = r->transient() ? "smtp.transient" : "smtp.rejected";
      out.summary = "the server answered EHLO with " + r->one_line();
      co_return std::nullopt;
    }
    co_return smtp::capabilities::parse(*r);
  };

  auto caps = co_await ehlo();
  if (!caps) co_return out;
  if (spec.mode == net::mode::starttls) {
    out.caps_before_tls = caps;
    if (!caps->starttls) {
      out.code = "smtp.starttls-missing";
      out.summary = "the server did not offer STARTTLS in its EHLO reply";
      co_return out;
    }
    const bool sent = co_await send_line(s, smtp::starttls(), step(), out);
    if (!sent) co_return out;
    auto r = co_await reader.next(step(), out, false);
    if (!r) co_return out;
    if (r->code != 220) {
      out.code = r->transient() ? "smtp.transient" : "smtp.rejected";
      out.summary = "the server answered STARTTLS with " + r->one_line();
      co_return out;
    }
    if (reader.has_pending()) {
      out.code = "smtp.bad-reply";
      out.summary = "the server sent more after its 220 to STARTTLS (a command-injection hazard)";
      co_return out;
    }
    const bool up = co_await handshake();
    if (!up) co_return out;
    if (spec.handshake_only) co_return out;
    caps = co_await ehlo();
    if (!caps) co_return out;
    out.caps_after_tls = caps;
  } else if (spec.mode == net::mode::implicit_tls) {
    out.caps_after_tls = caps;
  } else {
    out.caps_before_tls = caps;
  }

  if (spec.check_mail) {
    const bool sent = co_await send_line(s, "MAIL FROM:<>\r\n", step(), out);
    if (!sent) co_return out;
    auto r = co_await reader.next(step(), out, false);
    if (!r) co_return out;
    out.mail_reply = r;
    if (r->code == 530 && !s.tls_active()) {
      out.code = "smtp.starttls-required";
      out.summary = "the server refuses mail before STARTTLS: " + r->one_line();
      co_return out;
    }
    if (r->code / 100 == 2) {
      (void)co_await send_line(s, smtp::rset(), step(), out);
      (void)co_await reader.next(step(), out, false);
    }
  }
  const bool quit_sent = co_await send_line(s, smtp::quit(), step(), out);
  if (quit_sent) (void)co_await reader.next(step(), out, false);
  // QUIT's reply is a courtesy: a server that just closes is still healthy.
  if (out.code.rfind("net.", 0) == 0) out.code.clear(), out.summary.clear();
  co_return out;
}

}  // namespace postern::diagnose
