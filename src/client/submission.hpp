#pragma once
// The secure-first flow of one submission, shared by submit() (src/client/submit.cpp) and the
// bulk pool (src/client/bulk.cpp): remembered route, automatic routing, downgrade check,
// diagnosis on failure, recording what worked. Internal: not installed.
#include <sysexits.h>

#include <algorithm>
#include <asio/this_coro.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "postern/client/submit.hpp"
#include "postern/diagnose/async.hpp"
#include "postern/dkim/sign.hpp"
#include "postern/plan/async.hpp"
#include "postern/plan/host_memory.hpp"
#include "postern/send/async.hpp"
#include "postern/tls/policy.hpp"

namespace postern::client::detail {

inline plan::route_facts facts_of(const std::string& host, std::uint16_t port, net::mode m,
                                  const send::tls_report& t) {
  plan::route_facts f;
  f.host = host;
  f.port = port;
  f.mode = net::to_string(m);
  f.profile = t.profile;
  f.tls_version = t.version;
  f.cipher = t.cipher;
  f.kx = t.kx;
  f.group = t.group;
  f.issuer = t.peer_issuer;
  f.key_sha256 = t.peer_key_sha256;
  return f;
}

inline std::string describe_known(const plan::route_facts& k) {
  return std::to_string(k.port) + "/" + k.mode + ", profile " + k.profile + ", " + k.tls_version + " " +
         k.cipher + (k.issuer.empty() ? "" : ", issuer " + k.issuer);
}

// The failures that mean "this route does not work", as opposed to "the server refused the mail".
inline bool connection_level(const send::report& r) {
  if (!r.error) return false;
  const auto& c = r.error->code;
  return c.rfind("tls.", 0) == 0 || c.rfind("mode.", 0) == 0 || c.rfind("net.", 0) == 0 ||
         c == "smtp.starttls-missing" || c == "smtp.starttls-required" || c == "smtp.bad-reply" ||
         c == "smtp.reply-too-long";
}

// Findings worth a follow-up investigation after a failed send: the connection-level ones.
inline bool worth_diagnosing(const std::string& code) {
  return code.rfind("tls.", 0) == 0 || code.rfind("mode.", 0) == 0 || code == "net.greeting-timeout" ||
         code == "smtp.starttls-missing" || code == "smtp.starttls-required";
}

inline net::mode conventional_mode(std::uint16_t port) {
  return port == 465 ? net::mode::implicit_tls : net::mode::starttls;
}

inline void validate(const request& q) {
  if (q.host.empty()) throw std::invalid_argument("no server host given");
  for (const auto& p : q.route.allow)
    if (p != "compat" && p != "legacy")
      throw std::invalid_argument("allow takes compat or legacy, not '" + p + "'");
  if (!tls::profile(q.route.profile)) throw std::invalid_argument("unknown TLS profile " + q.route.profile);
}

inline bool cancelled(asio::cancellation_state s) { return s.cancelled() != asio::cancellation_type::none; }

// One submission; the state the steps share.
class submission {
 public:
  /** Carries messages over one connection with the route in the options: by default the
      request's messages (send::async_send); the bulk pool passes its own. */
  using sender = std::function<asio::awaitable<send::report>(const send::options&)>;

  explicit submission(request q, sender s = {}) : q_(std::move(q)), sender_(std::move(s)) {}

  /** The options of the route in use (after run(): the route that carried the messages); their
      check_tls (the downgrade check) refers to this object, which must outlive its copies. */
  const send::options& route_options() const { return o_; }

  /** Fills @p o's credentials for one connection (the provider is asked each time). */
  std::optional<send::failure> prepare_auth(send::options& o) const {
    if (!q_.auth) return std::nullopt;
    std::string secret = q_.auth->secret;
    const bool external = q_.auth->mechanism && send::is_external(*q_.auth->mechanism);
    if (q_.auth->secret_provider && !external) {
      try {
        secret =
            q_.auth->secret_provider({o.host, o.port ? o.port : net::default_port(o.mode), q_.auth->user});
      } catch (const std::exception& e) {
        return send::failure{"smtp.auth-failed", std::string("no credentials: ") + e.what(), ""};
      }
    }
    o.auth = send::auth_options{q_.auth->user, std::move(secret), q_.auth->mechanism};
    return std::nullopt;
  }

