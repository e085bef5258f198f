// The whole secure-first flow behind postern::client::submit(): remembered route, automatic
// routing, downgrade check, diagnosis on failure, recording what worked. `postern send` and
// sendmail mode are thin clients of this file.
#include "postern/client/submit.hpp"

#include <sysexits.h>

#include "client/submission.hpp"
#include "postern/client/async.hpp"
#include "postern/net/blocking.hpp"

namespace postern::client {

int report::exit_code() const noexcept {
  if (delivery.ok) return 0;
  return delivery.exit_code ? delivery.exit_code : EX_SOFTWARE;
}

asio::awaitable<report> async_submit(request q) {
  detail::validate(q);
  if (q.messages.empty()) throw std::invalid_argument("no message to send");
  detail::submission s(std::move(q));
  co_return co_await s.run();
}

report submit(const request& q) {
  detail::validate(q);
  if (q.messages.empty()) throw std::invalid_argument("no message to send");
  return net::run_blocking(async_submit(q));
}

}  // namespace postern::client
