#pragma once
/**
 * @file
 * The diagnosis as Asio coroutines (this header is the Asio integration): the same
 * work as diagnose::run() and try_routes() on the caller's executor, never blocking it.
 * A terminal cancellation is passed on to every attempt in flight; the coroutine then ends
 * with asio::error::operation_aborted once they have closed their connections.
 */
#include <asio/awaitable.hpp>
#include <vector>

#include "postern/diagnose/doctor.hpp"

namespace postern::diagnose {

/** diagnose::run() as a coroutine: the diagnosis of @p t. */
asio::awaitable<diagnosis> async_run(target t);
/** try_routes() as a coroutine: every one of @p routes to @p t tried at once, one attempt each. */
asio::awaitable<std::vector<route_attempt>> async_try_routes(target t, std::vector<route_probe> routes);

}  // namespace postern::diagnose
