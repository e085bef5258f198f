#pragma once
/**
 * @file
 * When a queued message is tried again, and what an attempt's result means for it. Pure: no
 * I/O, no clock (the caller passes `now` and a random number), so every rule is unit-tested.
 *
 *   postern::queue::retry_policy p;                       // 1 min, doubling, 1 h cap, 5 days
 *   auto v = postern::queue::classify(bulk_outcome);      // delivered, retry, failed, unknown, partial
 *   auto o = postern::queue::decide(v, facts, p, e.created, e.attempts + 1, now, u);
 *
 * The rules (docs/queue.md):
 * - 2xx for the final dot and every recipient: delivered.
 * - 4xx (smtp.transient), every net.* cause (refused, unreachable, DNS, timeouts, closed): tried
 *   again after the back-off, until the give-up age; then failed with cause queue.given-up.
 * - smtp.outcome-unknown: unknown, never retried by a worker (only retry() sends it again).
 * - anything else (5xx smtp.rejected, tls.*, mode.*, smtp.auth-*, plan.downgrade): failed at once.
 * - partial: the final dot was accepted for some recipients and others were refused (4xx or
 *   5xx): failed with cause queue.partial, so the bounce report names the recipients that did
 *   not get it. It is not retried by itself: a retry would send it again to those who have it.
 */
#include <chrono>
#include <string>
#include <vector>

#include "postern/client/bulk.hpp"
#include "postern/client/submit.hpp"
#include "postern/queue/store.hpp"
#include "postern/send/send.hpp"

namespace postern::queue {

/** The back-off. Every field is configurable (`queue run --retry-*`, the relay's options). */
struct retry_policy {
  std::chrono::seconds first{60};                         ///< the delay after the first failed attempt
  double factor = 2.0;                                    ///< each later delay is this times the one before
  std::chrono::seconds max_delay{3600};                   ///< no delay is longer than this
  std::chrono::seconds give_up{std::chrono::hours(120)};  ///< after this age (from created), failed
  /** Each delay is scaled by a factor in [1 - jitter, 1 + jitter] (capped at max_delay), so that
      workers that failed together do not all come back in the same second. */
  double jitter = 0.2;
};

/**
 * The delay before the next attempt.
 * @param p        the policy
 * @param attempts failed attempts so far (1: the first failure)
 * @param u        a random number in [0, 1] for the jitter (0.5: none)
 */
std::chrono::seconds backoff_delay(const retry_policy& p, unsigned attempts, double u) noexcept;

/** What one attempt's result is for the queue. */
enum class verdict {
  delivered,  ///< the server accepted it for every recipient
  retry,      ///< temporary: tried again later
  failed,     ///< permanent: a bounce report
  unknown,    ///< maybe delivered (smtp.outcome-unknown): held for the user
  partial,    ///< accepted for some recipients, refused for others: a bounce report
};

/** "delivered", "retry", "failed", "unknown", "partial". */
const char* to_string(verdict v) noexcept;

/** The verdict for a failure's cause code alone (no recipient details): "" is delivered. */
verdict classify_cause(const std::string& cause) noexcept;
/** The verdict for one message's result on a connection (send::report::messages). */
verdict classify(const send::message_report& m) noexcept;
/** The verdict for a bulk_send() outcome (what the worker gets). */
verdict classify(const client::bulk_outcome& o) noexcept;
/** The verdict for a whole client::submit() of one message (what `send --queue` gets). */
verdict classify(const client::report& r) noexcept;

/** What finish() is told about an attempt besides its verdict. */
struct attempt_facts {
  std::string cause;                               ///< docs/causes.md code of the failure; "" when delivered
  std::string reply;                               ///< the server's last reply
  std::string summary;                             ///< one line
  std::vector<send::recipient_report> recipients;  ///< per RCPT TO, when known
};

/** The facts of a bulk outcome, for decide(). */
attempt_facts facts_of(const client::bulk_outcome& o);
/** The facts of a submit() report of one message, for decide(). */
attempt_facts facts_of(const client::report& r);

/**
 * The outcome to give store::finish().
 * @param v         the attempt's verdict (classify())
 * @param f         its cause, reply, summary and recipients
 * @param p         the back-off and give-up age
 * @param created   when the message was queued (entry::created)
 * @param attempts  attempts including this one
 * @param now       when the attempt ended
 * @param u         a random number in [0, 1] for the jitter
 * A retry past created + give_up becomes failed with cause `queue.given-up` (the last error in
 * the summary); the last retry is placed at the give-up time, so a message is tried then once more.
 */
outcome decide(verdict v, const attempt_facts& f, const retry_policy& p, clock::time_point created,
               unsigned attempts, clock::time_point now, double u);

}  // namespace postern::queue
