#include "postern/send/send.hpp"

#include <openssl/ssl.h>
#include <sysexits.h>
#include <unistd.h>

#include <array>
#include <map>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>

#include "postern/auth/sasl_client.hpp"
#include "postern/net/blocking.hpp"
#include "postern/net/stream.hpp"
#include "postern/send/async.hpp"
#include "postern/send/idna.hpp"
#include "postern/smtp/data.hpp"
#include "postern/smtp/error.hpp"
#include "postern/tls/client_identity.hpp"
#include "postern/tls/policy.hpp"
#include "send/outcome.hpp"
#include "tls/openssl_context.hpp"

namespace postern::send {
namespace {

using net::clock;
using namespace asio::experimental::awaitable_operators;

std::string default_ehlo_domain() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) == 0) {
    std::string n(name.data());
    // A bare host name is not a domain (RFC 5321 §4.1.1.1); servers may refuse it.
    if (n.find('.') != std::string::npos) return n;
  }
  return "localhost";
}

// Picks the SASL mechanism once the session knows what the server offers.
class deferred_mechanism final : public smtp::sasl_mechanism {
 public:
  explicit deferred_mechanism(const auth_options& a) : options_(a) {}
  void bind(const smtp::session* s) { session_ = s; }
  std::string name() const override {
    resolve();
    return chosen_name_;
  }
  std::optional<std::string> initial_response(std::error_code& ec) override {
    resolve();
    if (!impl_) {
      ec = smtp::errc::auth_mech_unsupported;
      return std::nullopt;
    }
    return impl_->initial_response(ec);
  }
  std::string step(std::string_view challenge, std::error_code& ec) override {
    resolve();
    if (!impl_) {
      ec = smtp::errc::auth_mech_unsupported;
      return {};
    }
    return impl_->step(challenge, ec);
  }

 private:
  void resolve() const {
    if (resolved_) return;
    resolved_ = true;
    const auto& offered = session_->result().caps.auth;
    auto pick = auth::choose(
        offered, options_.mechanism ? std::optional<std::string_view>(*options_.mechanism) : std::nullopt);
    chosen_name_ = pick ? *pick : (offered.empty() ? std::string("PLAIN") : offered.front());
    if (!pick) return;
    std::error_code ec;
    impl_ = auth::make_mechanism(*pick, {options_.user, options_.secret}, ec);
  }
  const auth_options& options_;
  const smtp::session* session_ = nullptr;
  mutable bool resolved_ = false;
  mutable std::string chosen_name_;
  mutable std::unique_ptr<smtp::sasl_mechanism> impl_;
};

std::chrono::milliseconds timeout_for(const timeouts& t, smtp::wait_kind w) {
  switch (w) {
    case smtp::wait_kind::greeting:
      return t.greeting;
    case smtp::wait_kind::command:
      return t.command;
    case smtp::wait_kind::data_initiation:
      return t.data_initiation;
    case smtp::wait_kind::data_termination:
      return t.data_termination;
  }
  return t.command;
}

// What a connection's SSL_CTX needs to store the sessions its server gives (TLS 1.3 tickets
// arrive after the handshake, on a later read: hence a callback, not a look after the handshake).
struct resumption_binding {
  tls_session_cache::state* cache = nullptr;
  std::string key;
};

int binding_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

struct tls_session_cache::state {
  std::map<std::string, SSL_SESSION*> sessions;  // one reference each
  std::size_t received = 0;
  state() = default;
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state() {
    for (auto& [key, s] : sessions) SSL_SESSION_free(s);
  }
  void store(const std::string& key, SSL_SESSION* s) {
    auto& slot = sessions[key];
    if (slot) SSL_SESSION_free(slot);
    slot = s;
    ++received;
  }
  SSL_SESSION* find(const std::string& key) const {
    auto it = sessions.find(key);
    return it == sessions.end() ? nullptr : it->second;
  }
};

tls_session_cache::tls_session_cache() : state_(std::make_unique<state>()) {}
tls_session_cache::~tls_session_cache() = default;
std::size_t tls_session_cache::received() const noexcept { return state_->received; }

