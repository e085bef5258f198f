#pragma once
/**
 * @file
 * new_message::delivery: how a queued message is delivered, as a JSON object stored beside it
 * (docs/queue.md lists the fields). It keeps the route, TLS, AUTH, proxy and memory options of a
 * client::request — never a password or token: only where the secret comes from (a file, a
 * command, an environment variable), read again at every delivery.
 *
 *   postern::queue::secret_source s;
 *   s.command = "pass show smtp";
 *   std::string j = postern::queue::to_delivery_json(request, s);
 *   auto d = postern::queue::request_from_delivery_json(j);   // d->request.host == request.host
 *
 * The parser takes JSON from the store, which on a shared PostgreSQL queue other machines
 * write: it checks every field's type and bounds and never throws (it is fuzzed).
 */
#include <optional>
#include <string>
#include <string_view>

#include "postern/client/submit.hpp"

namespace postern::queue {

/** Where an AUTH secret comes from at delivery time; at most one is set. */
struct secret_source {
  std::string file;         ///< a file whose first line is the secret (`password-file`)
  std::string command;      ///< a shell command whose first output line is the secret (`password-command`)
  std::string environment;  ///< an environment variable of the delivering process (POSTERN_PASSWORD)
  /** True when none is set. */
  bool empty() const noexcept { return file.empty() && command.empty() && environment.empty(); }
};

/** A parsed delivery: the request (no messages, no secret) and where its secret comes from. */
struct delivery {
  client::request request;  ///< auth->secret is empty; messages is empty
  secret_source secret;     ///< used when request.auth is set and needs a secret
};

/**
 * The delivery JSON of @p q (its messages, secret, callbacks and DKIM options are not stored:
 * a queued message is signed before it is queued). A proxy is kept without its password.
 */
std::string to_delivery_json(const client::request& q, const secret_source& secret = {});

/** The result of parsing: the delivery, or why it is not one. */
struct delivery_parse {
  std::optional<delivery> value;  ///< nullopt when @ref error is set
  std::string error;              ///< "field route.mode: ..." when nullopt
};

/** Parses what to_delivery_json() wrote (unknown fields are ignored, so newer writers can add some). */
delivery_parse request_from_delivery_json(std::string_view json);

}  // namespace postern::queue
