// The bulk pool behind postern::client::bulk_send(): the first connection decides the route with
// the whole secure-first flow (client/submission.hpp); the others reuse it, each handshake
// checked against the host memory. Messages are pulled from the caller's source one at a time,
// so memory stays flat however long the manifest is.
#include "postern/client/bulk.hpp"

#include <sysexits.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cctype>
#include <deque>
#include <exception>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "client/submission.hpp"
#include "postern/net/blocking.hpp"
#include "postern/send/async.hpp"

namespace postern::client {
namespace {

using steady = std::chrono::steady_clock;

// A message taken from the source, kept until its outcome is final (it may go to another
// connection when its own fails before the final dot).
struct pending {
  bulk_item item;
  unsigned attempts = 0;
  steady::time_point taken;
};

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::uint16_t port_of(const send::options& o) { return o.port ? o.port : net::default_port(o.mode); }

// Failures of the connection, not of the message: the message goes to another connection.
bool connection_failure(const std::string& code) {
  return starts_with(code, "net.") || starts_with(code, "tls.") || starts_with(code, "mode.") ||
         starts_with(code, "plan.") || code == "smtp.bad-reply" || code == "smtp.reply-too-long" ||
         starts_with(code, "smtp.starttls") || code == "smtp.auth-failed";
}

int reply_code(const std::string& reply) {
  if (reply.size() < 3) return 0;
  int c = 0;
  for (int i = 0; i < 3; ++i) {
    if (reply[i] < '0' || reply[i] > '9') return 0;
    c = c * 10 + (reply[i] - '0');
  }
  return c;
}

// 421, or a 4xx that says the server has too many connections: fewer connections, not a retry storm.
bool says_too_many(const std::string& reply) {
  if (reply_code(reply) == 421) return true;
  std::string lower(reply);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return reply_code(reply) / 100 == 4 &&
         (lower.find("too many") != std::string::npos || lower.find("try again later") != std::string::npos);
}

class pool {
 public:
  pool(const request& base, const bulk_options& o, const bulk_source& next, const bulk_sink& sink,
       const bulk_commit_hook& hook)
      : base_(base), o_(o), next_(next), sink_(sink), hook_(hook) {
    target_jobs_ = std::max(1u, o_.jobs);
  }

  asio::awaitable<bulk_summary> run() {
    auto ex = co_await asio::this_coro::executor;
    event_.emplace(ex);
    // The timer belongs to the io_context that run_blocking() destroys before this pool: it goes
    // when run() ends, however it ends.
    struct drop_timer {
      std::optional<asio::steady_timer>& timer;
      ~drop_timer() { timer.reset(); }
    } drop{event_};
    if (base_.dkim && !load_signer()) {
      drain_failed();  // the key does not load: nothing is sent, every message fails with its cause
      summary_.exit_code = exit_code();
      co_return std::move(summary_);
    }
    // The first connection: the whole flow; the others start once its route carried a message.
    ++running_;
    ++workers_;  // the first connection's slot counts as a worker
    asio::co_spawn(ex, first_flow(), [this](std::exception_ptr e) {
      --workers_;
      ended(e);
    });
    while (running_ > 0 || (!stopping_ && has_work())) {
      if (route_ && !stopping_) {
        // (Re)fill the pool: every slot below the target without a worker gets one.
        while (workers_ < target_jobs_ && has_work()) {
          ++workers_;
          ++running_;
          asio::co_spawn(ex, worker(), [this](std::exception_ptr e) {
            --workers_;
            ended(e);
          });
        }
      }
      if (running_ == 0) {
        if (!route_ || stopping_) break;
        continue;
      }
      co_await wait_event();
    }
    if (failure_) std::rethrow_exception(failure_);
    // Whatever is left (the route never worked, or the pool gave up) fails with the last cause.
    drain_failed();
    summary_.exit_code = exit_code();
    co_return std::move(summary_);
  }

 private:
  // DKIM: the key is read once per run; each message is signed when it is taken from the source.
  bool load_signer() {
    auto s = dkim::signer::load(*base_.dkim);
    for (const auto& w : s.warnings) {
      diagnose::finding f{w.code, diagnose::severity::warning, w.summary, {}, {}};
      if (base_.on_finding) base_.on_finding(f);
      summary_.findings.push_back(std::move(f));
    }
    if (s.value) {
      signer_ = std::move(s.value);
      return true;
    }
    last_error_ = send::failure{s.error->code, s.error->summary, ""};
    last_exit_ = s.error->exit_code;
    stopping_ = true;
    return false;
  }

