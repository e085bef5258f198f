// postern send: one or more messages over one connection.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "common.hpp"
#include "postern/client/submit.hpp"
#include "postern/mime/message.hpp"
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

std::vector<send::message> build_messages(const send_args& a) {
  smtp::envelope env{a.from, a.to};
  std::vector<send::message> out;
  if (a.have_text || a.have_subject) {
    if (!a.files.empty())
      throw usage_error{"usage", "give either FILE or --subject/--text, not both", EX_USAGE};
    mime::simple_message m;
    m.from = a.from;
    m.to = a.to;
    m.subject = a.subject;
    m.text = a.text;
    out.push_back({env, mime::build(m)});
    return out;
  }
  if (a.message_data) {
    if (a.message_data->empty()) throw usage_error{"input", "the message is empty", EX_DATAERR};
    out.push_back({env, *a.message_data});
    return out;
  }
  std::vector<std::string> files = a.files;
  if (files.empty()) files.push_back("-");
  for (const auto& f : files) {
    std::string content;
    if (f == "-") {
      content = read_stream(std::cin);
    } else {
      std::ifstream in(f, std::ios::binary);
      if (!in) throw usage_error{"input", "cannot read message file " + f, EX_NOINPUT};
      content = read_stream(in);
    }
    if (content.empty()) throw usage_error{"input", "the message " + f + " is empty", EX_DATAERR};
    out.push_back({env, std::move(content)});
  }
  return out;
}

void print_transcript_event(const smtp::transcript_event& e) {
  const char* tag = e.from == smtp::transcript_event::who::client   ? "> "
                    : e.from == smtp::transcript_event::who::server ? "< "
                                                                    : "* ";
  std::cerr << tag << e.text << "\n";
}

}  // namespace

int run_send(const send_args& a) {
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
    q.auth->secret = read_secret(a);
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
  q.dkim = dkim_options_of(a);  // DKIM: signed by client::submit before connecting
  q.messages = build_messages(a);
  // Warnings and notes as they arise, as `postern send` always printed them.
  q.on_finding = [](const diagnose::finding& f) {
    if (f.severity == diagnose::severity::warning)
      std::cerr << "postern: warning: " << f.summary << "\n";
    else
      std::cerr << "postern: " << f.summary << "\n";
  };

  const client::report rep = client::submit(q);
  const send::report& r = rep.delivery;
  if (a.verbose)
    for (const auto& e : r.transcript) print_transcript_event(e);
  // Problems found before connecting (a client certificate that does not load, the host memory
  // given with --state that cannot be used) print as every usage error does.
  if (r.error && (r.error->code == "usage" || r.error->code == "input" || r.error->code == "config"))
    throw usage_error{r.error->code, r.error->summary, rep.exit_code()};
  if (a.json) std::cout << client::to_json(rep) << "\n";
  if (r.ok) {
    if (!a.json) {
      if (rep.route.automatic)
        std::cout << "postern: route " << r.host << ":" << r.port << " " << net::to_string(r.mode)
                  << ", profile " << rep.route.profile << ": " << rep.route.reason << "\n";
      for (const auto& m : r.messages)
        std::cout << "postern: sent " << m.size << " octets to " << r.host << ":" << r.port << " ("
                  << send::to_string(r.mode)
                  << (r.tls ? ", " + r.tls->version + " " + r.tls->cipher + ", profile " + r.tls->profile
                            : "")
                  << "): " << m.reply << "\n";
      // A weaker profile is never silent: say what it gave up, every time.
      if (r.tls && r.tls->profile != "strict")
        if (const auto* p = tls::profile(r.tls->profile); p && !p->security_note.empty())
          std::cout << "postern: note: TLS profile " << p->name << " (key exchange "
                    << (r.tls->kx.empty() ? "ECDHE" : r.tls->kx) << "): " << p->security_note << "\n";
    }
    return 0;
  }
  if (r.error) {
    std::cerr << "postern: error [" << r.error->code << "]: " << r.error->summary << "\n";
    if (!r.error->detail.empty() && r.error->detail != r.error->summary) {
      std::string d = r.error->detail;
      for (std::size_t at = 0; (at = d.find('\n', at)) != std::string::npos; at += 2)
        d.replace(at, 1, "\n  ");
      std::cerr << "  evidence: " << d << "\n";
    }
  }
  for (const auto& m : r.messages)
    if (m.delivered && m.error)
      std::cerr << "postern: the message was delivered to the accepted recipients\n";
  if (!rep.diagnosed_target.empty() && !rep.findings.empty() && !a.json) {
    std::cerr << "postern: what to do, safest first (postern doctor " << rep.diagnosed_target
              << " for the whole story):\n";
    std::vector<diagnose::finding> first{rep.findings.front()};
    print_findings(std::cerr, first, true);
  }
  return rep.exit_code();
}