namespace {

// SSL_CTX_sess_set_new_cb: returning 1 keeps the reference OpenSSL hands over.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* b = static_cast<resumption_binding*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), binding_index()));
  if (!b || !b->cache || SSL_SESSION_is_resumable(session) != 1) return 0;
  b->cache->store(b->key, session);
  return 1;
}

class driver {
 public:
  driver(const options& o, message_source& src, report& r) : o_(o), src_(src), r_(r) {}

  asio::awaitable<void> run() {
    auto first = co_await src_.next();
    if (!first) co_return;
    co_await connect_and_send(std::move(*first));
  }

 private:
  asio::awaitable<void> connect_and_send(message first) {
    // Whatever ends the connection before the first message was attempted, its source hears of it.
    struct unattempted_guard {
      driver& d;
      bool armed = true;
      ~unattempted_guard() {
        if (!armed) return;
        message_report mr;
        mr.error = d.r_.error ? *d.r_.error : failure{"net.closed", "the connection ended first", ""};
        d.src_.done(mr);
      }
    } guard{*this};
    auto ex = co_await asio::this_coro::executor;
    net::stream s(ex);
    const std::uint16_t port = r_.port;
    // GCC 12 miscompiles co_await inside an if condition: await first, then test.
    const auto connect_ec = co_await s.connect(o_.host, port, clock::now() + o_.timeouts.connect, o_.proxy);
    if (auto ec = connect_ec) {
      fail_net(static_cast<net::errc>(ec.value()),
               "could not connect to " + o_.host + ":" + std::to_string(port), s.error_text(ec));
      co_return;
    }
    r_.address = s.peer_address();
    if (o_.proxy)
      info("connected to " + o_.host + " port " + std::to_string(port) + " through the " +
           o_.proxy->describe() + " (" + r_.address + ")");
    else
      info("connected to " + r_.address + " port " + std::to_string(port));

    tls::ssl_ctx_ptr ctx;
    if (o_.mode != mode::plain) {
      const tls::policy* p = tls::profile(o_.tls_profile);
      if (!p) {
        fail_with({"usage", "unknown TLS profile '" + o_.tls_profile + "'", ""}, 64);
        co_return;
      }
      std::string err;
      ctx = tls::make_client_context(*p, {o_.ca_file, o_.insecure}, err, {o_.client_cert, o_.client_key});
      if (!ctx) {
        fail_with({"tls.handshake-failed", "could not build the TLS context: " + err, err}, 77);
        co_return;
      }
    }
    const std::string tls_name = o_.tls_name.empty() ? o_.host : o_.tls_name;
    if (ctx && o_.tls_sessions && binding_index() >= 0) {
      // Everything that makes a session valid for this route is in the key.
      binding_.cache = &o_.tls_sessions->internal();
      binding_.key = o_.host + "|" + std::to_string(port) + "|" + tls_name + "|" + o_.tls_profile + "|" +
                     (o_.insecure ? "insecure" : o_.ca_file) + "|" + o_.client_cert;
      SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_sess_set_new_cb(ctx.get(), on_new_session);
      SSL_CTX_set_ex_data(ctx.get(), binding_index(), &binding_);
    }
    if (o_.mode == mode::implicit_tls) {
      const bool up = co_await handshake(s, ctx.get(), tls_name);
      if (!up) co_return;
    }

    std::optional<deferred_mechanism> mech;
    if (o_.auth) mech.emplace(*o_.auth);
    smtp::session_config cfg;
    cfg.ehlo_domain = o_.ehlo_domain.empty() ? default_ehlo_domain() : o_.ehlo_domain;
    cfg.starttls = o_.mode == mode::starttls;
    cfg.tls_active = o_.mode == mode::implicit_tls;
    cfg.auth = mech ? &*mech : nullptr;
    cfg.allow_auth_without_tls = o_.allow_plaintext_auth;
    cfg.use_chunking = o_.chunking;
    cfg.domain_to_ascii = [](std::string_view d) { return domain_to_ascii(d); };

    cfg.quit_when_done = src_.last();
    smtp::session ss(cfg, first.envelope, smtp::encode_data(first.content));
    if (mech) mech->bind(&ss);
    guard.armed = false;
    for (;;) {
      message_report mr;
      mr.size = ss.facts().wire_size;
      co_await drive(s, ss, ctx.get(), tls_name);
      collect(ss, mr);
      if (!mr.delivered && !mr.error && r_.error) {
        // The connection failed under it (a TLS refusal is reported once, on the connection).
        message_report told = mr;
        told.error = r_.error;
        src_.done(told);
      } else {
        src_.done(mr);
      }
      if (!o_.keep_message_reports) r_.messages.clear();
      r_.messages.push_back(std::move(mr));
      if (ss.has_pipelined() || held_) {
        // Taken while the previous reply was due: its turn now, or never on this connection.
        if (!ss.can_continue()) {
          not_sent();
          break;
        }
        if (ss.has_pipelined()) {
          ss.next_pipelined();
        } else {
          ss.next_message(held_->envelope, smtp::encode_data(held_->content));
          held_.reset();
        }
        continue;
      }
      if (!ss.can_continue()) break;  // the connection is gone: later messages are not taken
      if (source_done_) break;
      auto next = co_await src_.next();
      if (!next) break;
      ss.next_message(next->envelope, smtp::encode_data(next->content));
    }
    if (ss.can_continue()) {
      ss.finish();
      co_await drive(s, ss, ctx.get(), tls_name);
      collect_transcript(ss);
    }
    s.close();
  }

