// postern probe: a TLS and SMTP profile of mail servers, with a client-compatibility matrix.
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "common.hpp"
#include "postern/probe/probe.hpp"

namespace postern::cli {
namespace {

struct probe_args {
  std::vector<std::string> targets;
  std::string ca_file, tls_name, html, ehlo, client_cert, client_key;
  double timeout = 0;
  unsigned jobs = 24;
  bool json = false;
  std::string proxy;
  bool proxy_from_env = false;
};

int run_probe(const probe_args& a) {
  probe::options o;
  for (const auto& t : a.targets) {
    auto [host, port] = split_server(t);
    if (host.empty()) throw usage_error{"usage", "empty host in " + t, EX_USAGE};
    o.targets.push_back({host, port});
  }
  if (a.jobs == 0) throw usage_error{"usage", "--jobs must be at least 1", EX_USAGE};
  if (a.timeout < 0) throw usage_error{"usage", "--timeout must be positive", EX_USAGE};
  if (!a.ca_file.empty() && !std::ifstream(a.ca_file))
    throw usage_error{"input", "cannot read --ca-file " + a.ca_file, EX_NOINPUT};
  o.ca_file = a.ca_file;
  o.tls_name = a.tls_name;
  o.client_cert = a.client_cert;
  o.client_key = a.client_key;
  if (auto p = probe::check_options(o)) throw usage_error{p->code, p->summary, p->exit_code};
  if (!a.ehlo.empty()) o.ehlo = a.ehlo;
  if (a.timeout > 0) o.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
  o.jobs = a.jobs;
  o.proxy = resolve_proxy(a.proxy, a.proxy_from_env);

  // A progress line on a terminal, when there is more than one port to wait for.
  const bool show = isatty(STDERR_FILENO) && (o.targets.size() > 1 || o.targets.front().port == 0);
  probe::progress progress;
  if (show)
    progress = [](std::size_t done, std::size_t total, const probe::target_report& t) {
      std::cerr << "\r\x1b[2Kprobe: " << done << "/" << total << " done (" << t.host << ":" << t.port << " "
                << probe::to_string(t.mode) << ")" << (done == total ? "\r\x1b[2K" : "") << std::flush;
    };
  auto report = probe::run(o, progress);

  if (!a.html.empty()) {
    std::ofstream f(a.html, std::ios::binary | std::ios::trunc);
    if (!f) throw usage_error{"input", "cannot write --html " + a.html, EX_CANTCREAT};
    f << probe::render_html(report);
  }
  if (a.json)
    std::cout << probe::render_json(report) << "\n";
  else
    std::cout << probe::render_text(report);
  return report.exit_code();
}

}  // namespace

command add_probe_command(CLI::App& app) {
  auto pa = std::make_shared<probe_args>();
  auto* cmd = app.add_subcommand("probe",
                                 "profile mail servers: modes, TLS versions, suites, groups, "
                                 "certificate chain, and which client families can connect");
  cmd->add_option("targets", pa->targets, "HOST[:PORT]... (a host alone: ports 465, 587 and 25)")->required();
  cmd->add_option("--ca-file", pa->ca_file, "PEM file of trusted roots (default: the system's)");
  cmd->add_option("--tls-name", pa->tls_name, "name to verify in the certificate and send as SNI");
  cmd->add_option("--client-cert", pa->client_cert,
                  "PEM client certificate to present when the server asks (may hold the key too)");
  cmd->add_option("--client-key", pa->client_key, "PEM private key of --client-cert");
  cmd->add_option("--timeout", pa->timeout, "seconds for each step of each connection (default 10)");
  cmd->add_option("--jobs", pa->jobs, "connections at once (default 24; well under Postfix's 50 per client)");
  add_proxy_options(*cmd, pa->proxy, pa->proxy_from_env);
  cmd->add_flag("--json", pa->json, "print one JSON object (schema: docs/probe.md)");
  cmd->add_option("--html", pa->html, "also write a self-contained HTML report to FILE");
  cmd->add_option("--ehlo", pa->ehlo, "EHLO name (default localhost)");
  return {cmd, [pa] { return run_probe(*pa); }};
}

}  // namespace postern::cli
