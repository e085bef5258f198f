#pragma once
// Turns how a session ended into a failure with its cause code, plain words and
// sysexits.h exit code. Reasons on structured facts (errc, state, reply), never on text.
#include <optional>

#include "postern/net/error.hpp"
#include "postern/send/send.hpp"
#include "postern/smtp/session.hpp"

namespace postern::send {

struct outcome {
  failure what;
  int exit_code = 0;
};

/** nullopt when every recipient accepted the message. */
std::optional<outcome> describe_outcome(const smtp::session& s, std::optional<net::errc> transport_error,
                                        const timeouts& t);

int exit_code_for(net::errc e) noexcept;

}  // namespace postern::send