  asio::awaitable<report> run() {
    try {
      co_await flow();
    } catch (const std::system_error& e) {
      if (e.code() != asio::error::operation_aborted) throw;
      cancel_report();
    }
    // A cancellation that came after everything was delivered changes nothing.
    const auto state = co_await asio::this_coro::cancellation_state;
    if (cancelled(state) && !out_.delivery.ok) cancel_report();
    co_return std::move(out_);
  }

 private:
  asio::awaitable<void> flow() {
    const auto& rp = q_.route;
    const bool auto_route = rp.automatic;
    o_.host = q_.host;
    o_.port = q_.port;
    o_.mode = rp.mode;
    o_.tls_profile = auto_route ? "strict" : rp.profile;
    o_.ca_file = q_.tls.ca_file;
    o_.tls_name = q_.tls.tls_name;
    o_.insecure = q_.tls.insecure;
    o_.proxy = q_.proxy;
    o_.client_cert = q_.tls.client_cert;
    o_.client_key = q_.tls.client_key;
    o_.ehlo_domain = q_.ehlo_domain;
    if (q_.timeout) o_.timeouts = send::timeouts::all(*q_.timeout);
    o_.allow_plaintext_auth = q_.auth && q_.auth->allow_plaintext;
    o_.on_transcript = q_.on_transcript;
    o_.chunking = q_.chunking;
    out_.route.automatic = auto_route;

    // Before any connection: a client certificate that does not load, EXTERNAL without one.
    send::options check = o_;
    if (q_.auth) check.auth = send::auth_options{q_.auth->user, "", q_.auth->mechanism};
    if (auto p = send::check_options(check)) {
      out_.delivery.host = q_.host;
      out_.delivery.error = p->what;
      out_.delivery.exit_code = p->exit_code;
      co_return;
    }
    // DKIM before any connection: a key or a message that cannot be signed means nothing is sent.
    if (q_.dkim) {
      const bool signed_all = sign_messages();
      if (!signed_all) co_return;
    }
    open_memory();
    if (out_.delivery.error) co_return;
    // What each service (port, mode) of this host did before; the decisions are plan's.
    known_ = memory_ ? memory_->services(o_.host) : std::vector<plan::route_facts>{};
    const auto& known = known_;
    o_.check_tls = [this](const send::tls_report& t) -> std::optional<send::failure> {
      auto v = plan::check_route(
          known_, facts_of(o_.host, o_.port ? o_.port : net::default_port(o_.mode), o_.mode, t),
          failed_first_);
      memory_warning_ = v.warned() ? std::optional(v) : std::nullopt;
      if (!v.refused() || q_.memory.accept_downgrade) return std::nullopt;
      return send::failure{"plan.downgrade", v.summary, "remembered: " + describe_known(*v.remembered)};
    };

    send::report& r = out_.delivery;
    if (!auto_route) {
      out_.route.reason = "given on the command line";
      co_await deliver();
    } else {
      bool done = false;
      // 1. The remembered route, first and alone: one connection, no probing.
      // Only where the user would route anyway (the given port, or one of the ports listed):
      // the host's strongest remembered service there, with a profile the user allows.
      if (const auto first = plan::remembered_route(known, q_.port, rp.ports, rp.allow)) {
        o_.port = first->port;
        o_.mode = first->mode == "tls" ? net::mode::implicit_tls : net::mode::starttls;
        o_.tls_profile = first->profile;
        out_.route.from_memory = true;
        out_.route.reason = "the route remembered for " + o_.host + " (" + describe_known(*first) + ")";
        co_await deliver();
        done = r.ok || !connection_level(r) || r.error->code == "plan.downgrade";
        if (!done && r.error->code == "smtp.starttls-missing") {
          // Where STARTTLS was offered before, its absence is what a stripping attacker causes.
          if (auto v = plan::check_starttls_missing(known, o_.host, o_.port); v.refused()) {
            r.error =
                send::failure{"plan.downgrade", v.summary, "remembered: " + describe_known(*v.remembered)};
            r.exit_code = EX_NOPERM;
            done = true;
          }
        }
        if (!done) {
          failed_first_ = first;  // a weaker fallback is then a downgrade
          note({"plan.remembered-route-failed",
                diagnose::severity::info,
                "the remembered route failed [" + r.error->code + "]; looking for another",
                {},
                {}});
        }
      }
      // 2. Secure-first routing.
      if (!done) co_await route_and_deliver();
    }
    if (!diagnosed_ && !r.ok && r.error && worth_diagnosing(r.error->code)) {
      diagnose::target t = probe_target();
      t.port = r.port;
      t.mode = r.mode;
      // send looks at other ports only when asked (ports); doctor looks by default.
      t.other_ports = rp.ports;
      auto d = co_await diagnose::async_run(t);
      // The diagnosis names the precise cause of what send saw as a generic failure.
      if (!d.findings.empty() && d.findings.front().code != r.error->code) {
        r.error->detail =
            r.error->code + ": " + r.error->summary + (r.error->detail.empty() ? "" : "; " + r.error->detail);
        r.error->code = d.findings.front().code;
        r.error->summary = d.findings.front().summary;
        r.exit_code = diagnose::exit_code_for_cause(r.error->code);
      }
      take_diagnosis(std::move(d));
    }
    // Remember what worked (a weaker route only when the user accepted it).
    if (r.ok && r.tls && memory_) {
      try {
        memory_->record(facts_of(o_.host, r.port, r.mode, *r.tls), q_.memory.accept_downgrade);
      } catch (const std::exception& e) {
        note({"plan.memory-unavailable",
              diagnose::severity::warning,
              std::string("could not update the host memory: ") + e.what(),
              {},
              {}});
      }
    }
    // DSN asked for and not offered: the mail went, without notifications; say so.
    for (const auto& m : r.messages)
      if (m.dsn_ignored) {
        note({"smtp.dsn-unsupported",
              diagnose::severity::warning,
              "the server does not offer DSN: the message went without delivery status notification "
              "requests (--require-dsn refuses instead)",
              {},
              {}});
        break;
      }
    // A route weaker than one known on another port of the host: allowed, never silent.
    if (r.tls && memory_warning_) note(memory_warning_->finding());
    out_.route.port = r.port;
    out_.route.mode = r.mode;
    out_.route.profile = r.tls ? r.tls->profile : o_.tls_profile;
  }

