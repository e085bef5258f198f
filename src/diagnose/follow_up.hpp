#pragma once
// The follow-up handshakes that narrow a failed strict handshake to one cause, as policies
// derived from the compat profile: each offers exactly one thing strict refuses.
#include <string>
#include <vector>

#include "postern/tls/policy.hpp"

namespace postern::diagnose {

struct follow_up {
  std::string label;  // "probe:rsa-kx", …
  std::string cause;  // the cause code when this is the only one that works
  tls::policy policy;
};

/** rsa-kx, dhe, ecdhe-cbc, sha1-sigalgs, tls1.0-1.1: in that order. */
const std::vector<follow_up>& follow_ups();

}  // namespace postern::diagnose
