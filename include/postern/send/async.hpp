#pragma once
/**
 * @file
 * send() as an Asio coroutine (this header is the Asio integration).
 *
 *   auto r = co_await send::async_send(o, {msg});
 */
#include <asio/awaitable.hpp>
#include <optional>
#include <vector>

#include "postern/send/send.hpp"

namespace postern::send {

/** send() on the caller's executor: the same report; never blocks the thread. A terminal
    cancellation ends the connection (operations complete with asio::error::operation_aborted). */
asio::awaitable<report> async_send(options opts, std::vector<message> messages);

/**
 * Where one connection takes its messages from: the pool behind `postern bulk` feeds many
 * connections from one queue this way. The connection asks for its first message before it
 * connects, and for each next one once the previous one's final dot is written (when the server
 * offers PIPELINING its commands then go without waiting for that dot's reply), else once the
 * previous outcome is known. So at most two messages are out at once; done() comes in the order
 * next() gave them.
 */
class message_source {
 public:
  virtual ~message_source() = default;
  /** The next message for this connection; nullopt: none, the connection ends (QUIT). */
  virtual asio::awaitable<std::optional<message>> next() = 0;
  /** The outcome of the oldest message next() returned whose outcome was not given yet (also when
      the connection failed under it, or ended before its turn: then net.closed, nothing sent). */
  virtual void done(const message_report& outcome) = 0;
  /** Called right before the bytes that end the oldest outstanding message (the final dot) are
      written: from then on a lost connection leaves its outcome unknown (smtp.outcome-unknown).
      false withdraws the message: the end is not written, the connection is closed (the server
      drops an unfinished message, RFC 5321 §4.1.1.4) and the message's outcome is net.cancelled
      — a queue worker whose lease ran out must not deliver what another worker now owns. */
  virtual bool committing() { return true; }
  /** true when the message next() returned last is known to be the last one (QUIT is then
      pipelined with it). */
  virtual bool last() const { return false; }
};

/** One connection carrying the messages @p source gives, in order; report::messages holds one
    entry per message that was attempted. A message taken but not attempted (the connection failed
    before it) gets done() with its error too, and no entry. */
asio::awaitable<report> async_send_from(options opts, message_source& source);

}  // namespace postern::send
