// send_async: the asynchronous call. Submits N copies of the message on stdin concurrently on
// one io_context (one thread), each a submission of its own, and prints one JSON array of the
// reports in order. --cancel-after MS cancels every submission still running after MS ms.
//
//   send_async --server HOST[:PORT] --from A --to B --count N [--ca-file F] [--tls-name N]
//              [--state FILE] [--allow compat|legacy] [--ports LIST] [--timeout S] [--cancel-after MS] <
//              message.eml
//
// Exit code: 0 when every submission succeeded, else the first failed report's; 64 for bad arguments.
#include <algorithm>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <iostream>
#include <iterator>
#include <list>
#include <optional>
#include <postern/client/async.hpp>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  postern::client::request q;
  postern::smtp::envelope env;
  int count = 1;
  long cancel_after_ms = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "send_async: " << flag << " needs a value\n";
      return 64;
    }
    const std::string value = argv[++i];
    if (flag == "--server") {
      const auto colon = value.rfind(':');
      q.host = colon == std::string::npos ? value : value.substr(0, colon);
      if (colon != std::string::npos) q.port = static_cast<std::uint16_t>(std::stoi(value.substr(colon + 1)));
    } else if (flag == "--from") {
      env.mail_from = value;
    } else if (flag == "--to") {
      env.rcpt_to.push_back(value);
    } else if (flag == "--count") {
      count = std::stoi(value);
    } else if (flag == "--ca-file") {
      q.tls.ca_file = value;
    } else if (flag == "--tls-name") {
      q.tls.tls_name = value;
    } else if (flag == "--state") {
      q.memory.path = value;
    } else if (flag == "--allow") {
      q.route.allow.push_back(value);
    } else if (flag == "--ports") {  // ports automatic routing tries after the given one: "587,25"
      for (std::size_t at = 0; at <= value.size();) {
        const auto comma = std::min(value.find(',', at), value.size());
        q.route.ports.push_back(static_cast<std::uint16_t>(std::stoi(value.substr(at, comma - at))));
        at = comma + 1;
      }
    } else if (flag == "--timeout") {
      q.timeout = std::chrono::milliseconds(static_cast<long>(std::stod(value) * 1000));
    } else if (flag == "--cancel-after") {
      cancel_after_ms = std::stol(value);
    } else {
      std::cerr << "send_async: unknown option " << flag << "\n";
      return 64;
    }
  }
  if (q.host.empty() || env.mail_from.empty() || env.rcpt_to.empty() || count < 1) {
    std::cerr << "usage: send_async --server HOST[:PORT] --from A --to B --count N [...] < message\n";
    return 64;
  }
  const std::string content{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};

  asio::io_context io;
  asio::steady_timer cancel_timer(io);
  std::vector<std::optional<postern::client::report>> reports(count);
  std::list<asio::cancellation_signal> stops;  // stable addresses: each slot points into one
  int finished = 0;
  for (int i = 0; i < count; ++i) {
    auto one = q;
    // Each submission its own message, so the server sees which is which.
    one.messages.push_back({env, "X-Send-Async: " + std::to_string(i) + "\r\n" + content});
    asio::co_spawn(io, postern::client::async_submit(std::move(one)),
                   asio::bind_cancellation_slot(stops.emplace_back().slot(),
                                                [&, i](std::exception_ptr e, postern::client::report r) {
                                                  if (e) std::rethrow_exception(e);
                                                  reports[i] = std::move(r);
                                                  // The last one done: the timer must not keep io busy.
                                                  if (++finished == count) cancel_timer.cancel();
                                                }));
  }
  if (cancel_after_ms >= 0) {
    cancel_timer.expires_after(std::chrono::milliseconds(cancel_after_ms));
    cancel_timer.async_wait([&](std::error_code ec) {
      if (ec) return;
      for (auto& s : stops) s.emit(asio::cancellation_type::terminal);
    });
  }
  io.run();

  int rc = 0;
  std::cout << "[";
  for (int i = 0; i < count; ++i) {
    std::cout << (i ? ",\n" : "\n") << postern::client::to_json(*reports[i]);
    if (rc == 0 && !reports[i]->ok()) rc = reports[i]->exit_code();
  }
  std::cout << "\n]\n";
  return rc;
}