  std::unique_ptr<detail::submission> make_first() {
    request q = base_;
    q.dkim.reset();  // the pool signs each message itself (load_signer)
    return std::make_unique<detail::submission>(
        std::move(q), [this](const send::options& o) -> asio::awaitable<send::report> {
          if (route_) co_return co_await one_connection(o);
          first_options_ = &o;  // the route under trial; ready after its first message
          // Its handshake is what every pool connection must match (or better).
          send::options trial = o;
          trial.tls_sessions = sessions_;  // its session is what the pool's connections resume
          trial.check_tls = [this,
                             check = o.check_tls](const send::tls_report& t) -> std::optional<send::failure> {
            if (check)
              if (auto refused = check(t)) return refused;
            first_tls_ =
                detail::facts_of(first_options_->host, port_of(*first_options_), first_options_->mode, t);
            return std::nullopt;
          };
          co_return co_await one_connection(trial);
        });
  }

  // The whole flow of submit() for the first connection. A temporary failure before any message
  // went (a 421 greeting, a timeout) is tried again after a pause, as any pool connection would be.
  asio::awaitable<void> first_flow() {
    report r;
    for (unsigned tries = 1;; ++tries) {
      first_ = make_first();
      r = co_await first_->run();
      const std::string code = r.delivery.error ? r.delivery.error->code : "";
      const bool temporary = code == "smtp.transient" || code == "net.timeout" || code == "net.closed" ||
                             code == "net.greeting-timeout";
      if (route_ || !temporary || stopping_ || tries >= o_.max_failed_connections || !has_work()) break;
      failed_in_row_ = tries;
      co_await back_off();
    }
    summary_.route = r.route;
    summary_.findings = r.findings;
    if (!route_) {
      // No route carried a message: the run ends here, every message with this cause.
      stopping_ = true;
      last_error_ = r.delivery.error.value_or(send::failure{"net.closed", "no message could be sent", ""});
      last_exit_ = r.exit_code();
    }
  }

  asio::awaitable<void> worker() {
    while (!stopping_ && has_work()) {
      send::options o = *route_;
      if (auto f = first_->prepare_auth(o)) {
        last_error_ = *f;
        last_exit_ = EX_NOPERM;
        stopping_ = true;
        co_return;
      }
      bool carried = false;
      const auto r = co_await one_connection(o, &carried);
      if (workers_ > target_jobs_) co_return;  // the server asked for fewer connections
      if (r.error && !carried) co_await back_off();
    }
  }

  // One connection: the messages it carries come from the queue, its outcomes go to the sink.
  // @p carried: set when the connection delivered at least one message.
  asio::awaitable<send::report> one_connection(const send::options& o, bool* carried = nullptr) {
    co_await pace_connection();
    const unsigned id = ++connection_ids_;
    ++open_;
    summary_.max_jobs = std::max(summary_.max_jobs, open_);
    connection_source src(*this, id);
    // The report keeps no transcript (a connection may carry 100,000 messages); the one fact the
    // pool needs from it, a 421 from the server, is noted as it goes by.
    send::options flat = o;
    bool saw_421 = false;
    flat.keep_transcript = false;
    flat.keep_message_reports = false;  // each outcome went to the sink as it came
    flat.on_transcript = [&saw_421, inner = o.on_transcript](const smtp::transcript_event& e) {
      if (e.from == smtp::transcript_event::who::server && reply_code(e.text) == 421) saw_421 = true;
      if (inner) inner(e);
    };
    auto r = co_await send::async_send_from(flat, src);
    --open_;
    if (src.took_any()) ++summary_.connections;
    if (src.took_any() && r.tls && r.tls->resumed) ++summary_.resumed;
    if (carried) *carried = src.delivered_any();
    // For the pool a connection worked when it stayed up and delivered: one refused recipient
    // among its messages does not make its route a failure (what the first connection's report
    // tells the routing: diagnose or not, remember or not).
    r.ok = !r.error && src.delivered_any();
    if (src.delivered_any()) {
      failed_in_row_ = 0;
    } else if (r.error) {
      last_error_ = *r.error;
      last_exit_ = r.exit_code;
      if (src.took_any() && ++failed_in_row_ >= o_.max_failed_connections) stopping_ = true;
    }
    // The server refuses more connections (421, "too many"): one fewer from now on. A connection
    // that delivered before its 421 met a per-connection message limit: the next one is welcome.
    const std::string last_reply = r.messages.empty() ? std::string() : r.messages.back().reply;
    if (r.error && !src.delivered_any() &&
        (says_too_many(r.error->detail) || says_too_many(r.error->summary) || says_too_many(last_reply) ||
         saw_421)) {
      if (target_jobs_ > 1) --target_jobs_;
    }
    notify();
    co_return r;
  }

