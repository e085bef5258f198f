#pragma once
/**
 * @file
 * The synchronous calls of the library (send::send, diagnose::run, plan::choose_route,
 * client::submit): their coroutine, run to its end on a private io_context. This header is
 * the Asio integration.
 *
 *   report send(const options& o, const std::vector<message>& m) { return net::run_blocking(async_send(o,
 * m)); }
 */
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <optional>
#include <utility>

namespace postern::net {

/** Runs @p work on a new io_context until it is done and returns its result; an exception it
    threw (a broken invariant, never a network outcome) is rethrown here. */
template <typename T>
T run_blocking(asio::awaitable<T> work) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr crashed;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T r) {
    crashed = e;
    out = std::move(r);
  });
  io.run();
  if (crashed) std::rethrow_exception(crashed);
  return std::move(*out);
}

}  // namespace postern::net
