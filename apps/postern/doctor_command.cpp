// postern doctor: the real cause of a connection failure, and the safest fix.
#include <iostream>

#include "common.hpp"
#include "postern/diagnose/doctor.hpp"
#include "postern/net/mode.hpp"

namespace postern::cli {
namespace {

json diagnosis_json(const diagnose::diagnosis& d) {
  json routes = json::array();
  for (const auto& r : d.routes_tried)
    routes.push_back({{"port", r.port},
                      {"mode", r.mode},
                      {"profile", r.profile},
                      {"result", r.ok ? "ok" : "failed"},
                      {"code", r.code},
                      {"detail", r.detail}});
  return {
      {"target", d.target}, {"ok", d.ok}, {"findings", findings_json(d.findings)}, {"routes_tried", routes}};
}

struct doctor_args {
  std::string target;
  bool tls = false, starttls = false, plain = false;
  std::string ca_file, tls_name, ports, ehlo, client_cert, client_key;
  double timeout = 0;
  bool json = false;
  std::string proxy;
  bool proxy_from_env = false;
};

int run_doctor(const doctor_args& a) {
  if (a.tls + a.starttls + a.plain > 1)
    throw usage_error{"usage", "choose at most one of --tls, --starttls, --plain", EX_USAGE};
  diagnose::target t;
  std::tie(t.host, t.port) = split_server(a.target);
  if (a.tls)
    t.mode = net::mode::implicit_tls;
  else if (a.plain)
    t.mode = net::mode::plain;
  else if (a.starttls)
    t.mode = net::mode::starttls;
  else
    t.mode = t.port == 465 ? net::mode::implicit_tls : net::mode::starttls;
  if (t.port == 0) t.port = net::default_port(t.mode);
  t.ca_file = a.ca_file;
  t.tls_name = a.tls_name;
  t.client_cert = a.client_cert;
  t.client_key = a.client_key;
  t.ehlo_domain = a.ehlo;
  if (a.timeout > 0) t.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
  if (!a.ports.empty()) t.other_ports = parse_ports(a.ports);
  t.proxy = resolve_proxy(a.proxy, a.proxy_from_env);
  if (auto p = diagnose::check_target(t)) throw usage_error{p->code, p->summary, p->exit_code};
  auto d = diagnose::run(t);
  if (a.json) {
    std::cout << diagnosis_json(d).dump(2) << "\n";
    return d.exit_code();
  }
  if (d.ok) {
    std::string how = d.routes_tried.empty() ? "" : d.routes_tried.front().detail;
    std::cout << "postern doctor: " << d.target << " is healthy over " << net::to_string(t.mode)
              << " with the strict profile (" << how << ")\n";
  } else {
    std::cout << "postern doctor: " << d.target << " (" << net::to_string(t.mode)
              << "): " << d.findings.size() << (d.findings.size() == 1 ? " problem" : " problems") << "\n";
    print_findings(std::cout, d.findings, false);
  }
  std::cout << "routes tried:\n";
  for (const auto& r : d.routes_tried)
    std::cout << "    " << r.port << "/" << r.mode << " " << r.profile << ": "
              << (r.ok ? "ok" : "failed [" + r.code + "]") << (r.detail.empty() ? "" : " " + r.detail)
              << "\n";
  return d.exit_code();
}

}  // namespace

command add_doctor_command(CLI::App& app) {
  auto da = std::make_shared<doctor_args>();
  auto* doctor_cmd =
      app.add_subcommand("doctor", "find the real cause of a connection failure, and the safest fix");
  doctor_cmd->add_option("target", da->target, "HOST[:PORT]")->required();
  doctor_cmd->add_flag("--tls", da->tls, "you meant implicit TLS on PORT");
  doctor_cmd->add_flag("--starttls", da->starttls, "you meant STARTTLS on PORT");
  doctor_cmd->add_flag("--plain", da->plain, "you meant plain SMTP on PORT");
  doctor_cmd->add_option("--ca-file", da->ca_file, "PEM file of trusted roots");
  doctor_cmd->add_option("--tls-name", da->tls_name, "name to verify in the certificate");
  doctor_cmd->add_option("--client-cert", da->client_cert,
                         "PEM client certificate to present when the server asks (may hold the key too)");
  doctor_cmd->add_option("--client-key", da->client_key, "PEM private key of --client-cert");
  doctor_cmd->add_option("--timeout", da->timeout, "seconds for each step of each attempt (default 10)");
  doctor_cmd->add_option("--ports", da->ports,
                         "other ports to look for secure alternatives (default 465,587,25)");
  doctor_cmd->add_option("--ehlo", da->ehlo, "EHLO name");
  add_proxy_options(*doctor_cmd, da->proxy, da->proxy_from_env);
  doctor_cmd->add_flag("--json", da->json, "print one JSON object");
  return {doctor_cmd, [da] { return run_doctor(*da); }};
}

}  // namespace postern::cli
