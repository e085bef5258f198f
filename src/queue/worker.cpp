#include "postern/queue/worker.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "postern/client/bulk.hpp"
#include "postern/mime/message.hpp"
#include "postern/queue/delivery.hpp"

namespace postern::queue {
namespace {

std::string first_line(std::string s) {
  const auto end = s.find_first_of("\r\n");
  if (end != std::string::npos) s.resize(end);
  return s;
}

// The secret as `postern send` reads it: the first line of the file or of the command's output.
std::string read_secret(const secret_source& s) {
  if (!s.file.empty()) {
    std::ifstream f(s.file, std::ios::binary);
    if (!f) throw store_error("queue.secret: cannot read the password file " + s.file);
    std::stringstream b;
    b << f.rdbuf();
    return first_line(b.str());
  }
  if (!s.command.empty()) {
    FILE* p = ::popen(s.command.c_str(), "r");
    if (!p) throw store_error("queue.secret: cannot run the password command");
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (const int st = ::pclose(p); st != 0)
      throw store_error("queue.secret: the password command exited with status " + std::to_string(st >> 8));
    return first_line(out);
  }
  const std::string var = s.environment.empty() ? "POSTERN_PASSWORD" : s.environment;
  if (const char* v = std::getenv(var.c_str())) return v;
  throw store_error("queue.secret: no password: " + var + " is not set for the worker");
}

std::string default_worker_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device rd;
  return std::string(host[0] ? host : "localhost") + ":" + std::to_string(::getpid()) + ":" +
         std::to_string(rd() % 100000);
}

// "queue.secret: why" → {"queue.secret", "why"}.
std::pair<std::string, std::string> split_cause(const std::string& what) {
  const auto colon = what.find(": ");
  if (colon != std::string::npos && what.compare(0, 6, "queue.") == 0)
    return {what.substr(0, colon), what.substr(colon + 2)};
  return {"queue.store", what};
}

struct taken {
  lease l;
  entry e;
};

class round {
 public:
  round(store& q, const worker_options& o, std::string worker, clock::time_point started)
      : q_(q), o_(o), worker_(std::move(worker)), started_(started), rng_(std::random_device{}()) {}

  // Messages are due as of the round's start (what this round re-queues waits for the next one)
  // but leased for lease_for from now: one taken late in a long round keeps its whole lease,
  // since committing() refuses a final dot after it.
  std::chrono::seconds lease_from_now() const {
    return o_.lease_for + std::chrono::ceil<std::chrono::seconds>(clock::now() - started_);
  }

  run_counts run() {
    while (!o_.limit || taken_count_ < o_.limit) {
      auto first = q_.take_due(worker_, started_, lease_from_now());
      if (!first) break;
      ++taken_count_;
      deliver_group(taken{std::move(first->first), std::move(first->second)});
    }
    return counts_;
  }

 private:
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  void record(const taken& t, outcome o) {
    const auto now = clock::now();
    // Never due again in this round: a zero back-off (tests) would otherwise loop.
    if (o.next == status::queued && o.retry_at <= started_)
      o.retry_at = started_ + std::chrono::milliseconds(1);
    const bool ok = q_.finish(t.l, o, now);
    if (!ok)
      ++counts_.stale;
    else if (o.next == status::delivered)
      ++counts_.delivered;
    else if (o.next == status::queued)
      ++counts_.retried;
    else if (o.next == status::unknown)
      ++counts_.unknown;
    else
      ++counts_.failed;
    if (o_.on_outcome) o_.on_outcome(t.e, o, ok);
    if (ok && o.next == status::failed) bounce(t.e, o);
  }

  void bounce(const entry& e, const outcome& o) {
    if (!o_.bounce_to || e.message.origin == "bounce" || e.message.envelope.mail_from.empty()) return;
    const std::string to = o_.bounce_to(e);
    if (to.empty()) return;
    entry failed = e;
    failed.last_cause = o.cause;
    failed.last_reply = o.reply;
    failed.last_summary = o.summary;
    new_message b;
    b.envelope.mail_from = "";  // the null sender: a bounce is never bounced (RFC 5321 §4.5.5)
    b.envelope.rcpt_to = {to};
    b.content = bounce_message(failed, to, clock::now());
    b.account = e.message.account;
    b.delivery = e.message.delivery;
    b.origin = "bounce";
    q_.add(b, clock::now());
    ++counts_.bounces;
  }

