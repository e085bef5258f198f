#pragma once
/**
 * @file
 * What a diagnosis reports: findings with a stable cause code, evidence and remedies.
 */
#include <cstdint>
#include <string>
#include <vector>

namespace postern::diagnose {

enum class severity { error, warning, info };
const char* to_string(severity s) noexcept;

/**
 * One thing the user can do, safest first. `action` is a stable word:
 * use-other-mode, use-other-port, use-weaker-profile, set-tls-name, add-ca-file,
 * add-client-cert, replace-client-cert, fix-server, check-target, check-proxy, retry-later, use-insecure.
 */
struct remedy {
  std::string action;
  std::string command;        ///< an exact postern command, or "" when the fix is not postern's
  std::string security_note;  ///< what it gives up; "" when nothing
};

struct finding {
  std::string code;  ///< a DESIGN.md cause code (docs/causes.md)
  diagnose::severity severity = diagnose::severity::error;
  std::string summary;  ///< plain words: what is wrong and what it costs
  std::vector<std::string> evidence;
  std::vector<remedy> remedies;
};

/** One connection attempt the diagnosis made. */
struct route_attempt {
  std::uint16_t port = 0;
  std::string mode;     ///< "tls", "starttls", "plain"
  std::string profile;  ///< "strict", "compat", "legacy", or a follow-up probe ("probe:rsa-kx", …)
  bool ok = false;
  std::string code;         ///< cause code when it failed
  std::string detail;       ///< version and suite agreed, or the failure's summary
  std::string tls_version;  ///< when TLS came up: "TLSv1.3"
  std::string cipher;       ///< IANA name
  std::string kx;           ///< "ECDHE", "DHE", "RSA", "" (TLS 1.3)
};

struct diagnosis {
  std::string target;             ///< "host:port"
  bool ok = false;                ///< no finding of severity error
  std::vector<finding> findings;  ///< the main cause first
  std::vector<route_attempt> routes_tried;
  /** sysexits.h code of the main finding (0 when ok). */
  int exit_code() const noexcept;
};

/** sysexits.h code for a cause code: 77 TLS/mode/policy, 69 no connection, 75 transient, 76 protocol. */
int exit_code_for_cause(const std::string& code) noexcept;

}  // namespace postern::diagnose