  asio::awaitable<bool> handshake(net::stream& s, SSL_CTX* ctx, const std::string& name) {
    SSL_SESSION* resume = binding_.cache ? binding_.cache->find(binding_.key) : nullptr;
    auto f = co_await s.start_tls(ctx, name, o_.insecure, clock::now() + o_.timeouts.command, resume);
    if (f) {
      info("TLS handshake failed: " + f->detail);
      fail_with({f->code, f->summary, f->detail}, f->code == "net.timeout" ? 75 : 77);
      co_return false;
    }
    auto h = tls::describe_handshake(static_cast<SSL*>(s.native_ssl()));
    r_.tls = tls_report{o_.tls_profile, h.version,        h.cipher,         h.kx, h.group, h.peer_subject,
                        h.peer_issuer,  h.peer_not_after, h.peer_key_sha256};
    r_.tls->resumed = SSL_session_reused(static_cast<SSL*>(s.native_ssl())) == 1;
    info("TLS " + h.version + " " + h.cipher + (h.group.empty() ? "" : " " + h.group) + ", profile " +
         o_.tls_profile + (r_.tls->resumed ? ", session resumed" : ""));
    if (o_.check_tls) {
      if (auto refused = o_.check_tls(*r_.tls)) {
        info("refused after the handshake: " + refused->summary);
        fail_with(*refused, 77);
        co_return false;
      }
    }
    co_return true;
  }

