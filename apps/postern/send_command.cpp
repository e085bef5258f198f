// postern send: one or more messages over one connection.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "common.hpp"
#include "postern/diagnose/doctor.hpp"
#include "postern/mime/message.hpp"
#include "postern/plan/host_memory.hpp"
#include "postern/plan/router.hpp"
#include "postern/send/send.hpp"
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

// Findings worth a follow-up investigation after a failed send: the connection-level ones.
bool worth_diagnosing(const std::string& code) {
  return code.rfind("tls.", 0) == 0 || code.rfind("mode.", 0) == 0 || code == "net.greeting-timeout" ||
         code == "smtp.starttls-missing" || code == "smtp.starttls-required";
}

json to_json(const send::report& r) {
  json j;
  j["ok"] = r.ok;
  j["server"] = r.host;
  j["port"] = r.port;
  j["address"] = r.address;
  j["mode"] = send::to_string(r.mode);
  if (r.tls) {
    j["tls"] = {{"profile", r.tls->profile},
                {"version", r.tls->version},
                {"cipher", r.tls->cipher},
                {"kx", r.tls->kx},
                {"group", r.tls->group},
                {"peer_subject", r.tls->peer_subject},
                {"peer_issuer", r.tls->peer_issuer},
                {"peer_not_after", r.tls->peer_not_after},
                {"peer_key_sha256", r.tls->peer_key_sha256}};
  } else {
    j["tls"] = nullptr;
  }
  j["auth_mechanism"] = r.auth_mechanism ? json(*r.auth_mechanism) : json(nullptr);
  j["messages"] = json::array();
  for (const auto& m : r.messages) {
    json jm{{"size", m.size}, {"delivered", m.delivered}, {"reply", m.reply}};
    jm["recipients"] = json::array();
    for (const auto& rr : m.recipients)
      jm["recipients"].push_back({{"address", rr.address}, {"accepted", rr.accepted}, {"reply", rr.reply}});
    jm["error"] =
        m.error ? json{{"code", m.error->code}, {"summary", m.error->summary}, {"detail", m.error->detail}}
                : json(nullptr);
    j["messages"].push_back(jm);
  }
  j["error"] = r.error
                   ? json{{"code", r.error->code}, {"summary", r.error->summary}, {"detail", r.error->detail}}
                   : json(nullptr);
  j["exit_code"] = r.exit_code;
  return j;
}

void print_transcript(const send::report& r) {
  for (const auto& e : r.transcript) {
    const char* tag = e.from == smtp::transcript_event::who::client   ? "> "
                      : e.from == smtp::transcript_event::who::server ? "< "
                                                                      : "* ";
    std::cerr << tag << e.text << "\n";
  }
}

}  // namespace

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : sep) + x;
  return out;
}

plan::route_facts facts_of(const std::string& host, std::uint16_t port, net::mode m,
                           const send::tls_report& t) {
  plan::route_facts f;
  f.host = host;
  f.port = port;
  f.mode = net::to_string(m);
  f.profile = t.profile;
  f.tls_version = t.version;
  f.cipher = t.cipher;
  f.kx = t.kx;
  f.group = t.group;
  f.issuer = t.peer_issuer;
  f.key_sha256 = t.peer_key_sha256;
  return f;
}

std::string describe_known(const plan::route_facts& k) {
  return std::to_string(k.port) + "/" + k.mode + ", profile " + k.profile + ", " + k.tls_version + " " +
         k.cipher + (k.issuer.empty() ? "" : ", issuer " + k.issuer);
}

// The failures that mean "this route does not work", as opposed to "the server refused the mail".
bool connection_level(const send::report& r) {
  if (!r.error) return false;
  const auto& c = r.error->code;
  return c.rfind("tls.", 0) == 0 || c.rfind("mode.", 0) == 0 || c.rfind("net.", 0) == 0 ||
         c == "smtp.starttls-missing" || c == "smtp.starttls-required" || c == "smtp.bad-reply" ||
         c == "smtp.reply-too-long";
}

net::mode conventional_mode(std::uint16_t port) {
  return port == 465 ? net::mode::implicit_tls : net::mode::starttls;
}