  class connection_source final : public send::message_source {
   public:
    connection_source(pool& p, unsigned id) : p_(p), id_(id) {}
    asio::awaitable<std::optional<send::message>> next() override {
      if (count_ >= std::max(1u, p_.o_.max_per_connection) || p_.stopping_) co_return std::nullopt;
      // A connection beyond what the server accepts ends after its current message.
      if (count_ > 0 && p_.open_ > p_.target_jobs_) co_return std::nullopt;
      auto p = co_await p_.take();
      if (!p) co_return std::nullopt;
      ++count_;
      send::message m = p->item.message;
      out_.push_back({std::move(*p), false});
      co_return m;
    }
    void done(const send::message_report& m) override {
      if (out_.empty()) return;
      auto [current, committed, withdrawn] = std::move(out_.front());
      out_.pop_front();
      ++answered_;
      if (m.delivered && !m.error) {
        delivered_any_ = true;
        p_.failed_in_row_ = 0;  // the server takes mail: the failures so far were not "in a row"
      }
      // The route carried a message to the server's judgement: the pool may use it.
      if (!m.error || !connection_failure(m.error->code)) p_.route_ready();
      // A refused greeting or a failed connection under a connection's first message does not
      // count as an attempt of that message (the pool's bound on failed connections applies).
      const bool reached = committed || !m.recipients.empty() || answered_ > 1;
      // A withdrawn message is not retried: its owner said it must not go (committed stops that).
      p_.finish(std::move(current), m, id_, committed || withdrawn, reached);
    }
    bool committing() override {
      if (out_.empty() || out_.front().committed) return true;
      if (p_.hook_ && !p_.hook_(out_.front().p.item.id)) {
        out_.front().withdrawn = true;
        return false;
      }
      out_.front().committed = true;
      return true;
    }
    bool delivered_any() const { return delivered_any_; }
    bool took_any() const { return count_ > 0; }

   private:
    struct outstanding {
      pending p;
      bool committed = false;
      bool withdrawn = false;  // the commit hook said no: final, never sent again
    };
    pool& p_;
    unsigned id_;
    unsigned count_ = 0;
    unsigned answered_ = 0;
    std::deque<outstanding> out_;  // taken, outcome not known yet (two at most: see message_source)
    bool delivered_any_ = false;
  };

  bool has_work() {
    if (!retry_.empty()) return true;
    if (exhausted_) return false;
    if (!lookahead_) {
      lookahead_ = next_();
      if (!lookahead_) exhausted_ = true;
    }
    return lookahead_.has_value();
  }

  // The next message: retries first (already signed), then the source; spaced by --rate.
  asio::awaitable<std::optional<pending>> take() {
    std::optional<pending> p;
    while (!p) {
      if (!has_work()) co_return std::nullopt;
      if (!retry_.empty()) {
        p = std::move(retry_.front());
        retry_.pop_front();
        break;
      }
      p = pending{std::move(*lookahead_), 0, steady::now()};
      lookahead_.reset();
      if (signer_ && !sign(*p)) p.reset();
    }
    if (o_.rate > 0) co_await pace(next_send_, o_.rate);
    co_return p;
  }

  // A message that cannot be signed fails alone (dkim.bad-message), never sent unsigned.
  bool sign(pending& p) {
    dkim::result r = signer_->sign(p.item.message.content);
    if (r.ok()) {
      p.item.message.content = std::move(r.message);
      return true;
    }
    bulk_outcome out;
    out.id = std::move(p.item.id);
    out.cause = r.error->code;
    out.summary = "not sent: " + r.error->summary;
    record(out, send::failure{r.error->code, r.error->summary, ""});
    return false;
  }

