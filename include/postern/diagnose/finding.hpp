#pragma once
/**
 * @file
 * What a diagnosis reports: findings with a stable cause code, evidence and remedies.
 */
#include <cstdint>
#include <string>
#include <vector>

namespace postern::diagnose {

/** How much a finding matters: an error is why it failed; warnings and infos do not fail it. */
enum class severity {
  error,    ///< the cause of a failure
  warning,  ///< a weakness or a risk (deprecated TLS, AUTH before TLS), not a failure
  info,     ///< worth knowing
};
/** "error", "warning" or "info" (the JSON form). */
const char* to_string(severity s) noexcept;

/**
 * One thing the user can do, safest first. `action` is a stable word:
 * use-other-mode, use-other-port, use-weaker-profile, set-tls-name, add-ca-file,
 * add-client-cert, replace-client-cert, fix-server, check-target, check-proxy, retry-later, use-insecure.
 */
struct remedy {
  std::string action;         ///< the stable word above
  std::string command;        ///< an exact postern command, or "" when the fix is not postern's
  std::string security_note;  ///< what it gives up; "" when nothing
};

/** One thing the diagnosis found: a cause code, what it means, the evidence and what to do. */
struct finding {
  std::string code;                                         ///< a DESIGN.md cause code (docs/causes.md)
  diagnose::severity severity = diagnose::severity::error;  ///< error: this is why it failed
  std::string summary;                                      ///< plain words: what is wrong and what it costs
  std::vector<std::string> evidence;  ///< what was observed, one fact a line (replies, handshake results)
  std::vector<remedy> remedies;       ///< what to do about it, safest first
};

/** One connection attempt the diagnosis made. */
struct route_attempt {
  std::uint16_t port = 0;   ///< the port connected to
  std::string mode;         ///< "tls", "starttls", "plain"
  std::string profile;      ///< "strict", "compat", "legacy", or a follow-up probe ("probe:rsa-kx", …)
  bool ok = false;          ///< everything asked of this attempt worked
  std::string code;         ///< cause code when it failed
  std::string detail;       ///< version and suite agreed, or the failure's summary
  std::string tls_version;  ///< when TLS came up: "TLSv1.3"
  std::string cipher;       ///< IANA name
  std::string kx;           ///< "ECDHE", "DHE", "RSA", "" (TLS 1.3)
};

/** The result of diagnose::run(): the findings, main cause first, and every attempt made. */
struct diagnosis {
  std::string target;                       ///< "host:port"
  bool ok = false;                          ///< no finding of severity error
  std::vector<finding> findings;            ///< the main cause first
  std::vector<route_attempt> routes_tried;  ///< every connection attempt, the evidence behind the findings
  /** sysexits.h code of the main finding (0 when ok). */
  int exit_code() const noexcept;
};

/** sysexits.h code for a cause code: 77 TLS/mode/policy, 69 no connection, 75 transient, 76 protocol. */
int exit_code_for_cause(const std::string& code) noexcept;

}  // namespace postern::diagnose