  asio::awaitable<void> route_and_deliver() {
    send::report& r = out_.delivery;
    plan::route_request q;
    q.base = probe_target();
    q.base.port = q_.port;
    if (!q_.route.ports.empty()) q.base.other_ports = q_.route.ports;
    q.allow = q_.route.allow;
    auto c = co_await plan::async_choose_route(q);
    out_.route.tried = c.tried;
    out_.route.from_memory = false;
    out_.route.reason = c.reason;
    if (c.ok) {
      o_.port = c.port;
      o_.mode = c.mode;
      o_.tls_profile = c.profile;
      co_await deliver();
      co_return;
    }
    // Nothing qualifies: say why, with the doctor's findings and remedies.
    diagnose::target t = q.base;
    t.port = q_.port ? q_.port : (q.base.other_ports.empty() ? 587 : q.base.other_ports.front());
    t.mode = conventional_mode(t.port);
    // Explain the route that got furthest: one whose TLS handshake itself failed.
    for (const auto& tr : c.tried)
      if (tr.code.rfind("tls.", 0) == 0) {
        t.port = tr.port;
        t.mode = tr.mode == "tls" ? net::mode::implicit_tls : net::mode::starttls;
        break;
      }
    auto d = co_await diagnose::async_run(t);
    r = send::report{};
    r.host = o_.host;
    r.port = t.port;
    r.mode = t.mode;
    const auto* main = d.findings.empty() ? nullptr : &d.findings.front();
    r.error = send::failure{main ? main->code : "net.closed", main ? main->summary : "no route qualifies",
                            c.reason};
    r.exit_code = d.exit_code() ? d.exit_code() : EX_UNAVAILABLE;
    take_diagnosis(std::move(d));
  }

