// The postern command line: each subcommand lives in its own file (*_command.cpp).
#include <iostream>

#include "common.hpp"
#include "postern/version.hpp"

int main(int argc, char** argv) {
  using namespace postern::cli;
  // Through a link named sendmail, or `postern -t -i ...`: the sendmail-compatible mode.
  if (is_sendmail_invocation(argc, argv)) return run_sendmail_mode(argc, argv);
  CLI::App app{"postern: SMTP submission over the strongest TLS the server accepts"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "postern " POSTERN_VERSION);
  std::vector<command> commands{add_send_command(app),        add_doctor_command(app),
                                add_tls_profile_command(app), add_probe_command(app),
                                add_accounts_command(app),    add_hosts_command(app),
                                add_bulk_command(app),        add_dkim_command(app),
                                add_watch_command(app),       add_queue_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : EX_USAGE;
  }
  try {
    for (auto& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const usage_error& e) {
    std::cerr << "postern: error [" << e.code << "]: " << e.text << "\n";
    return e.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "postern: error [internal]: " << e.what() << "\n";
    return EX_SOFTWARE;
  }
  return EX_USAGE;
}