struct route_info {
  bool automatic = false;
  bool from_memory = false;
  std::string reason;
  std::vector<diagnose::route_attempt> tried;
};

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

  send::options o;
  std::uint16_t given_port = 0;
  std::tie(o.host, given_port) = split_server(a.server);
  o.port = given_port;
  o.mode = a.tls ? send::mode::implicit_tls : a.starttls ? send::mode::starttls : send::mode::plain;
  o.tls_profile = a.profile;
  o.ca_file = a.ca_file;
  o.tls_name = a.tls_name;
  o.insecure = a.insecure;
  o.ehlo_domain = a.ehlo;
  if (a.timeout > 0)
    o.timeouts = send::timeouts::all(std::chrono::milliseconds(static_cast<long>(a.timeout * 1000)));
  if (!a.user.empty()) {
    o.auth =
        send::auth_options{a.user, read_secret(a), a.auth.empty() ? std::nullopt : std::optional(a.auth)};
    // Refuse before connecting: credentials never travel in clear text by accident.
    if (!auto_route && o.mode == send::mode::plain && !a.allow_plaintext_auth)
      throw usage_error{"smtp.auth-needs-tls",
                        "refusing to send credentials over a plaintext connection; use --tls or --starttls "
                        "(or --allow-plaintext-auth if you really mean it)",
                        EX_NOPERM};
  }
  o.allow_plaintext_auth = a.allow_plaintext_auth;
  o.proxy = resolve_proxy(a.proxy, a.proxy_from_env);
  const auto other_ports = a.ports.empty() ? std::vector<std::uint16_t>{} : parse_ports(a.ports);
  auto messages = build_messages(a);

  // Host memory: the strongest route that worked for this host, and the downgrade check.
  std::unique_ptr<plan::host_memory> memory;
  try {
    memory = std::make_unique<plan::host_memory>(a.state_file.empty() ? plan::host_memory::default_path()
                                                                      : a.state_file);
  } catch (const std::exception& e) {
    if (!a.state_file.empty()) throw usage_error{"config", e.what(), EX_CANTCREAT};
    std::cerr << "postern: warning: no host memory, downgrades cannot be detected: " << e.what() << "\n";
  }
  const std::optional<plan::route_facts> known = memory ? memory->lookup(o.host) : std::nullopt;
  o.check_tls = [&](const send::tls_report& t) -> std::optional<send::failure> {
    if (!known || a.accept_downgrade) return std::nullopt;
    auto reasons = plan::downgrade_reasons(
        *known, facts_of(o.host, o.port ? o.port : net::default_port(o.mode), o.mode, t));
    if (reasons.empty()) return std::nullopt;
    return send::failure{"plan.downgrade",
                         "possible downgrade attack on " + o.host + ": " + join(reasons, "; ") +
                             ". Refused. If the server really changed, run `postern hosts forget " + o.host +
                             "` or send again with --accept-downgrade",
                         "remembered: " + describe_known(*known)};
  };

  route_info route;
  route.automatic = auto_route;
  send::report r;
  std::optional<diagnose::diagnosis> diag;
  if (!auto_route) {
    r = send::send(o, messages);
  } else {
    bool done = false;
    // 1. The remembered route, first and alone: one connection, no probing.
    // Only where the user would route anyway: the given port, or one of --ports.
    const bool known_in_scope =
        known && (given_port ? given_port == known->port
                             : other_ports.empty() || std::find(other_ports.begin(), other_ports.end(),
                                                                known->port) != other_ports.end());
    if (known_in_scope && (known->profile == "strict" ||
                           std::find(a.allow.begin(), a.allow.end(), known->profile) != a.allow.end())) {
      o.port = known->port;
      o.mode = known->mode == "tls" ? net::mode::implicit_tls : net::mode::starttls;
      o.tls_profile = known->profile;
      route.from_memory = true;
      route.reason = "the route remembered for " + o.host + " (" + describe_known(*known) + ")";
      r = send::send(o, messages);
      done = r.ok || !connection_level(r) || r.error->code == "plan.downgrade";
      if (!done && known->mode == "starttls" && r.error->code == "smtp.starttls-missing") {
        // Where STARTTLS was offered before, its absence is what a stripping attacker causes.
        r.error = send::failure{"plan.downgrade",
                                "possible downgrade attack on " + o.host +
                                    ": STARTTLS is no longer offered on port " + std::to_string(o.port) +
                                    " where it was. Refused. If the server really changed, "
                                    "run `postern hosts forget " +
                                    o.host + "`",
                                "remembered: " + describe_known(*known)};
        r.exit_code = EX_NOPERM;
        done = true;
      }
      if (!done)
        std::cerr << "postern: the remembered route failed [" << r.error->code << "]; looking for another\n";
    }
    // 2. Secure-first routing.
    if (!done) {
      plan::route_request q;
      q.base.host = o.host;
      q.base.port = given_port;
      q.base.ca_file = o.ca_file;
      q.base.tls_name = o.tls_name;
      q.base.ehlo_domain = o.ehlo_domain;
      q.base.proxy = o.proxy;
      if (a.timeout > 0) q.base.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
      if (!other_ports.empty()) q.base.other_ports = other_ports;
      q.allow = a.allow;
      auto c = plan::choose_route(q);
      route.tried = c.tried;
      route.from_memory = false;
      route.reason = c.reason;
      if (c.ok) {
        o.port = c.port;
        o.mode = c.mode;
        o.tls_profile = c.profile;
        r = send::send(o, messages);
      } else {
        // Nothing qualifies: say why, with the doctor's findings and remedies.
        diagnose::target t = q.base;
        t.port = given_port ? given_port : (q.base.other_ports.empty() ? 587 : q.base.other_ports.front());
        t.mode = conventional_mode(t.port);
        // Explain the route that got furthest: one whose TLS handshake itself failed.
        for (const auto& tr : c.tried)
          if (tr.code.rfind("tls.", 0) == 0) {
            t.port = tr.port;
            t.mode = tr.mode == "tls" ? net::mode::implicit_tls : net::mode::starttls;
            break;
          }
        diag = diagnose::run(t);
        r.host = o.host;
        r.port = t.port;
        r.mode = t.mode;
        const auto* main = diag->findings.empty() ? nullptr : &diag->findings.front();
        r.error = send::failure{main ? main->code : "net.closed", main ? main->summary : "no route qualifies",
                                c.reason};
        r.exit_code = diag->exit_code() ? diag->exit_code() : EX_UNAVAILABLE;
      }
    }
  }
  if (a.verbose) print_transcript(r);
  if (!diag && !r.ok && r.error && worth_diagnosing(r.error->code)) {
    diagnose::target t{o.host, r.port, r.mode, o.ca_file, o.tls_name, o.ehlo_domain};
    t.proxy = o.proxy;
    if (a.timeout > 0) t.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
    // send looks at other ports only when asked (--ports); doctor looks by default.
    t.other_ports = other_ports;
    diag = diagnose::run(t);
    // The diagnosis names the precise cause of what send saw as a generic failure.
    if (!diag->findings.empty() && diag->findings.front().code != r.error->code) {
      r.error->detail =
          r.error->code + ": " + r.error->summary + (r.error->detail.empty() ? "" : "; " + r.error->detail);
      r.error->code = diag->findings.front().code;
      r.error->summary = diag->findings.front().summary;
      r.exit_code = diagnose::exit_code_for_cause(r.error->code);
    }
  }
  // Remember what worked (a weaker route only when the user accepted it).
  if (r.ok && r.tls && memory) {
    try {
      memory->record(facts_of(o.host, r.port, r.mode, *r.tls), a.accept_downgrade);
    } catch (const std::exception& e) {
      std::cerr << "postern: warning: could not update the host memory: " << e.what() << "\n";
    }
  }
  if (a.json) {
    auto j = to_json(r);
    j["findings"] = diag ? findings_json(diag->findings) : json::array();
    if (route.automatic) {
      json tried = json::array();
      for (const auto& t : route.tried)
        tried.push_back({{"port", t.port},
                         {"mode", t.mode},
                         {"profile", t.profile},
                         {"result", t.ok ? "ok" : "failed"},
                         {"code", t.code}});
      j["route"] = {{"automatic", true},
                    {"from_memory", route.from_memory},
                    {"port", r.port},
                    {"mode", net::to_string(r.mode)},
                    {"profile", r.tls ? r.tls->profile : o.tls_profile},
                    {"reason", route.reason},
                    {"tried", tried}};
    } else {
      j["route"] = {{"automatic", false},       {"from_memory", false},
                    {"port", r.port},           {"mode", net::to_string(r.mode)},
                    {"profile", o.tls_profile}, {"reason", "given on the command line"},
                    {"tried", json::array()}};
    }
    std::cout << j.dump(2) << "\n";
  }
  if (r.ok) {
    if (!a.json) {
      if (route.automatic)
        std::cout << "postern: route " << r.host << ":" << r.port << " " << net::to_string(r.mode)
                  << ", profile " << (r.tls ? r.tls->profile : o.tls_profile) << ": " << route.reason << "\n";
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
  if (diag && !diag->findings.empty() && !a.json) {
    std::cerr << "postern: what to do, safest first (postern doctor " << diag->target
              << " for the whole story):\n";
    std::vector<diagnose::finding> first{diag->findings.front()};
    print_findings(std::cerr, first, true);
  }
  return r.exit_code ? r.exit_code : EX_SOFTWARE;
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
  auto acct = add_account_options(*send_cmd);
  return {send_cmd, [a, send_cmd, acct] {
            a->have_subject = send_cmd->count("--subject") > 0;
            a->have_text = send_cmd->count("--text") > 0;
            apply_account_options(*acct, *send_cmd, *a);
            return run_send(*a);
          }};
}

}  // namespace postern::cli
