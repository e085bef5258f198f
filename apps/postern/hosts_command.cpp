// postern hosts: what the host memory knows, one line per service (host, port, mode), and
// forgetting a host or one of its ports (to accept a change).
#include <ctime>
#include <iostream>

#include "common.hpp"
#include "postern/plan/host_memory.hpp"

namespace postern::cli {

command add_hosts_command(CLI::App& app) {
  struct args {
    std::string state, host;
    bool json = false;
  };
  auto a = std::make_shared<args>();
  auto* hosts = app.add_subcommand("hosts", "list what postern remembers per service; forget a host");
  hosts->add_option("--state", a->state, "host memory file (default $XDG_STATE_HOME/postern/hosts.sqlite)");
  hosts->add_flag("--json", a->json, "print a JSON array");
  auto* list = hosts->add_subcommand("list", "list remembered services, one per line (the default)");
  auto* forget = hosts->add_subcommand(
      "forget",
      "forget a host (all its services), or HOST:PORT (that port): the next route there is accepted as new");
  forget->add_option("host", a->host, "HOST or HOST:PORT, the host name as given to --server")->required();
  (void)list;
  return {hosts, [a, forget] {
            const std::string path = a->state.empty() ? plan::host_memory::default_path() : a->state;
            std::unique_ptr<plan::host_memory> m;
            try {
              m = std::make_unique<plan::host_memory>(path);
            } catch (const std::exception& e) {
              throw usage_error{"config", e.what(), EX_CANTCREAT};
            }
            if (forget->parsed()) {
              const auto [host, port] = split_server(a->host);
              const auto n = m->forget(host, port);
              if (!n) {
                std::cerr << "postern: " << a->host << " was not known (" << path << ")\n";
                return static_cast<int>(EX_NOINPUT);
              }
              std::cout << "postern: forgot " << a->host << " (" << n << (n == 1 ? " service" : " services")
                        << "); its next route is accepted as new\n";
              return 0;
            }
            const auto all = m->list();
            if (a->json) {
              json arr = json::array();
              for (const auto& r : all)
                arr.push_back({{"host", r.host},
                               {"port", r.port},
                               {"mode", r.mode},
                               {"profile", r.profile},
                               {"tls_version", r.tls_version},
                               {"cipher", r.cipher},
                               {"kx", r.kx},
                               {"group", r.group},
                               {"issuer", r.issuer},
                               {"key_sha256", r.key_sha256},
                               {"seen_at", r.seen_at}});
              std::cout << arr.dump(2) << "\n";
              return 0;
            }
            if (all.empty()) std::cout << "postern: no host remembered yet (" << path << ")\n";
            // One line per service; a host's strongest service first.
            for (const auto& r : all) {
              char when[32] = "";
              std::time_t t = static_cast<std::time_t>(r.seen_at);
              std::strftime(when, sizeof when, "%Y-%m-%d %H:%M", std::gmtime(&t));
              std::cout << r.host << "  " << r.port << "/" << r.mode << "  profile " << r.profile << "  "
                        << r.tls_version << " " << r.cipher << (r.kx.empty() ? "" : " (" + r.kx + ")")
                        << "  issuer " << r.issuer << "  since " << when << " UTC\n";
            }
            return 0;
          }};
}

}  // namespace postern::cli
