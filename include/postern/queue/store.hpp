#pragma once
/**
 * @file
 * The durable queue's storage: messages with their envelope and how to deliver them, their
 * status, and the leases that keep two workers from delivering one message twice. Two
 * implementations, chosen by where the queue is (open_store()):
 *
 * - a file path: SQLite (WAL, synchronous=FULL), the default `$XDG_STATE_HOME/postern/queue.sqlite`;
 * - a `postgresql://…` URL: a PostgreSQL table shared by many machines, leases taken with
 *   `FOR UPDATE SKIP LOCKED`.
 *
 * Both have the same semantics, which is what this header documents. Every call that changes
 * the queue has committed durably when it returns: a caller may answer "accepted" after add().
 *
 * A message's life: add() → queued → take_due() leases it to one worker → the worker calls
 * committing() right before the final dot → finish() with the outcome (delivered, retry later,
 * failed, unknown). A worker that dies loses its lease when it expires; the message is then due
 * again, unless committing() was recorded: then it becomes unknown (it may have been delivered),
 * and only retry() sends it again.
 *
 *   auto q = postern::queue::open_store(postern::queue::default_location());
 *   std::string id = q->add(m, std::chrono::system_clock::now());
 */
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "postern/smtp/session.hpp"

namespace postern::queue {

/** The queue's clock: times are stored as milliseconds since the Unix epoch. */
using clock = std::chrono::system_clock;

/** Where a message is in its life. A message being delivered is `queued` with a live lease. */
enum class status {
  queued,     ///< waiting for its next attempt (next_attempt), or leased to a worker
  held,       ///< put aside by the user (hold()); never taken until release()
  unknown,    ///< the connection was lost after the final dot: maybe delivered; only retry() sends it
  failed,     ///< permanently refused, or given up after the retry limit: a bounce report
  delivered,  ///< accepted by the server for every recipient (kept until purged)
};

/** "queued", "held", "unknown", "failed", "delivered". */
const char* to_string(status s) noexcept;
/** The inverse of to_string(); nullopt for anything else. */
std::optional<status> parse_status(const std::string& s) noexcept;

/** What a caller queues. */
struct new_message {
  smtp::envelope envelope;  ///< MAIL FROM, RCPT TO and the DSN request
  std::string content;      ///< the exact message bytes (CRLF), as they will be sent
  std::string account;      ///< the account it is delivered through; "" when none
  /** How to deliver it: a JSON object with the route, TLS and AUTH options of the request
      (never a password or token: those come from the account or the environment at delivery). */
  std::string delivery;
  std::string origin;  ///< who queued it, for people: "send", "sendmail", "relay 127.0.0.1:2525 from …"
};

/** A queued message as stored. */
struct entry {
  std::string id;  ///< unique in its store; safe in file names and shell words
  new_message message;  ///< what was queued
  status state = status::queued;  ///< where it is in its life
  unsigned attempts = 0;           ///< delivery attempts finished so far
  clock::time_point created;       ///< when add() committed it
  clock::time_point next_attempt;  ///< when it is due (queued only)
  std::optional<clock::time_point> last_attempt;  ///< when the last attempt finished; nullopt: none yet
  std::string last_cause;    ///< docs/causes.md code of the last failed attempt; "" when none
  std::string last_reply;    ///< the server's last reply for it, when there was one
  std::string last_summary;  ///< one line, for people
  /** The worker holding it and until when (queued only); nullopt when nobody does. */
  std::optional<std::string> lease_owner;
  std::optional<clock::time_point> lease_expires;  ///< until when lease_owner holds it
  bool committing = false;  ///< committing() was recorded for the current lease
};

/** A worker's hold on one message; pass it back to committing() and finish(). */
struct lease {
  std::string id;     ///< entry::id
  std::string token;  ///< unique per take_due(): a lease that expired and was retaken is stale
  clock::time_point expires;  ///< the lease ends then (renew() extends it)
};

/** How an attempt ended, given to finish(). */
struct outcome {
  status next = status::delivered;  ///< delivered, queued (retry at retry_at), failed or unknown
  clock::time_point retry_at{};     ///< when next == queued
  std::string cause;                ///< docs/causes.md code; "" when delivered
  std::string reply;                ///< the server's last reply
  std::string summary;              ///< one line
};

/** Which entries list() gives. */
struct filter {
  std::vector<status> states;  ///< empty: every state but delivered
  std::size_t limit = 0;       ///< 0: all
};

/** Thrown when the store cannot be opened or a statement fails (a full disk, a lost database
    connection); what() names the location and the database's own message. */
struct store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/** The queue's storage; every implementation has the semantics documented here (see the file's
    description for a message's life). Not thread-safe: one store object per thread. */
class store {
 public:
  virtual ~store() = default;