  asio::awaitable<void> pace_connection() {
    if (o_.max_connect_rate > 0) co_await pace(next_connect_, o_.max_connect_rate);
  }

  // Reserves the next slot of a 1/rate grid and waits for it (one thread: no race).
  asio::awaitable<void> pace(steady::time_point& next_slot, double rate) {
    const auto now = steady::now();
    const auto slot = std::max(now, next_slot);
    next_slot =
        slot + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(1.0 / rate));
    if (slot > now) {
      asio::steady_timer t(co_await asio::this_coro::executor, slot);
      co_await t.async_wait(asio::use_awaitable);
    }
  }

  asio::awaitable<void> back_off() {
    const auto delay = std::chrono::milliseconds(std::min(10000, 100 << std::min(failed_in_row_, 7u)));
    asio::steady_timer t(co_await asio::this_coro::executor, delay);
    co_await t.async_wait(asio::use_awaitable);
  }

  void finish(pending p, const send::message_report& m, unsigned connection, bool committed, bool reached) {
    const std::string code = m.error ? m.error->code : std::string();
    const bool ok = m.delivered && !m.error;
    if (!ok) {
      // Tried again elsewhere: a temporary refusal, or a connection that failed before the final dot.
      const bool again = !committed && (code == "smtp.transient" || connection_failure(code));
      if (reached) ++p.attempts;
      if (again && !stopping_ && p.attempts < std::max(1u, o_.max_attempts)) {
        retry_.push_back(std::move(p));
        return;
      }
    } else {
      ++p.attempts;
    }
    bulk_outcome out;
    out.id = std::move(p.item.id);
    out.ok = ok;
    out.unknown = code == "smtp.outcome-unknown";
    out.reply = m.reply;
    if (out.reply.empty())
      for (const auto& rc : m.recipients)
        if (!rc.accepted) {
          out.reply = rc.reply;
          break;
        }
    if (out.reply.empty() && m.error) out.reply = m.error->detail;
    out.code = reply_code(out.reply);
    if (m.error) {
      out.cause = m.error->code;
      out.summary = m.error->summary;
    }
    out.recipients = m.recipients;
    out.attempts = std::max(1u, p.attempts);
    out.connection = connection;
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - p.taken);
    record(out, m.error ? std::optional<send::failure>(*m.error) : std::nullopt);
  }

  void record(const bulk_outcome& out, const std::optional<send::failure>& why) {
    if (out.ok)
      ++summary_.delivered;
    else if (out.unknown)
      ++summary_.unknown;
    else
      ++summary_.failed;
    if (!out.ok && !summary_.error) {
      summary_.error = why.value_or(send::failure{out.cause, out.summary, out.reply});
      first_cause_exit_ = diagnose::exit_code_for_cause(out.cause);
      if (out.cause == "smtp.rejected" && !out.recipients.empty()) first_cause_exit_ = EX_NOUSER;
    }
    if (sink_) sink_(out);
  }

  // The run is over without a route, or the pool gave up: the messages left fail with the cause.
  void drain_failed() {
    const send::failure why = last_error_.value_or(send::failure{"net.closed", "no connection", ""});
    auto fail = [&](pending p) {
      bulk_outcome out;
      out.id = std::move(p.item.id);
      out.cause = why.code;
      out.summary = "not sent: " + why.summary;
      out.attempts = p.attempts;
      record(out, why);
    };
    while (!retry_.empty()) {
      fail(std::move(retry_.front()));
      retry_.pop_front();
    }
    while (has_work()) {
      fail(pending{std::move(*lookahead_), 0, steady::now()});
      lookahead_.reset();
    }
    if (!summary_.error && last_error_ && summary_.delivered == 0 &&
        summary_.failed + summary_.unknown == 0) {
      summary_.error = last_error_;
      first_cause_exit_ = last_exit_;
    }
  }

  int exit_code() const {
    if (summary_.failed == 0 && summary_.unknown == 0 && !(summary_.delivered == 0 && summary_.error))
      return 0;
    if (summary_.failed == 0) return EX_TEMPFAIL;  // only outcome-unknown ones
    return first_cause_exit_ ? first_cause_exit_ : (last_exit_ ? last_exit_ : EX_UNAVAILABLE);
  }

