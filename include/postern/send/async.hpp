#pragma once
/**
 * @file
 * send() as an Asio coroutine (this header is the Asio integration).
 *
 *   auto r = co_await send::async_send(o, {msg});
 */
#include <asio/awaitable.hpp>
#include <vector>

#include "postern/send/send.hpp"

namespace postern::send {

/** send() on the caller's executor: the same report; never blocks the thread. A terminal
    cancellation ends the connection (operations complete with asio::error::operation_aborted). */
asio::awaitable<report> async_send(options opts, std::vector<message> messages);

}  // namespace postern::send