  void fail_all(std::vector<taken>& group, const std::string& cause, const std::string& why, bool retry) {
    for (auto& t : group) {
      attempt_facts f{cause, "", why, {}};
      record(t, decide(retry ? verdict::retry : verdict::failed, f, o_.retry, t.e.created, t.e.attempts + 1,
                       clock::now(), uniform()));
    }
  }

  void deliver_group(taken first) {
    client::request base;
    try {
      base = request_for(first.e);
    } catch (const store_error& err) {
      auto [cause, why] = split_cause(err.what());
      std::vector<taken> one{std::move(first)};
      // A secret that cannot be read now may be readable later (a locked keyring); a delivery
      // JSON this postern cannot read will not get better.
      fail_all(one, cause, why, cause == "queue.secret");
      return;
    }
    if (o_.prepare) o_.prepare(base, first.e);
    const std::string account = first.e.message.account, delivery = first.e.message.delivery;

    std::map<std::string, taken> inflight;
    std::optional<taken> pending = std::move(first);
    client::bulk_options b;
    b.jobs = std::max(1u, o_.jobs);
    b.max_per_connection = std::max(1u, o_.max_per_connection);
    b.max_attempts = 1;            // the queue's back-off decides when to try again, not the pool
    b.max_failed_connections = 2;  // a server that is down: give the messages back quickly
    auto source = [&]() -> std::optional<client::bulk_item> {
      while (!pending) {
        if (o_.limit && taken_count_ >= o_.limit) return std::nullopt;
        auto more = q_.take_due_for(worker_, started_, lease_from_now(), account, delivery);
        if (!more) return std::nullopt;
        if (auto own = inflight.find(more->first.id); own != inflight.end()) {
          // Our own lease on a message still in the pool expired and we took it again: keep the
          // new lease for the delivery under way, never hand the message out a second time.
          own->second.l = std::move(more->first);
          continue;
        }
        ++taken_count_;
        pending = taken{std::move(more->first), std::move(more->second)};
      }
      taken t = std::move(*pending);
      pending.reset();
      client::bulk_item item;
      item.id = t.e.id;
      item.message.envelope = t.e.message.envelope;
      item.message.content = t.e.message.content;
      inflight.emplace(t.e.id, std::move(t));
      return item;
    };
    auto sink = [&](const client::bulk_outcome& out) {
      auto it = inflight.find(out.id);
      if (it == inflight.end()) return;
      const verdict v = classify(out);
      record(it->second, decide(v, facts_of(out), o_.retry, it->second.e.created, it->second.e.attempts + 1,
                                clock::now(), uniform()));
      inflight.erase(it);
    };
    // The durable mark before the final dot. A lease that ran out (this worker stalled, and the
    // message may be another worker's now) withdraws the message: no dot, and finish() then finds
    // the lease stale and changes nothing. A store that cannot record the mark (a lost database)
    // withdraws it too, since a dot without its mark would be sent again after the lease.
    auto on_commit = [&](const std::string& id) {
      auto it = inflight.find(id);
      if (it == inflight.end()) return false;
      try {
        return q_.committing(it->second.l, clock::now());
      } catch (const std::exception&) {
        return false;
      }
    };
    try {
      client::bulk_send(base, b, source, sink, on_commit);
    } catch (const std::invalid_argument& err) {
      std::vector<taken> left;
      for (auto& [id, t] : inflight) left.push_back(std::move(t));
      inflight.clear();
      if (pending) left.push_back(std::move(*pending));
      fail_all(left, "queue.bad-delivery", err.what(), false);
      return;
    }
    // Every message taken has an outcome from the pool; anything left (it should not happen) goes back.
    std::vector<taken> left;
    for (auto& [id, t] : inflight) left.push_back(std::move(t));
    fail_all(left, "net.closed", "the connection pool ended without an outcome for it", true);
  }