  void ended(std::exception_ptr e) {
    --running_;
    if (e && !failure_) failure_ = e;
    notify();
  }

  // A one-shot event for run(): a timer that never expires, cancelled to wake the waiter.
  void notify() {
    signalled_ = true;
    if (event_) event_->cancel();
  }
  asio::awaitable<void> wait_event() {
    if (signalled_) {  // something happened while run() was not waiting
      signalled_ = false;
      co_return;
    }
    event_->expires_at(steady::time_point::max());
    std::error_code ec;
    co_await event_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    signalled_ = false;
  }

  const request& base_;
  const bulk_options& o_;
  const bulk_source& next_;
  const bulk_sink& sink_;
  const bulk_commit_hook& hook_;

  std::shared_ptr<const dkim::signer> signer_;  // when the request has dkim
  std::unique_ptr<detail::submission> first_;
  const send::options* first_options_ = nullptr;  // the first connection's route, while on trial
  std::optional<send::options> route_;            // the route every pool connection uses
  std::optional<plan::route_facts> first_tls_;    // the first connection's handshake
  // TLS sessions: the first connection's ticket lets the others resume (still downgrade-checked).
  std::shared_ptr<send::tls_session_cache> sessions_ = std::make_shared<send::tls_session_cache>();
  std::optional<asio::steady_timer> event_;
  std::exception_ptr failure_;
  bool signalled_ = false;

  std::deque<pending> retry_;
  std::optional<bulk_item> lookahead_;  // taken from the source by has_work(), not yet sent
  bool exhausted_ = false;
  bool stopping_ = false;
  unsigned connection_ids_ = 0;
  unsigned target_jobs_ = 1;
  unsigned workers_ = 0;
  unsigned running_ = 0;
  unsigned open_ = 0;
  unsigned failed_in_row_ = 0;
  steady::time_point next_send_{};
  steady::time_point next_connect_{};
  std::optional<send::failure> last_error_;
  int last_exit_ = 0;
  int first_cause_exit_ = 0;
  bulk_summary summary_;

  friend class connection_source;

 public:
  // Called by the first connection's source once its route carried a message.
  void route_ready() {
    if (route_ || !first_options_) return;
    route_ = *first_options_;
    route_->tls_sessions = sessions_;
    // Each pool connection passes the host memory's check and must not be weaker than the first
    // connection's handshake (an attacker on the path may pick off the later connections).
    route_->check_tls =
        [this, check = first_options_->check_tls](const send::tls_report& t) -> std::optional<send::failure> {
      if (check)
        if (auto refused = check(t)) return refused;
      if (!first_tls_) return std::nullopt;
      const auto now = detail::facts_of(route_->host, port_of(*route_), route_->mode, t);
      const auto v = plan::check_route({*first_tls_}, now);
      if (!v.refused() || base_.memory.accept_downgrade) return std::nullopt;
      return send::failure{"plan.downgrade", "a pool connection: " + v.summary,
                           "the run's first connection: " + detail::describe_known(*first_tls_)};
    };
    notify();
  }
};

}  // namespace

std::string to_json_line(const bulk_outcome& o) {
  using json = nlohmann::ordered_json;
  json j{{"id", o.id}, {"ok", o.ok}, {"code", o.code}, {"reply", o.reply}};
  json rcpts = json::array();
  for (const auto& r : o.recipients)
    rcpts.push_back({{"address", r.address}, {"accepted", r.accepted}, {"reply", r.reply}});
  j["recipients"] = std::move(rcpts);
  j["attempts"] = o.attempts;
  j["connection"] = o.connection;
  j["elapsed_ms"] = o.elapsed.count();
  if (!o.ok) {
    j["cause"] = o.cause;
    j["summary"] = o.summary;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bulk_summary bulk_send(const request& base, const bulk_options& options, const bulk_source& next,
                       const bulk_sink& sink, const bulk_commit_hook& on_commit) {
  detail::validate(base);
  if (!next) throw std::invalid_argument("bulk_send needs a message source");
  pool p(base, options, next, sink, on_commit);
  return net::run_blocking(p.run());
}

}  // namespace postern::client
