// postern queue: list, show, run, retry, drop, hold, release (docs/queue.md); and the queue side of
// `postern send --queue` and sendmail mode's `queue on-failure|always`.
#include <pthread.h>
#include <signal.h>

#include <ctime>
#include <iomanip>
#include <iostream>
#include <thread>

#include "common.hpp"
#include "postern/dkim/sign.hpp"
#include "postern/mime/addresses.hpp"
#include "postern/mime/message.hpp"
#include "postern/queue/delivery.hpp"
#include "postern/queue/schedule.hpp"
#include "postern/queue/store.hpp"
#include "postern/queue/worker.hpp"
#include "postern/smtp/data.hpp"

namespace postern::cli {
namespace {

using queue::clock;

std::string iso(clock::time_point t) {
  const std::time_t s = clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::unique_ptr<queue::store> open_queue(const std::string& location) {
  const std::string where = location.empty() ? queue::default_location() : location;
  try {
    return queue::open_store(where);
  } catch (const queue::store_error& e) {
    throw usage_error{"queue.unavailable", e.what(), EX_TEMPFAIL};
  }
}

std::string message_id_of(const std::string& content) {
  const auto v = mime::header_values(content, "Message-ID");
  return v.empty() ? std::string() : v.front();
}

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

json entry_json(const queue::entry& e) {
  json j = {{"id", e.id},
            {"state", queue::to_string(e.state)},
            {"attempts", e.attempts},
            {"created", iso(e.created)},
            {"mail_from", e.message.envelope.mail_from},
            {"rcpt_to", e.message.envelope.rcpt_to},
            {"account", e.message.account},
            {"origin", e.message.origin},
            {"size", e.message.content.size()},
            {"message_id", message_id_of(e.message.content)},
            {"last_cause", e.last_cause},
            {"last_reply", e.last_reply},
            {"last_summary", e.last_summary}};
  j["next_attempt"] = e.state == queue::status::queued ? json(iso(e.next_attempt)) : json(nullptr);
  j["last_attempt"] = e.last_attempt ? json(iso(*e.last_attempt)) : json(nullptr);
  j["lease_owner"] = e.lease_owner ? json(*e.lease_owner) : json(nullptr);
  j["lease_expires"] = e.lease_expires ? json(iso(*e.lease_expires)) : json(nullptr);
  j["committing"] = e.committing;
  return j;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
  return out;
}

// The message named on the command line, or the error that explains why the call did nothing.
[[noreturn]] void explain_refusal(queue::store& q, const std::string& id, const char* what) {
  const auto e = q.get(id);
  if (!e) throw usage_error{"queue.no-such-id", "no message " + id + " in " + q.location(), EX_NOINPUT};
  if (e->lease_owner && e->lease_expires && *e->lease_expires > clock::now())
    throw usage_error{"queue.leased",
                      id + " is being delivered by " + *e->lease_owner + " (lease until " +
                          iso(*e->lease_expires) + "); try again later",
                      EX_TEMPFAIL};
  throw usage_error{"queue.wrong-state",
                    std::string("cannot ") + what + " " + id + ": it is " + queue::to_string(e->state),
                    EX_DATAERR};
}

struct queue_cli {
  std::string location, config;
  bool json_out = false, failed = false, all = false, watch = false, verbose = false;
  std::string id;
  unsigned jobs = 2;
  double retry_first = 60, retry_max = 3600, give_up = 432000, retry_factor = 2, jitter = 0.2, lease = 600;
  std::size_t limit = 0;
};

void add_location(CLI::App& c, queue_cli& a) {
  c.add_option("--queue", a.location,
               "queue file or postgresql:// URL (default $XDG_STATE_HOME/postern/queue.sqlite)");
}

int do_list(queue_cli& a) {
  auto q = open_queue(a.location);
  queue::filter f;
  if (a.failed) f.states = {queue::status::failed};
  if (a.all)
    f.states = {queue::status::queued, queue::status::held, queue::status::unknown, queue::status::failed,
                queue::status::delivered};
  const auto entries = q->list(f);
  if (a.json_out) {
    json arr = json::array();
    for (const auto& e : entries) arr.push_back(entry_json(e));
    std::cout << json{{"ok", true}, {"queue", q->location()}, {"messages", arr}}.dump(2) << "\n";
    return 0;
  }
  if (entries.empty()) {
    std::cout << "postern: " << (a.failed ? "no failed messages" : "the queue is empty") << " ("
              << q->location() << ")\n";
    return 0;
  }
  for (const auto& e : entries) {
    std::cout << e.id << "  " << std::left << std::setw(9) << queue::to_string(e.state) << " attempts "
              << e.attempts << "  "
              << (e.message.envelope.mail_from.empty() ? "<>" : e.message.envelope.mail_from) << " -> "
              << join(e.message.envelope.rcpt_to) << "\n";
    if (e.state == queue::status::queued) std::cout << "    next attempt " << iso(e.next_attempt) << "\n";
    if (!e.last_cause.empty())
      std::cout << "    [" << e.last_cause << "] " << one_line(e.last_summary)
                << (e.last_reply.empty() ? "" : " — " + one_line(e.last_reply)) << "\n";
  }
  return 0;
}

int do_show(queue_cli& a) {
  auto q = open_queue(a.location);
  const auto e = q->get(a.id);
  if (!e) throw usage_error{"queue.no-such-id", "no message " + a.id + " in " + q->location(), EX_NOINPUT};
  if (a.json_out) {
    json j = entry_json(*e);
    j["delivery"] = json::parse(e->message.delivery, nullptr, false);
    j["ok"] = true;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const json j = entry_json(*e);
  for (auto it = j.begin(); it != j.end(); ++it)
    std::cout << std::left << std::setw(14) << it.key() << " "
              << (it->is_string() ? it->get<std::string>() : it->dump()) << "\n";
  std::cout << "delivery       " << e->message.delivery << "\n";
  return 0;
}

int do_change(queue_cli& a, const char* what) {
  auto q = open_queue(a.location);
  const std::string w = what;
  if (w == "retry" && a.all) {
    std::size_t n = 0;
    for (const auto& e : q->list({{queue::status::unknown, queue::status::failed, queue::status::held}, 0}))
      n += q->retry(e.id, clock::now());
    std::cout << "postern: " << n << " message" << (n == 1 ? "" : "s") << " queued again\n";
    return 0;
  }
  if (a.id.empty())
    throw usage_error{"usage", std::string("queue ") + what + " needs a message ID", EX_USAGE};
  bool ok = false;
  if (w == "retry") ok = q->retry(a.id, clock::now());
  if (w == "drop") ok = q->drop(a.id);
  if (w == "hold") ok = q->hold(a.id);
  if (w == "release") ok = q->release(a.id, clock::now());
  if (!ok) explain_refusal(*q, a.id, what);
  std::cout << "postern: " << a.id << ": "
            << (w == "retry"  ? "queued again, due now"
                : w == "drop" ? "dropped"
                : w == "hold" ? "held"
                              : "released")
            << "\n";
  return 0;
}

std::chrono::seconds secs(double v, const char* flag) {
  if (v < 0) throw usage_error{"usage", std::string(flag) + " must not be negative", EX_USAGE};
  return std::chrono::seconds(static_cast<std::int64_t>(v));
}

int do_run(queue_cli& a) {
  auto q = open_queue(a.location);
  queue::worker_options o;
  o.jobs = std::max(1u, a.jobs);
  o.limit = a.limit;
  o.lease_for = std::max(secs(a.lease, "--lease"), std::chrono::seconds(1));
  o.retry.first = secs(a.retry_first, "--retry-first");
  o.retry.max_delay = secs(a.retry_max, "--retry-max");
  o.retry.give_up = secs(a.give_up, "--give-up");
  o.retry.factor = a.retry_factor;
  o.retry.jitter = a.jitter;
  // Bounce messages: the `bounce-to` of the message's account (docs/queue.md).
  const auto loaded = load_config(a.config, !a.config.empty());
  o.bounce_to = [cfg = loaded.config](const queue::entry& e) -> std::string {
    if (!cfg || e.message.account.empty()) return {};
    const plan::account* acc = cfg->find(e.message.account);
    if (!acc || acc->bounce_to.empty()) return {};
    return acc->bounce_to == "sender" ? e.message.envelope.mail_from : acc->bounce_to;
  };
  const bool verbose = a.verbose;
  o.prepare = [verbose](client::request& r, const queue::entry&) {
    if (verbose) r.on_transcript = [](const smtp::transcript_event& ev) { print_transcript_event(ev); };
    r.on_finding = [](const diagnose::finding& f) {
      if (f.severity == diagnose::severity::warning) std::cerr << "postern: warning: " << f.summary << "\n";
    };
  };
  o.on_outcome = [](const queue::entry& e, const queue::outcome& out, bool recorded) {
    std::cout << "postern: " << e.id << " ";
    if (!recorded)
      std::cout << "lease lost (another worker took it over)";
    else if (out.next == queue::status::delivered)
      std::cout << "delivered: " << one_line(out.reply);
    else if (out.next == queue::status::queued)
      std::cout << "queued again for " << iso(out.retry_at) << ": [" << out.cause << "] "
                << one_line(out.summary);
    else
      std::cout << queue::to_string(out.next) << ": [" << out.cause << "] " << one_line(out.summary);
    std::cout << "\n" << std::flush;
  };
  auto print_counts = [](const queue::run_counts& n) {
    std::cerr << "postern: queue run: " << n.delivered << " delivered, " << n.retried << " queued again, "
              << n.failed << " failed, " << n.unknown << " unknown"
              << (n.stale ? ", " + std::to_string(n.stale) + " lost leases" : "")
              << (n.bounces ? ", " + std::to_string(n.bounces) + " bounces" : "") << "\n";
  };
  try {
    if (!a.watch) {
      print_counts(queue::run_once(*q, o));
      return 0;
    }
    // --watch: until SIGINT or SIGTERM, taken by a thread of its own (the watcher's stop() is
    // not async-signal-safe, sigwait() needs no handler).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    queue::watcher w;
    std::thread stopper([&] {
      int sig = 0;
      sigwait(&set, &sig);
      w.stop();
    });
    queue::run_counts n;
    try {
      n = w.run(*q, o);
    } catch (...) {
      pthread_kill(stopper.native_handle(), SIGTERM);
      stopper.join();
      throw;
    }
    stopper.join();
    print_counts(n);
    return 0;
  } catch (const queue::store_error& e) {
    throw usage_error{"queue.store", e.what(), EX_IOERR};
  }
}

}  // namespace

std::optional<int> send_through_queue(const send_args& a, client::request& q, const client::report* failed) {
  const bool always = a.queue_mode == "always";
  std::vector<std::size_t> to_queue;
  if (always) {
    for (std::size_t i = 0; i < q.messages.size(); ++i) to_queue.push_back(i);
  } else {
    if (!failed || failed->ok()) return std::nullopt;
    const auto& r = failed->delivery;
    bool permanent = false;
    for (std::size_t i = 0; i < q.messages.size(); ++i) {
      // Messages the connection never reached share the run's cause.
      const queue::verdict v =
          i < r.messages.size() ? queue::classify(r.messages[i]) : queue::classify_cause(failed->cause());
      if (v == queue::verdict::retry)
        to_queue.push_back(i);
      else if (v != queue::verdict::delivered)
        permanent = true;
    }
    // A problem with the request itself is reported as it is, never queued.
    if (r.error && (r.error->code == "usage" || r.error->code == "input" || r.error->code == "config"))
      return std::nullopt;
    if (to_queue.empty()) return std::nullopt;
    if (permanent) {
      // Queue the temporary ones, report the rest as send does.
      std::cerr << "postern: some messages failed permanently; the others are queued\n";
    }
  }
  const std::string delivery = delivery_json(q, a);
  auto store = open_queue(a.queue_location);
  for (std::size_t i : to_queue) {
    queue::new_message m;
    m.envelope = q.messages[i].envelope;
    m.content = smtp::normalise_line_ends(q.messages[i].content);
    m.account = a.account_name;
    m.delivery = delivery;
    m.origin = a.origin.empty() ? "send" : a.origin;
    std::string id;
    try {
      id = store->add(m, clock::now());
    } catch (const queue::store_error& e) {
      throw usage_error{"queue.unavailable", e.what(), EX_TEMPFAIL};
    }
    std::cerr << "postern: queued " << id << " in " << store->location();
    if (failed && failed->delivery.error)
      std::cerr << " after a temporary failure [" << failed->delivery.error->code
                << "]: " << one_line(failed->delivery.error->summary);
    std::cerr << "; `postern queue run` delivers it\n";
  }
  if (!always && to_queue.size() < q.messages.size()) return std::nullopt;  // the caller reports the rest
  return 0;
}

void sign_for_queue(client::request& q) {
  if (!q.dkim) return;
  auto s = dkim::signer::load(*q.dkim);
  for (const auto& w : s.warnings) std::cerr << "postern: warning: " << w.summary << "\n";
  if (!s.value) throw usage_error{s.error->code, s.error->summary, s.error->exit_code};
  for (auto& m : q.messages) {
    dkim::result r = s.value->sign(m.content);
    if (!r.ok()) throw usage_error{r.error->code, r.error->summary, r.error->exit_code};
    m.content = std::move(r.message);
  }
  q.dkim.reset();  // signed once: the queued bytes are the bytes sent now
}

command add_queue_command(CLI::App& app) {
  auto a = std::make_shared<queue_cli>();
  auto* cmd = app.add_subcommand("queue", "the durable queue: list, show, run, retry, drop, hold, release");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "messages in the queue (all but delivered)");
  list->add_flag("--json", a->json_out, "one JSON object");
  list->add_flag("--failed", a->failed, "only failed ones: the bounce report");
  list->add_flag("--all", a->all, "delivered ones too");
  auto* show = cmd->add_subcommand("show", "one message's state, last error and delivery");
  show->add_option("id", a->id, "message ID")->required();
  show->add_flag("--json", a->json_out, "one JSON object");
  auto* run = cmd->add_subcommand("run", "deliver what is due, then exit (--watch: keep running)");
  run->add_flag("--watch", a->watch, "keep running: wake when something is due or added");
  run->add_option("--jobs", a->jobs, "connections per server (default 2)");
  run->add_option("--limit", a->limit, "at most this many messages per run");
  run->add_option("--retry-first", a->retry_first, "seconds before the first retry (default 60)");
  run->add_option("--retry-max", a->retry_max, "longest delay between retries, seconds (default 3600)");
  run->add_option("--retry-factor", a->retry_factor, "each delay is this times the one before (default 2)");
  run->add_option("--jitter", a->jitter, "delays vary by this fraction either way (default 0.2)");
  run->add_option("--give-up", a->give_up,
                  "age in seconds after which a message fails (default 432000: 5 days)");
  run->add_option("--lease", a->lease, "seconds a taken message is this worker's (default 600)");
  run->add_option("--config", a->config, "config file for the accounts' bounce-to");
  run->add_flag("-v,--verbose", a->verbose, "print the SMTP transcripts");
  auto* retry = cmd->add_subcommand("retry", "queue ID (unknown, failed, held) again, due now");
  retry->add_option("id", a->id, "message ID");
  retry->add_flag("--all", a->all, "every unknown, failed and held message");
  auto* drop = cmd->add_subcommand("drop", "remove ID from the queue");
  drop->add_option("id", a->id, "message ID")->required();
  auto* hold = cmd->add_subcommand("hold", "keep ID from being delivered until release");
  hold->add_option("id", a->id, "message ID")->required();
  auto* release = cmd->add_subcommand("release", "make a held ID due now");
  release->add_option("id", a->id, "message ID")->required();
  for (auto* c : {list, show, run, retry, drop, hold, release}) add_location(*c, *a);
  return {cmd, [a, list, show, run, retry, drop, hold, release] {
            if (list->parsed()) return do_list(*a);
            if (show->parsed()) return do_show(*a);
            if (run->parsed()) return do_run(*a);
            if (retry->parsed()) return do_change(*a, "retry");
            if (drop->parsed()) return do_change(*a, "drop");
            if (hold->parsed()) return do_change(*a, "hold");
            if (release->parsed()) return do_change(*a, "release");
            return EX_USAGE;
          }};
}

}  // namespace postern::cli