  // Runs one session to its end; returns whether the connection is still usable.
  asio::awaitable<bool> drive(net::stream& s, smtp::session& ss, SSL_CTX* ctx, const std::string& tls_name) {
    std::array<char, 16384> buf;
    bool new_step = true;
    clock::time_point deadline{};
    for (;;) {
      auto a = ss.next();
      switch (a.kind) {
        case smtp::action_kind::write: {
          std::error_code ec;
          const bool content = ss.current_state() == smtp::state::content;
          auto wait = content ? smtp::wait_kind::data_termination : smtp::wait_kind::command;
          if (ss.write_ends_content()) {
            if (!src_.committing()) {
              info("the message was withdrawn before its final dot: the connection is closed without it");
              withdrawn_ = true;
              ss.connection_lost();
              co_return false;
            }
            // The next message's commands go in the same write as this one's end (RFC 2920).
            co_await take_pipelined(ss);
            a = ss.next();
          }
          co_await s.write(a.bytes, clock::now() + timeout_for(o_.timeouts, wait), ec);
          if (ec) {
            if (tls_refused(s)) {
              ss.connection_lost();
              co_return false;
            }
            ss.connection_lost();
            transport_error_ = static_cast<net::errc>(ec.value());
            co_return false;
          }
          ss.written();
          collect_transcript(ss);
          new_step = true;
          co_await take_pipelined(ss);
          break;
        }
        case smtp::action_kind::read: {
          if (new_step) deadline = clock::now() + timeout_for(o_.timeouts, a.wait);
          new_step = false;
          std::error_code ec;
          std::size_t n = 0;
          if (a.wait == smtp::wait_kind::greeting && !s.tls_active() && o_.silence_window.count() > 0) {
            // Both sides would wait for each other on an implicit-TLS port: find out instead.
            // Named first: GCC 12 mishandles coroutine-call temporaries inside a co_await operand.
            auto read = s.read_some(buf.data(), buf.size(), deadline, ec);
            auto check =
                net::tls_port_check(o_.host, r_.port, clock::now() + o_.silence_window, deadline, o_.proxy);
            auto r = co_await (std::move(read) || std::move(check));
            if (r.index() == 1 && std::get<1>(r)) {
              fail_with(
                  {"mode.plaintext-on-tls-port",
                   "port " + std::to_string(r_.port) +
                       " expects implicit TLS: it sent no greeting, and a second connection that sent a "
                       "TLS ClientHello got a TLS answer; use --tls",
                   ""},
                  77);
              tls_failed_ = true;  // reported here, not by the session
              co_return false;
            }
            if (r.index() == 0)
              n = std::get<0>(r);
            else
              ec = net::errc::timeout;
          } else {
            n = co_await s.read_some(buf.data(), buf.size(), deadline, ec);
          }
          if (ec && tls_refused(s)) {
            ss.connection_lost();
            co_return false;
          }
          if (ec) {
            auto e = static_cast<net::errc>(ec.value());
            if (e == net::errc::timeout && a.wait == smtp::wait_kind::greeting)
              e = net::errc::greeting_timeout;
            transport_error_ = e;
            ss.connection_lost();
            co_return false;
          }
          auto before = ss.current_state();
          ss.received(std::string_view(buf.data(), n));
          collect_transcript(ss);
          if (ss.current_state() != before) new_step = true;
          break;
        }
        case smtp::action_kind::start_tls: {
          const bool up = co_await handshake(s, ctx, tls_name);
          if (!up) {
            tls_failed_ = true;
            co_return false;
          }
          ss.tls_started();
          new_step = true;
          break;
        }
        case smtp::action_kind::finished:
          co_return true;
        case smtp::action_kind::failed:
          co_return false;
      }
    }
  }

  // RFC 2920: the next message's commands follow the final dot without waiting for its reply.
  asio::awaitable<void> take_pipelined(smtp::session& ss) {
    if (!ss.can_pipeline_next() || source_done_ || held_) co_return;
    auto next = co_await src_.next();
    if (!next) {
      source_done_ = true;
    } else if (!ss.pipeline_next(next->envelope, smtp::encode_data(next->content))) {
      held_ = std::move(next);  // sent the usual way once it is its turn
    }
  }

  // A TLS 1.3 server checks the client certificate after the handshake: its refusal ends the
  // first read or write. Reported here (tls.client-cert-required), not as net.closed.
  bool tls_refused(net::stream& s) {
    auto f = s.tls_failure_after_handshake();
    if (!f) return false;
    info("TLS refused after the handshake: " + f->detail);
    fail_with({f->code, f->summary, f->detail}, 77);
    tls_failed_ = true;
    return true;
  }

  // Copied out and dropped from the session, so a long connection's session stays small.
  void collect_transcript(smtp::session& ss) {
    for (auto& e : ss.transcript()) record(e);
    ss.clear_transcript();
  }
  void record(const smtp::transcript_event& e) {
    if (o_.on_transcript) o_.on_transcript(e);
    if (o_.keep_transcript) r_.transcript.push_back(e);
  }

  void collect(smtp::session& ss, message_report& mr) {
    collect_transcript(ss);
    const auto& res = ss.result();
    if (res.auth_mechanism) r_.auth_mechanism = res.auth_mechanism;
    for (const auto& rr : res.recipients)
      mr.recipients.push_back({rr.address, rr.accepted, rr.response.to_string()});
    if (res.final_reply) mr.reply = res.final_reply->to_string();
    mr.delivered = res.delivered;
    mr.chunking = res.used_chunking;
    mr.smtputf8 = res.used_smtputf8;
    mr.dsn = res.used_dsn;
    mr.dsn_ignored = res.dsn_ignored;
    if (tls_failed_) return;  // already reported by handshake()
    if (withdrawn_) {
      mr.error = failure{"net.cancelled", "withdrawn by the application before the final dot; not sent", ""};
      fail_with(*mr.error, 75);
      return;
    }
    auto f = describe_outcome(ss, transport_error_, o_.timeouts);
    if (!f) return;
    mr.error = f->what;
    if (!r_.error) fail_with(f->what, f->exit_code);
  }

