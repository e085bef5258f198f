#pragma once
/**
 * @file
 * Automatic routing as an Asio coroutine (this header is the Asio integration):
 * choose_route() on the caller's executor, never blocking it; cancellable like
 * diagnose::async_try_routes().
 */
#include <asio/awaitable.hpp>

#include "postern/plan/router.hpp"

namespace postern::plan {

/** choose_route() as a coroutine: the route to use for @p q. */
asio::awaitable<route_choice> async_choose_route(route_request q);

}  // namespace postern::plan
