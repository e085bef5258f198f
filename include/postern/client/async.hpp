#pragma once
/**
 * @file
 * The asynchronous front door, for programs that run their own Asio `io_context`.
 * This header is the Asio integration: it exposes `asio::awaitable`.
 *
 *   asio::io_context io;
 *   asio::cancellation_signal stop;
 *   asio::co_spawn(io, postern::client::async_submit(q),
 *                  asio::bind_cancellation_slot(stop.slot(), [](std::exception_ptr, postern::client::report
 * r) { std::cout << postern::client::to_json(r) << "\n";
 *                  }));
 *   io.run();   // stop.emit(asio::cancellation_type::terminal) ends it early: cause net.cancelled
 *
 * The coroutine never blocks its thread on the network: every connection, handshake and
 * diagnosis step is an Asio operation with a deadline; several submissions run concurrently
 * on one thread. The host memory (SQLite, a local file) is read and written synchronously,
 * a few short statements per submission, and a provider given in auth_options::secret_provider
 * is called on the io_context's thread.
 */
#include <asio/awaitable.hpp>

#include "postern/client/submit.hpp"

namespace postern::client {

/**
 * submit() as a coroutine: the same flow and the same report. Cancellation (terminal, through
 * the completion handler's cancellation slot) stops every connection it has open and returns
 * a report whose cause is net.cancelled (exit 75); nothing is recorded in the host memory then.
 */
asio::awaitable<report> async_submit(request q);

}  // namespace postern::client