  // The message taken behind the current one never went (the connection ended first): its source
  // hears so, with a cause that lets it go to another connection; it gets no entry.
  void not_sent() {
    message_report mr;
    mr.error = failure{"net.closed", "not sent: the connection ended before its turn",
                       r_.error ? r_.error->summary : ""};
    src_.done(mr);
    held_.reset();
  }

  void fail_net(net::errc e, const std::string& context, const std::string& why) {
    fail_with({net::cause(e), context + ": " + why, ""}, exit_code_for(e));
  }
  void fail_with(failure f, int exit_code) {
    if (r_.error) return;
    r_.error = std::move(f);
    r_.exit_code = exit_code;
  }
  void info(std::string text) { record({smtp::transcript_event::who::info, std::move(text)}); }

  const options& o_;
  message_source& src_;
  report& r_;
  std::optional<net::errc> transport_error_;
  bool withdrawn_ = false;  // message_source::committing() said no: the connection ends here
  bool tls_failed_ = false;
  resumption_binding binding_;  // outlives the connection's SSL_CTX (a member, not a local)
  bool source_done_ = false;      // the source said nullopt: ask no more
  std::optional<message> held_;   // taken behind the current message, not pipelined
};

}  // namespace

bool is_external(std::string_view mechanism) noexcept {
  constexpr std::string_view name = "EXTERNAL";
  if (mechanism.size() != name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c =
        mechanism[i] >= 'a' && mechanism[i] <= 'z' ? static_cast<char>(mechanism[i] - 32) : mechanism[i];
    if (c != name[i]) return false;
  }
  return true;
}

std::optional<option_problem> check_options(const options& opts) {
  const bool external = opts.auth && opts.auth->mechanism && is_external(*opts.auth->mechanism);
  if (!opts.client_key.empty() && opts.client_cert.empty())
    return option_problem{
        {"usage", "a client key (" + opts.client_key + ") needs its certificate: --client-cert", ""},
        EX_USAGE};
  if (external && opts.client_cert.empty())
    return option_problem{{"usage",
                           "SASL EXTERNAL authenticates with the TLS client certificate: give one with "
                           "--client-cert (and --client-key)",
                           ""},
                          EX_USAGE};
  if (auto p = tls::check_client_identity({opts.client_cert, opts.client_key})) {
    const bool unreadable = p->kind == tls::identity_error::unreadable;
    return option_problem{{unreadable ? "input" : "config", p->summary, p->file},
                          unreadable ? EX_NOINPUT : EX_CONFIG};
  }
  return std::nullopt;
}

namespace {

// The messages of send(): all known in advance, so QUIT can be pipelined with the last one.
class vector_source final : public message_source {
 public:
  explicit vector_source(std::vector<message> m) : messages_(std::move(m)) {}
  asio::awaitable<std::optional<message>> next() override {
    if (next_ >= messages_.size()) co_return std::nullopt;
    co_return std::move(messages_[next_++]);
  }
  void done(const message_report&) override {}
  bool last() const override { return next_ == messages_.size(); }

 private:
  std::vector<message> messages_;
  std::size_t next_ = 0;
};

}  // namespace

asio::awaitable<report> async_send(options opts, std::vector<message> messages) {
  vector_source source(std::move(messages));
  co_return co_await async_send_from(std::move(opts), source);
}

asio::awaitable<report> async_send_from(options opts, message_source& source) {
  report r;
  r.host = opts.host;
  r.mode = opts.mode;
  r.port = opts.port ? opts.port : default_port(opts.mode);
  if (auto p = check_options(opts)) {
    r.error = p->what;
    r.exit_code = p->exit_code;
    co_return r;
  }
  driver d(opts, source, r);
  co_await d.run();
  r.ok = !r.error && !r.messages.empty();
  for (const auto& m : r.messages) r.ok = r.ok && m.delivered && !m.error;
  if (r.ok) r.exit_code = 0;
  co_return r;
}

report send(const options& opts, const std::vector<message>& messages) {
  return net::run_blocking(async_send(opts, messages));
}

}  // namespace postern::send