  store& q_;
  const worker_options& o_;
  std::string worker_;
  clock::time_point started_;
  std::mt19937_64 rng_;
  run_counts counts_;
  std::size_t taken_count_ = 0;
};

void add(run_counts& a, const run_counts& b) {
  a.delivered += b.delivered;
  a.retried += b.retried;
  a.failed += b.failed;
  a.unknown += b.unknown;
  a.stale += b.stale;
  a.bounces += b.bounces;
}

std::string rfc5322_date(clock::time_point t) { return mime::format_date(t); }

// The header block of a message (up to the first empty line), at most 64 KiB of it.
std::string header_of(const std::string& content) {
  auto end = content.find("\r\n\r\n");
  std::string h = content.substr(0, end == std::string::npos ? content.size() : end + 2);
  if (h.size() > 65536) h.resize(65536);
  return h;
}

}  // namespace

client::request request_for(const entry& e) {
  auto parsed = request_from_delivery_json(e.message.delivery);
  if (!parsed.value)
    throw store_error("queue.bad-delivery: the stored delivery does not parse: " + parsed.error);
  client::request q = std::move(parsed.value->request);
  if (q.auth && !send::is_external(q.auth->mechanism.value_or("")) && q.auth->secret.empty())
    q.auth->secret = read_secret(parsed.value->secret);
  return q;
}

run_counts run_once(store& q, const worker_options& o) {
  const std::string name = o.worker.empty() ? default_worker_name() : o.worker;
  run_counts total = round(q, o, name, clock::now()).run();
  // Bounces queued by this round are due now: deliver them too (they never bounce themselves).
  for (std::size_t bounces = total.bounces; bounces > 0 && (!o.limit || total.total() < o.limit);) {
    worker_options rest = o;
    if (o.limit) rest.limit = o.limit - total.total();
    const run_counts more = round(q, rest, name, clock::now()).run();
    add(total, more);
    bounces = more.bounces;
    if (more.total() == 0) break;
  }
  return total;
}

std::string bounce_message(const entry& e, const std::string& to, clock::time_point now) {
  std::string recipients;
  for (const auto& r : e.message.envelope.rcpt_to) recipients += "    " + r + "\r\n";
  std::string reply = e.last_reply;
  for (std::size_t at = 0; (at = reply.find('\n', at)) != std::string::npos; at += 5)
    reply.replace(at, 1, "\r\n    ");
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@postern.invalid>\r\n";
  m += "To: " + to + "\r\n";
  m += "Subject: Undelivered Mail Returned to Sender\r\n";
  m += "Date: " + rfc5322_date(now) + "\r\n";
  m += "Message-ID: " + mime::generate_message_id("MAILER-DAEMON@postern.invalid") + "\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "X-Postern-Queue-Id: " + e.id + "\r\n";
  m += "\r\n";
  m += "postern could not deliver your message (queue id " + e.id + ").\r\n\r\n";
  m += "  Recipients:\r\n" + recipients;
  m += "  Sender: " + e.message.envelope.mail_from + "\r\n";
  m += "  Attempts: " + std::to_string(e.attempts + 1) + "\r\n";
  m += "  Queued: " + rfc5322_date(e.created) + "\r\n";
  m += "  Cause: " + e.last_cause + " (see postern's docs/causes.md)\r\n";
  m += "  Why: " + e.last_summary + "\r\n";
  if (!reply.empty()) m += "  Server reply: " + reply + "\r\n";
  m += "\r\n  `postern queue show " + e.id + "` shows it; `postern queue retry " + e.id +
       "` sends it again.\r\n";
  m += "\r\n--- The header of your message ---\r\n\r\n";
  m += header_of(e.message.content);
  return m;
}

void watcher::wake() {
  {
    std::lock_guard lock(m_);
    woken_ = true;
  }
  cv_.notify_all();
}

void watcher::stop() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  cv_.notify_all();
}

run_counts watcher::run(store& q, const worker_options& o, std::chrono::milliseconds poll) {
  worker_options named = o;
  if (named.worker.empty()) named.worker = default_worker_name();
  run_counts total;
  for (;;) {
    {
      std::lock_guard lock(m_);
      if (stopping_) return total;
      woken_ = false;
    }
    add(total, run_once(q, named));
    const auto due = q.next_due();
    std::unique_lock lock(m_);
    if (stopping_) return total;
    if (woken_) continue;
    auto until = std::chrono::steady_clock::now() + poll;
    if (due) {
      const auto wait = *due - clock::now();
      if (wait < std::chrono::duration_cast<clock::duration>(poll))
        until = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::max(wait, clock::duration::zero()));
    }
    cv_.wait_until(lock, until, [&] { return woken_ || stopping_; });
  }
}

}  // namespace postern::queue