  // One connection with the route in o_; the secret is asked for per connection.
  asio::awaitable<void> deliver() {
    send::report& r = out_.delivery;
    if (auto f = prepare_auth(o_)) {
      r = send::report{};
      r.host = o_.host;
      r.port = o_.port ? o_.port : net::default_port(o_.mode);
      r.mode = o_.mode;
      r.error = std::move(*f);
      r.exit_code = EX_NOPERM;
      co_return;
    }
    if (sender_)
      r = co_await sender_(o_);
    else
      r = co_await send::async_send(o_, q_.messages);
  }

  // Signs q_.messages in place, once, so every route tried sends the same signed bytes. The key is
  // read once for all of them.
  bool sign_messages() {
    auto s = dkim::signer::load(*q_.dkim);
    for (const auto& w : s.warnings) note({w.code, diagnose::severity::warning, w.summary, {}, {}});
    auto fail = [this](const dkim::problem& p) {
      out_.delivery.host = q_.host;
      out_.delivery.error = send::failure{p.code, p.summary, ""};
      out_.delivery.exit_code = p.exit_code;
      return false;
    };
    if (!s.value) return fail(*s.error);
    for (auto& m : q_.messages) {
      dkim::result r = s.value->sign(m.content);
      if (!r.ok()) return fail(*r.error);
      m.content = std::move(r.message);
    }
    return true;
  }

  diagnose::target probe_target() const {
    diagnose::target t;
    t.host = o_.host;
    t.ca_file = o_.ca_file;
    t.proxy = o_.proxy;
    t.client_cert = o_.client_cert;
    t.client_key = o_.client_key;
    t.tls_name = o_.tls_name;
    t.ehlo_domain = o_.ehlo_domain;
    if (q_.timeout) t.timeout = *q_.timeout;
    return t;
  }

  void open_memory() {
    if (!q_.memory.enabled) return;
    const bool given = !q_.memory.path.empty();
    try {
      memory_ =
          std::make_unique<plan::host_memory>(given ? q_.memory.path : plan::host_memory::default_path());
    } catch (const std::exception& e) {
      if (given) {
        out_.delivery.host = q_.host;
        out_.delivery.error = send::failure{"config", e.what(), ""};
        out_.delivery.exit_code = EX_CANTCREAT;
        return;
      }
      note({"plan.memory-unavailable",
            diagnose::severity::warning,
            std::string("no host memory, downgrades cannot be detected: ") + e.what(),
            {},
            {}});
    }
  }

  void take_diagnosis(diagnose::diagnosis d) {
    diagnosed_ = true;
    out_.diagnosed_target = d.target;
    // The diagnosis first (its main cause leads), then the notes gathered so far.
    out_.findings.insert(out_.findings.begin(), d.findings.begin(), d.findings.end());
  }

  void note(diagnose::finding f) {
    if (q_.on_finding) q_.on_finding(f);
    out_.findings.push_back(std::move(f));
  }

  void cancel_report() {
    send::report& r = out_.delivery;
    r.ok = false;
    for (auto& m : r.messages)
      if (!m.delivered && !m.error) m.error = send::failure{"net.cancelled", "cancelled", ""};
    r.error = send::failure{"net.cancelled", "the submission was cancelled by the application", ""};
    r.exit_code = EX_TEMPFAIL;
  }

  request q_;
  sender sender_;
  send::options o_;
  std::vector<plan::route_facts> known_;  // what each service of the host did before
  std::unique_ptr<plan::host_memory> memory_;
  std::optional<plan::route_facts> failed_first_;  // the remembered route, tried first, when it failed
  std::optional<plan::memory_verdict> memory_warning_;
  bool diagnosed_ = false;
  report out_;
};

}  // namespace postern::client::detail