command add_send_command(CLI::App& app) {
  auto a = std::make_shared<send_args>();
  auto* send_cmd = app.add_subcommand("send", "send a message");
  send_cmd->add_option("--server", a->server, "HOST[:PORT] (or from --account / the default account)");
  send_cmd->add_flag("--tls", a->tls, "implicit TLS (port 465 style)");
  send_cmd->add_flag("--starttls", a->starttls, "plain connection upgraded with STARTTLS (587/25)");
  send_cmd->add_flag("--plain", a->plain, "no TLS at all (never a fallback)");
  send_cmd->add_flag("--auto", a->auto_route, "choose the route (the default when no mode is given)");
  send_cmd->add_option("--allow", a->allow, "weaker TLS profile automatic routing may use: compat or legacy")
      ->allow_extra_args(false);
  send_cmd->add_option("--state", a->state_file,
                       "host memory file (default $XDG_STATE_HOME/postern/hosts.sqlite)");
  send_cmd->add_flag("--accept-downgrade", a->accept_downgrade,
                     "accept a route weaker than the one remembered");
  send_cmd->add_option("--tls-profile", a->profile, "strict (default), compat or legacy");
  send_cmd->add_option("--from", a->from, "envelope sender (or the account's from)");
  send_cmd->add_option("--to", a->to, "recipient (repeatable)")->required()->allow_extra_args(false);
  send_cmd->add_option("--subject", a->subject, "build a simple message with this subject");
  send_cmd->add_option("--text", a->text, "build a simple message with this body");
  send_cmd->add_option("files", a->files, "RFC 5322 message files ('-' for stdin), sent over one connection");
  send_cmd->add_option("--ca-file", a->ca_file, "PEM file of trusted roots instead of the system's");
  send_cmd->add_option("--tls-name", a->tls_name,
                       "name to verify in the certificate (when connecting by address)");
  send_cmd->add_option("--client-cert", a->client_cert,
                       "PEM client certificate to present when the server asks (may hold the key too)");
  send_cmd->add_option("--client-key", a->client_key, "PEM private key of --client-cert");
  send_cmd->add_flag("--insecure", a->insecure, "do not verify the certificate (explicit, never implied)");
  send_cmd->add_option("--timeout", a->timeout,
                       "seconds allowed for each step (connect, greeting, each command)");
  send_cmd->add_option("--user", a->user, "SMTP AUTH user");
  send_cmd->add_option("--password-file", a->password_file, "file whose first line is the password");
  send_cmd->add_option("--password-command", a->password_command, "command that prints the password");
  send_cmd->add_option("--auth", a->auth, "force a SASL mechanism");
  send_cmd->add_flag("--allow-plaintext-auth", a->allow_plaintext_auth, "allow AUTH without TLS");
  send_cmd->add_option("--ehlo", a->ehlo, "EHLO name");
  send_cmd->add_option("--ports", a->ports,
                       "ports automatic routing tries (default 465,587,25); with a mode, where to look for "
                       "alternatives when it fails");
  add_proxy_options(*send_cmd, a->proxy, a->proxy_from_env);
  send_cmd->add_flag("--json", a->json, "print one JSON result object");
  send_cmd->add_flag("-v,--verbose", a->verbose, "print the SMTP transcript (credentials redacted)");
  add_dkim_options(*send_cmd, *a);
  auto acct = add_account_options(*send_cmd);
  return {send_cmd, [a, send_cmd, acct] {
            a->have_subject = send_cmd->count("--subject") > 0;
            a->have_text = send_cmd->count("--text") > 0;
            apply_account_options(*acct, *send_cmd, *a);
            return run_send(*a);
          }};
}

}  // namespace postern::cli
