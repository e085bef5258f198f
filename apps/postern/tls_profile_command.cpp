// postern tls-profile: the named TLS profiles, exactly.
#include <iostream>

#include "common.hpp"
#include "postern/tls/policy.hpp"

namespace postern::cli {

command add_tls_profile_command(CLI::App& app) {
  auto* prof_cmd = app.add_subcommand("tls-profile", "show the TLS profiles");
  prof_cmd->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto* show_cmd = prof_cmd->add_subcommand("show", "print a profile");
  show_cmd->add_option("name", *name, "strict, compat or legacy")->required();
  auto* list_cmd = prof_cmd->add_subcommand("list", "list profile names");
  return {prof_cmd, [name, show_cmd, list_cmd] {
            if (list_cmd->parsed()) {
              for (const auto& n : tls::profile_names()) std::cout << n << "\n";
              return 0;
            }
            if (show_cmd->parsed()) {
              const auto* p = tls::profile(*name);
              if (!p) throw usage_error{"usage", "unknown profile " + *name, EX_USAGE};
              std::cout << p->to_text();
              return 0;
            }
            return static_cast<int>(EX_USAGE);
          }};
}

}  // namespace postern::cli
