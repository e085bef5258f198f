#pragma once
/**
 * @file
 * The queue worker: delivers what is due, with the same routing, downgrade and diagnosis rules
 * as `postern send`, and records each outcome in the store. `postern queue run` and the relay
 * use it; a program may too.
 *
 *   auto q = postern::queue::open_store(postern::queue::default_location());
 *   postern::queue::worker_options o;
 *   auto n = postern::queue::run_once(*q, o);      // n.delivered, n.retried, n.failed, n.unknown
 *
 *   postern::queue::watcher w;                     // a long-running worker (the relay's)
 *   std::thread t([&] { w.run(*q, o); });
 *   w.wake();                                      // after an add(): deliver it now
 *   w.stop(); t.join();
 *
 * Messages due for the same account and delivery JSON travel together over a pool of
 * connections (client::bulk_send); each message's lease is marked committing() right before its
 * final dot, so a worker killed at any point leaves every message queued (sent again) or unknown
 * (maybe delivered, held for the user), never both delivered and queued.
 */
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "postern/client/submit.hpp"
#include "postern/queue/schedule.hpp"
#include "postern/queue/store.hpp"

namespace postern::queue {

/** How a worker behaves. */
struct worker_options {
  std::string worker;                   ///< its name in leases; "": host:pid:random
  std::chrono::seconds lease_for{600};  ///< how long a taken message is the worker's
  retry_policy retry;                   ///< back-off and give-up age
  unsigned jobs = 2;                    ///< connections per delivery target
  unsigned max_per_connection = 100;    ///< messages before a connection is renewed
  std::size_t limit = 0;                ///< run_once: at most this many messages; 0: all that are due
  /** Called with each request rebuilt from a message's delivery JSON, before it is used (to set
      on_transcript, on_finding, a secret of the caller's). */
  std::function<void(client::request&, const entry&)> prepare;
  /** Called after each attempt's outcome is recorded (@p recorded false: the lease had gone stale). */
  std::function<void(const entry&, const outcome&, bool recorded)> on_outcome;
  /** The address a bounce message for @p e goes to (through the same account and delivery), or
      "" for none. Called when a message becomes failed; bounces themselves never bounce. */
  std::function<std::string(const entry&)> bounce_to;
};

/** What one run did. */
struct run_counts {
  std::size_t delivered = 0;  ///< accepted for every recipient
  std::size_t retried = 0;    ///< queued again for later
  std::size_t failed = 0;     ///< failed: permanently refused, given up, or partly refused
  std::size_t unknown = 0;    ///< smtp.outcome-unknown: held for the user
  std::size_t stale = 0;      ///< outcomes not recorded: the lease had expired and was retaken
  std::size_t bounces = 0;    ///< bounce messages queued
  /** Every message attempted. */
  std::size_t total() const noexcept { return delivered + retried + failed + unknown + stale; }
};

/** The entry the worker is given from the store, as the request it delivers with (its secret read
    from its secret_source now). Throws store_error naming queue.bad-delivery or queue.secret. */
client::request request_for(const entry& e);

/** Delivers every message due now (once each), then returns. Throws store_error when the store fails. */
run_counts run_once(store& q, const worker_options& o);

/**
 * The bounce message for a failed @p e (plain text, RFC 3464 in spirit: who, why, the server's
 * reply, the original header), from MAILER-DAEMON to @p to, dated @p now; CRLF line ends.
 */
std::string bounce_message(const entry& e, const std::string& to, clock::time_point now);

/** A worker that keeps running: delivers what is due, sleeps until the next due time, a wake(),
    or a poll of the store (another process's add()), and again, until stop(). */
class watcher {
 public:
  /** Delivers now what is due (after an add() in this process). Thread-safe. */
  void wake();
  /** Ends run() after its current delivery round. Thread-safe. */
  void stop();
  /**
   * Runs until stop(); returns the sum of its rounds. @p poll bounds each sleep (so a message
   * another process added is seen within it). Throws store_error when the store fails.
   */
  run_counts run(store& q, const worker_options& o, std::chrono::milliseconds poll = std::chrono::seconds(1));

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
};

}  // namespace postern::queue