  /** Stores @p m as queued and due at @p now; returns its id. Durable when it returns. */
  virtual std::string add(const new_message& m, clock::time_point now) = 0;

  /** Leases one due message (queued, next_attempt <= now, no live lease) to @p worker until
      now + @p lease_for, oldest due first; nullopt when none is due. A queued message whose lease
      expired after committing() becomes unknown here instead of being leased. Atomic across
      processes and machines: two callers never get the same message with live leases. */
  virtual std::optional<std::pair<lease, entry>> take_due(const std::string& worker, clock::time_point now,
                                                          std::chrono::seconds lease_for) = 0;

  /** Records, durably, that @p l's final dot is about to be written. false: the lease is stale
      (expired at @p now, or taken by someone else): do not send the dot. An expired lease is
      refused even when nobody took the message yet, since someone may take it any moment. */
  virtual bool committing(const lease& l, clock::time_point now) = 0;

  /** Extends a live lease to @p until (long messages); false when it is stale. */
  virtual bool renew(const lease& l, clock::time_point until) = 0;

  /** Ends @p l with @p o (attempts + 1, last_* set, lease cleared). false when stale: nothing changed. */
  virtual bool finish(const lease& l, const outcome& o, clock::time_point now) = 0;

  /** The entry @p id, or nullopt. */
  virtual std::optional<entry> get(const std::string& id) = 0;
  /** Entries matching @p f, oldest first. */
  virtual std::vector<entry> list(const filter& f) = 0;
  /** The earliest next_attempt of a queued message without a live lease (or the earliest lease
      expiry), for a worker that sleeps until then; nullopt when nothing is queued. */
  virtual std::optional<clock::time_point> next_due() = 0;

  // User decisions: false when the id does not exist or is in a state the call does not apply to.

  /** unknown/failed/held/queued → queued and due at @p now (attempts kept). */
  virtual bool retry(const std::string& id, clock::time_point now) = 0;
  /** Removes it (not while leased: false). */
  virtual bool drop(const std::string& id) = 0;
  /** queued (not leased) → held. */
  virtual bool hold(const std::string& id) = 0;
  /** held → queued, due at @p now. */
  virtual bool release(const std::string& id, clock::time_point now) = 0;
  /** Removes delivered entries finished before @p before; returns how many. */
  virtual std::size_t purge_delivered(clock::time_point before) = 0;

  /** Where it is, for messages: the file path, or the URL without its password. */
  virtual std::string location() const = 0;

  // Added with the SQLite store (not pure: a store without them still works, only slower).

  /** Like take_due(), but only a message with this @p account and exactly this @p delivery JSON,
      so a worker can carry several messages over one connection. The default finds none. */
  virtual std::optional<std::pair<lease, entry>> take_due_for(const std::string& worker,
                                                              clock::time_point now,
                                                              std::chrono::seconds lease_for,
                                                              const std::string& account,
                                                              const std::string& delivery) {
    (void)worker, (void)now, (void)lease_for, (void)account, (void)delivery;
    return std::nullopt;
  }
  /** How many entries are in each state (delivered ones included), for `queue list` and metrics. */
  virtual std::vector<std::pair<status, std::size_t>> counts() {
    std::vector<std::pair<status, std::size_t>> out;
    for (status s : {status::queued, status::held, status::unknown, status::failed, status::delivered}) {
      filter f;
      f.states = {s};
      out.emplace_back(s, list(f).size());
    }
    return out;
  }
};

/** `$XDG_STATE_HOME/postern/queue.sqlite` (`~/.local/state/…` when unset). */
std::string default_location();

/** A file path opens (creating) a SQLite queue; `postgresql://` or `postgres://` a PostgreSQL one
    (the table is created when missing). Throws store_error when it cannot be opened. */
std::unique_ptr<store> open_store(const std::string& location);

}  // namespace postern::queue
