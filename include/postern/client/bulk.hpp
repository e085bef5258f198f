#pragma once
/**
 * @file
 * Bulk sending: many messages to one server over a pool of concurrent connections, each message's
 * outcome reported as soon as it is known. `postern bulk` is a thin client of this header.
 *
 * The route is decided once, by the first connection, with the whole flow of submit() (the
 * remembered route, secure-first routing, the downgrade check, recording what worked); the other
 * connections then use that route, and each of their handshakes passes the same downgrade check.
 *
 *   postern::client::bulk_options b;
 *   b.jobs = 8;
 *   auto summary = postern::client::bulk_send(q, b,
 *       [&]() -> std::optional<postern::client::bulk_item> { return read_next(); },
 *       [&](const postern::client::bulk_outcome& o) { write_result(o); });
 *
 * Messages are taken from the source only when a connection is ready for one, so memory does
 * not grow with the number of messages. A connection takes its next message as soon as the
 * previous final dot is written and pipelines its commands behind it (RFC 2920); the pool's
 * connections resume the first one's TLS session (bulk_summary::resumed).
 *
 * With request::dkim every message is signed as it is taken (the key is read once per run); a
 * key that does not load fails every message with its dkim.* cause, nothing sent; a message that
 * cannot be signed fails alone.
 */
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "postern/client/submit.hpp"

namespace postern::client {

/** How the pool behaves. */
struct bulk_options {
  unsigned jobs = 4;                  ///< concurrent connections (at least 1)
  unsigned max_per_connection = 100;  ///< messages before a connection is renewed (at least 1)
  /** Messages per second over all connections; 0: no limit. Sends are spaced 1/rate apart. */
  double rate = 0;
  /** New connections per second over the pool; 0: no limit. */
  double max_connect_rate = 0;
  /** Tries per message when the failure is temporary (4xx, or the connection failed before the
      message was committed); outcome-unknown messages are never tried again. */
  unsigned max_attempts = 3;
  /** The pool gives up on the server after this many connections in a row that carried no
      message; the messages left fail with the last connection's cause. */
  unsigned max_failed_connections = 8;
};

/** One message of a bulk run. */
struct bulk_item {
  std::string id;         ///< the caller's identifier, reported back unchanged
  send::message message;  ///< envelope and RFC 5322 content
};

/** The outcome of one message, final (never reported twice). */
struct bulk_outcome {
  std::string id;        ///< bulk_item::id
  bool ok = false;       ///< delivered to every recipient
  bool unknown = false;  ///< smtp.outcome-unknown: the connection was lost after the final dot
  int code = 0;          ///< the SMTP reply code of the last reply for this message; 0: none
  std::string reply;     ///< that reply's text (the final dot's when there was one)
  std::string cause;     ///< docs/causes.md code when !ok; "" when ok
  std::string summary;   ///< one line, when !ok
  std::vector<send::recipient_report> recipients;  ///< one per RCPT TO of the last attempt
  unsigned attempts = 0;                           ///< connections that tried this message
  unsigned connection = 0;                         ///< the pool connection (1, 2, …) of the last attempt
  std::chrono::milliseconds elapsed{0};            ///< from when it was taken to its outcome
};

/** The whole run. */
struct bulk_summary {
  std::size_t delivered = 0;  ///< outcomes with ok
  std::size_t failed = 0;     ///< outcomes neither ok nor unknown
  std::size_t unknown = 0;    ///< outcomes with unknown
  unsigned connections = 0;   ///< connections opened (route probes not counted)
  unsigned max_jobs = 0;      ///< the largest number of connections open at once
  /** Connections (of those counted in connections) whose TLS handshake resumed an earlier
      connection's session instead of a full handshake; each passed the downgrade check. */
  unsigned resumed = 0;
  /** How the route was chosen (by the first connection), as in report::route. */
  route_report route;
  /** The first connection's findings (the route's warnings and notes, or why none works). */
  std::vector<diagnose::finding> findings;
  std::optional<send::failure> error;  ///< the first failure of the run, when not all went
  /** sysexits.h: 0 when all were delivered; else the first failure's code (67, 69, 75, 77…). */
  int exit_code = 0;
};

/** Gives the next message, or nullopt at the end; called on the pool's thread, never concurrently. */
using bulk_source = std::function<std::optional<bulk_item>()>;
/** Receives each outcome as soon as it is final; called on the pool's thread, never concurrently. */
using bulk_sink = std::function<void(const bulk_outcome&)>;

/** Called right before a message's final dot is written (then a crash leaves its outcome unknown):
    a caller that must survive being killed records the id durably here. Returning false withdraws
    the message: its final dot is not written, its connection is closed, and its outcome is
    net.cancelled, never retried (a queue worker whose lease ran out). */
using bulk_commit_hook = std::function<bool(const std::string& id)>;

/**
 * Sends every message @p next gives to the server of @p base (its messages are ignored) and
 * reports each outcome to @p sink. Never throws for network, TLS or protocol problems. Throws
 * std::invalid_argument for a request that cannot be run (no host, bad options).
 */
bulk_summary bulk_send(const request& base, const bulk_options& options, const bulk_source& next,
                       const bulk_sink& sink, const bulk_commit_hook& on_commit = {});

/**
 * The outcome as one line of `postern bulk --results` (docs/bulk.md), without the line end:
 * {"id","ok","code","reply","recipients":[{"address","accepted","reply"}],"attempts","connection",
 * "elapsed_ms"}, plus "cause" and "summary" when not ok.
 */
std::string to_json_line(const bulk_outcome& o);

}  // namespace postern::client
