// What `postern send` and `postern bulk` share: the server, route, TLS, auth, proxy and memory
// options, and the library request they make.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "common.hpp"
#include "postern/queue/delivery.hpp"
#include "postern/tls/policy.hpp"

namespace postern::cli {
namespace {

std::string first_line(std::string s) {
  auto end = s.find_first_of("\r\n");
  if (end != std::string::npos) s.resize(end);
  return s;
}

std::string read_secret(const send_args& a) {
  if (!a.password_file.empty()) {
    std::ifstream f(a.password_file, std::ios::binary);
    if (!f) throw usage_error{"input", "cannot read --password-file " + a.password_file, EX_NOINPUT};
    return first_line(read_stream(f));
  }
  if (!a.password_command.empty()) {
    FILE* p = ::popen(a.password_command.c_str(), "r");
    if (!p) throw usage_error{"input", "cannot run --password-command", EX_OSERR};
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    int status = ::pclose(p);
    if (status != 0)
      throw usage_error{"input", "--password-command exited with status " + std::to_string(status >> 8),
                        EX_CONFIG};
    return first_line(out);
  }
  if (const char* env = std::getenv("POSTERN_PASSWORD")) return env;
  throw usage_error{
      "usage", "--user needs a password: --password-file, --password-command or POSTERN_PASSWORD", EX_USAGE};
}

}  // namespace

void add_connection_options(CLI::App& cmd, send_args& a_) {
  send_args* a = &a_;
  cmd.add_option("--server", a->server, "HOST[:PORT] (or from --account / the default account)");
  cmd.add_flag("--tls", a->tls, "implicit TLS (port 465 style)");
  cmd.add_flag("--starttls", a->starttls, "plain connection upgraded with STARTTLS (587/25)");
  cmd.add_flag("--plain", a->plain, "no TLS at all (never a fallback)");
  cmd.add_flag("--auto", a->auto_route, "choose the route (the default when no mode is given)");
  cmd.add_option("--allow", a->allow, "weaker TLS profile automatic routing may use: compat or legacy")
      ->allow_extra_args(false);
  cmd.add_option("--state", a->state_file, "host memory file (default $XDG_STATE_HOME/postern/hosts.sqlite)");
  cmd.add_flag("--accept-downgrade", a->accept_downgrade, "accept a route weaker than the one remembered");
  cmd.add_option("--tls-profile", a->profile, "strict (default), compat or legacy");
  cmd.add_option("--ca-file", a->ca_file, "PEM file of trusted roots instead of the system's");
  cmd.add_option("--tls-name", a->tls_name, "name to verify in the certificate (when connecting by address)");
  cmd.add_option("--client-cert", a->client_cert,
                 "PEM client certificate to present when the server asks (may hold the key too)");
  cmd.add_option("--client-key", a->client_key, "PEM private key of --client-cert");
  cmd.add_flag("--insecure", a->insecure, "do not verify the certificate (explicit, never implied)");
  cmd.add_option("--timeout", a->timeout, "seconds allowed for each step (connect, greeting, each command)");
  cmd.add_option("--user", a->user, "SMTP AUTH user");
  cmd.add_option("--password-file", a->password_file, "file whose first line is the password");
  cmd.add_option("--password-command", a->password_command, "command that prints the password");
  cmd.add_option("--auth", a->auth, "force a SASL mechanism");
  cmd.add_flag("--allow-plaintext-auth", a->allow_plaintext_auth, "allow AUTH without TLS");
  cmd.add_option("--ehlo", a->ehlo, "EHLO name");
  cmd.add_option("--ports", a->ports,
                 "ports automatic routing tries (default 465,587,25); with a mode, where to look for "
                 "alternatives when it fails");
  add_proxy_options(cmd, a->proxy, a->proxy_from_env);
  cmd.add_flag("-v,--verbose", a->verbose, "print the SMTP transcript (credentials redacted)");
}

client::request make_request(const send_args& a) {
  const int modes = a.tls + a.starttls + a.plain;
  if (modes > 1) throw usage_error{"usage", "choose at most one of --tls, --starttls, --plain", EX_USAGE};
  if (a.auto_route && modes)
    throw usage_error{"usage", "--auto chooses the mode itself: drop --tls/--starttls/--plain", EX_USAGE};
  const bool auto_route = modes == 0;
  if (a.insecure && a.plain) throw usage_error{"usage", "--insecure makes no sense with --plain", EX_USAGE};
  for (const auto& p : a.allow)
    if (p != "compat" && p != "legacy")
      throw usage_error{"usage", "--allow takes compat or legacy, not '" + p + "'", EX_USAGE};
  if (!tls::profile(a.profile)) throw usage_error{"usage", "unknown --tls-profile " + a.profile, EX_USAGE};
  if (auto_route && a.profile != "strict")
    throw usage_error{
        "usage",
        "--tls-profile names the profile for an explicit --tls or --starttls; automatic routing uses "
        "strict, and weaker profiles only as --allow permits",
        EX_USAGE};
  if (!auto_route && !a.allow.empty())
    throw usage_error{"usage", "--allow is for automatic routing; with --tls/--starttls use --tls-profile",
                      EX_USAGE};

  client::request q;
  std::tie(q.host, q.port) = split_server(a.server);
  q.route.automatic = auto_route;
  q.route.mode = a.tls ? net::mode::implicit_tls : a.starttls ? net::mode::starttls : net::mode::plain;
  q.route.profile = a.profile;
  q.route.allow = a.allow;
  if (!a.ports.empty()) q.route.ports = parse_ports(a.ports);
  q.tls.ca_file = a.ca_file;
  q.tls.tls_name = a.tls_name;
  q.tls.insecure = a.insecure;
  q.tls.client_cert = a.client_cert;
  q.tls.client_key = a.client_key;
  q.ehlo_domain = a.ehlo;
  if (a.timeout > 0) q.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
  if (send::is_external(a.auth)) {
    q.auth = client::auth_options{};  // the client certificate is the credential
    q.auth->user = a.user;
    q.auth->mechanism = a.auth;
  } else if (!a.user.empty()) {
    // Read before connecting: a broken password source fails before anything is sent.
    q.auth = client::auth_options{};
    q.auth->user = a.user;
    // Queued without trying (queue always): the worker reads the secret when it delivers.
    if (a.queue_mode != "always") q.auth->secret = read_secret(a);
    if (!a.auth.empty()) q.auth->mechanism = a.auth;
    // Refuse before connecting: credentials never travel in clear text by accident.
    if (!auto_route && q.route.mode == net::mode::plain && !a.allow_plaintext_auth)
      throw usage_error{"smtp.auth-needs-tls",
                        "refusing to send credentials over a plaintext connection; use --tls or --starttls "
                        "(or --allow-plaintext-auth if you really mean it)",
                        EX_NOPERM};
    q.auth->allow_plaintext = a.allow_plaintext_auth;
  }
  q.proxy = resolve_proxy(a.proxy, a.proxy_from_env);
  q.memory.path = a.state_file;
  q.memory.accept_downgrade = a.accept_downgrade;
  return q;
}

std::string delivery_json(const client::request& q, const send_args& a) {
  queue::secret_source secret;
  if (q.auth && !send::is_external(a.auth)) {
    if (!a.password_file.empty())
      secret.file = a.password_file;
    else if (!a.password_command.empty())
      secret.command = a.password_command;
    else
      secret.environment = "POSTERN_PASSWORD";
  }
  return queue::to_delivery_json(q, secret);
}

}  // namespace postern::cli
