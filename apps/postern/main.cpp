// The postern command line. Uses only the public headers of the library.
#include <sysexits.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "postern/diagnose/doctor.hpp"
#include "postern/mime/message.hpp"
#include "postern/send/send.hpp"
#include "postern/tls/policy.hpp"

namespace {

using json = nlohmann::json;
using namespace postern;

/** A failure before any network work: bad flags, unreadable input. */
struct usage_error {
  std::string code;  // DESIGN.md cause or "usage" / "input"
  std::string text;
  int exit_code;
};

struct send_args {
  std::string server;
  bool tls = false, starttls = false, plain = false;
  std::string profile = "strict";
  std::string from;
  std::vector<std::string> to;
  std::string subject, text;
  bool have_subject = false, have_text = false;
  std::vector<std::string> files;
  std::string ca_file, tls_name;
  bool insecure = false;
  double timeout = 0;
  std::string user, password_file, password_command, auth;
  bool allow_plaintext_auth = false;
  std::string ehlo;
  std::string ports;
  bool json = false, verbose = false;
};

std::string read_stream(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string first_line(std::string s) {
  auto end = s.find_first_of("\r\n");
  if (end != std::string::npos) s.resize(end);
  return s;
}

// The secret never comes from argv: a file, the environment, or a command's output.
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
  throw usage_error{"usage", "--user needs a password: --password-file, --password-command or POSTERN_PASSWORD",
                    EX_USAGE};
}

std::pair<std::string, std::uint16_t> split_server(const std::string& s) {
  // [v6]:port, host:port, host, v6 literal without port
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) throw usage_error{"usage", "bad --server " + s, EX_USAGE};
    std::string host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') throw usage_error{"usage", "bad --server " + s, EX_USAGE};
      return {host, static_cast<std::uint16_t>(std::stoul(s.substr(close + 2)))};
    }
    return {host, 0};
  }
  auto colon = s.rfind(':');
  if (colon == std::string::npos || s.find(':') != colon) return {s, 0};
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1 || port == 0 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw usage_error{"usage", "bad port in --server " + s, EX_USAGE};
  }
  return {s.substr(0, colon), static_cast<std::uint16_t>(port)};
}

std::vector<send::message> build_messages(const send_args& a) {
  smtp::envelope env{a.from, a.to};
  std::vector<send::message> out;
  if (a.have_text || a.have_subject) {
    if (!a.files.empty()) throw usage_error{"usage", "give either FILE or --subject/--text, not both", EX_USAGE};
    mime::simple_message m;
    m.from = a.from;
    m.to = a.to;
    m.subject = a.subject;
    m.text = a.text;
    out.push_back({env, mime::build(m)});
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


std::vector<std::uint16_t> parse_ports(const std::string& list) {
  std::vector<std::uint16_t> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      unsigned long p = std::stoul(item, &used);
      if (used != item.size() || p == 0 || p > 65535) throw std::out_of_range("port");
      out.push_back(static_cast<std::uint16_t>(p));
    } catch (const std::exception&) {
      throw usage_error{"usage", "bad port '" + item + "' in --ports " + list, EX_USAGE};
    }
  }
  if (out.empty()) throw usage_error{"usage", "--ports needs at least one port", EX_USAGE};
  return out;
}

json findings_json(const std::vector<diagnose::finding>& findings) {
  json a = json::array();
  for (const auto& f : findings) {
    json rem = json::array();
    for (const auto& r : f.remedies)
      rem.push_back({{"action", r.action}, {"command", r.command}, {"security_note", r.security_note}});
    a.push_back({{"code", f.code},
                 {"severity", diagnose::to_string(f.severity)},
                 {"summary", f.summary},
                 {"evidence", f.evidence},
                 {"remedies", rem}});
  }
  return a;
}

json diagnosis_json(const diagnose::diagnosis& d) {
  json routes = json::array();
  for (const auto& r : d.routes_tried)
    routes.push_back({{"port", r.port},
                      {"mode", r.mode},
                      {"profile", r.profile},
                      {"result", r.ok ? "ok" : "failed"},
                      {"code", r.code},
                      {"detail", r.detail}});
  return {{"target", d.target}, {"ok", d.ok}, {"findings", findings_json(d.findings)}, {"routes_tried", routes}};
}

void print_findings(std::ostream& out, const std::vector<diagnose::finding>& findings, bool brief) {
  for (const auto& f : findings) {
    out << "[" << f.code << "] " << f.summary << "\n";
    if (!brief)
      for (const auto& e : f.evidence) out << "    evidence: " << e << "\n";
    std::size_t n = 0;
    for (const auto& r : f.remedies) {
      if (brief && n == 3) break;
      out << "    " << ++n << ". " << r.action << ": " << (r.command.empty() ? r.security_note : r.command) << "\n";
      if (!r.command.empty() && !r.security_note.empty()) out << "       note: " << r.security_note << "\n";
    }
  }
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
    j["tls"] = {{"profile", r.tls->profile},           {"version", r.tls->version},
                {"cipher", r.tls->cipher},             {"kx", r.tls->kx},
                {"group", r.tls->group},               {"peer_subject", r.tls->peer_subject},
                {"peer_issuer", r.tls->peer_issuer},   {"peer_not_after", r.tls->peer_not_after},
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
    jm["error"] = m.error ? json{{"code", m.error->code}, {"summary", m.error->summary}, {"detail", m.error->detail}}
                          : json(nullptr);
    j["messages"].push_back(jm);
  }
  j["error"] = r.error ? json{{"code", r.error->code}, {"summary", r.error->summary}, {"detail", r.error->detail}}
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

int run_send(const send_args& a) {
  if (int modes = a.tls + a.starttls + a.plain; modes != 1)
    throw usage_error{"usage", "choose exactly one of --tls, --starttls, --plain", EX_USAGE};
  if (a.insecure && a.plain) throw usage_error{"usage", "--insecure makes no sense with --plain", EX_USAGE};
  send::options o;
  std::tie(o.host, o.port) = split_server(a.server);
  o.mode = a.tls ? send::mode::implicit_tls : a.starttls ? send::mode::starttls : send::mode::plain;
  if (!tls::profile(a.profile)) throw usage_error{"usage", "unknown --tls-profile " + a.profile, EX_USAGE};
  o.tls_profile = a.profile;
  o.ca_file = a.ca_file;
  o.tls_name = a.tls_name;
  o.insecure = a.insecure;
  o.ehlo_domain = a.ehlo;
  if (a.timeout > 0) o.timeouts = send::timeouts::all(std::chrono::milliseconds(static_cast<long>(a.timeout * 1000)));
  if (!a.user.empty()) {
    o.auth = send::auth_options{a.user, read_secret(a), a.auth.empty() ? std::nullopt : std::optional(a.auth)};
    // Refuse before connecting: credentials never travel in clear text by accident.
    if (o.mode == send::mode::plain && !a.allow_plaintext_auth)
      throw usage_error{"smtp.auth-needs-tls",
                        "refusing to send credentials over a plaintext connection; use --tls or --starttls "
                        "(or --allow-plaintext-auth if you really mean it)",
                        EX_NOPERM};
  }
  o.allow_plaintext_auth = a.allow_plaintext_auth;
  auto messages = build_messages(a);

  auto r = send::send(o, messages);
  if (a.verbose) print_transcript(r);
  std::optional<diagnose::diagnosis> diag;
  if (!r.ok && r.error && worth_diagnosing(r.error->code)) {
    diagnose::target t{o.host, r.port, o.mode, o.ca_file, o.tls_name, o.ehlo_domain};
    if (a.timeout > 0) t.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
    if (!a.ports.empty()) t.other_ports = parse_ports(a.ports);
    diag = diagnose::run(t);
    // The diagnosis names the precise cause of what send saw as a generic failure.
    if (!diag->findings.empty() && diag->findings.front().code != r.error->code) {
      r.error->detail = r.error->code + ": " + r.error->summary + (r.error->detail.empty() ? "" : "; " + r.error->detail);
      r.error->code = diag->findings.front().code;
      r.error->summary = diag->findings.front().summary;
      r.exit_code = diagnose::exit_code_for_cause(r.error->code);
    }
  }
  if (a.json) {
    auto j = to_json(r);
    j["findings"] = diag ? findings_json(diag->findings) : json::array();
    std::cout << j.dump(2) << "\n";
  }
  if (r.ok) {
    if (!a.json) {
      for (const auto& m : r.messages)
        std::cout << "postern: sent " << m.size << " octets to " << r.host << ":" << r.port << " ("
                  << send::to_string(r.mode)
                  << (r.tls ? ", " + r.tls->version + " " + r.tls->cipher + ", profile " + r.tls->profile : "")
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
    if (!r.error->detail.empty() && r.error->detail != r.error->summary)
    {
      std::string d = r.error->detail;
      for (std::size_t at = 0; (at = d.find('\n', at)) != std::string::npos; at += 2) d.replace(at, 1, "\n  ");
      std::cerr << "  evidence: " << d << "\n";
    }
  }
  for (const auto& m : r.messages)
    if (m.delivered && m.error) std::cerr << "postern: the message was delivered to the accepted recipients\n";
  if (diag && !diag->findings.empty() && !a.json) {
    std::cerr << "postern: what to do, safest first (postern doctor " << diag->target << " for the whole story):\n";
    std::vector<diagnose::finding> first{diag->findings.front()};
    print_findings(std::cerr, first, true);
  }
  return r.exit_code ? r.exit_code : EX_SOFTWARE;
}


struct doctor_args {
  std::string target;
  bool tls = false, starttls = false, plain = false;
  std::string ca_file, tls_name, ports, ehlo;
  double timeout = 0;
  bool json = false;
};

int run_doctor(const doctor_args& a) {
  if (a.tls + a.starttls + a.plain > 1) throw usage_error{"usage", "choose at most one of --tls, --starttls, --plain", EX_USAGE};
  diagnose::target t;
  std::tie(t.host, t.port) = split_server(a.target);
  if (a.tls) t.mode = net::mode::implicit_tls;
  else if (a.plain) t.mode = net::mode::plain;
  else if (a.starttls) t.mode = net::mode::starttls;
  else t.mode = t.port == 465 ? net::mode::implicit_tls : net::mode::starttls;
  if (t.port == 0) t.port = net::default_port(t.mode);
  t.ca_file = a.ca_file;
  t.tls_name = a.tls_name;
  t.ehlo_domain = a.ehlo;
  if (a.timeout > 0) t.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
  if (!a.ports.empty()) t.other_ports = parse_ports(a.ports);
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
    std::cout << "postern doctor: " << d.target << " (" << net::to_string(t.mode) << "): " << d.findings.size()
              << (d.findings.size() == 1 ? " problem" : " problems") << "\n";
    print_findings(std::cout, d.findings, false);
  }
  std::cout << "routes tried:\n";
  for (const auto& r : d.routes_tried)
    std::cout << "    " << r.port << "/" << r.mode << " " << r.profile << ": "
              << (r.ok ? "ok" : "failed [" + r.code + "]") << (r.detail.empty() ? "" : " " + r.detail) << "\n";
  return d.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"postern: SMTP submission over the strongest TLS the server accepts"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "postern 0.1.0");

  send_args a;
  auto* send_cmd = app.add_subcommand("send", "send a message");
  send_cmd->add_option("--server", a.server, "HOST[:PORT]")->required();
  send_cmd->add_flag("--tls", a.tls, "implicit TLS (port 465 style)");
  send_cmd->add_flag("--starttls", a.starttls, "plain connection upgraded with STARTTLS (587/25)");
  send_cmd->add_flag("--plain", a.plain, "no TLS at all (never a fallback)");
  send_cmd->add_option("--tls-profile", a.profile, "strict (default), compat or legacy");
  send_cmd->add_option("--from", a.from, "envelope sender")->required();
  send_cmd->add_option("--to", a.to, "recipient (repeatable)")->required()->allow_extra_args(false);
  send_cmd->add_option("--subject", a.subject, "build a simple message with this subject");
  send_cmd->add_option("--text", a.text, "build a simple message with this body");
  send_cmd->add_option("files", a.files, "RFC 5322 message files ('-' for stdin), sent over one connection");
  send_cmd->add_option("--ca-file", a.ca_file, "PEM file of trusted roots instead of the system's");
  send_cmd->add_option("--tls-name", a.tls_name, "name to verify in the certificate (when connecting by address)");
  send_cmd->add_flag("--insecure", a.insecure, "do not verify the certificate (explicit, never implied)");
  send_cmd->add_option("--timeout", a.timeout, "seconds allowed for each step (connect, greeting, each command)");
  send_cmd->add_option("--user", a.user, "SMTP AUTH user");
  send_cmd->add_option("--password-file", a.password_file, "file whose first line is the password");
  send_cmd->add_option("--password-command", a.password_command, "command that prints the password");
  send_cmd->add_option("--auth", a.auth, "force a SASL mechanism");
  send_cmd->add_flag("--allow-plaintext-auth", a.allow_plaintext_auth, "allow AUTH without TLS");
  send_cmd->add_option("--ehlo", a.ehlo, "EHLO name");
  send_cmd->add_flag("--json", a.json, "print one JSON result object");
  send_cmd->add_flag("-v,--verbose", a.verbose, "print the SMTP transcript (credentials redacted)");

  send_cmd->add_option("--ports", a.ports, "ports to look for secure alternatives when it fails (default 465,587,25)");

  doctor_args da;
  auto* doctor_cmd = app.add_subcommand("doctor", "find the real cause of a connection failure, and the safest fix");
  doctor_cmd->add_option("target", da.target, "HOST[:PORT]")->required();
  doctor_cmd->add_flag("--tls", da.tls, "you meant implicit TLS on PORT");
  doctor_cmd->add_flag("--starttls", da.starttls, "you meant STARTTLS on PORT");
  doctor_cmd->add_flag("--plain", da.plain, "you meant plain SMTP on PORT");
  doctor_cmd->add_option("--ca-file", da.ca_file, "PEM file of trusted roots");
  doctor_cmd->add_option("--tls-name", da.tls_name, "name to verify in the certificate");
  doctor_cmd->add_option("--timeout", da.timeout, "seconds for each step of each attempt (default 10)");
  doctor_cmd->add_option("--ports", da.ports, "other ports to look for secure alternatives (default 465,587,25)");
  doctor_cmd->add_option("--ehlo", da.ehlo, "EHLO name");
  doctor_cmd->add_flag("--json", da.json, "print one JSON object");

  auto* prof_cmd = app.add_subcommand("tls-profile", "show the TLS profiles");
  prof_cmd->require_subcommand(1);
  std::string prof_name;
  auto* show_cmd = prof_cmd->add_subcommand("show", "print a profile");
  show_cmd->add_option("name", prof_name, "strict, compat or legacy")->required();
  auto* list_cmd = prof_cmd->add_subcommand("list", "list profile names");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : EX_USAGE;
  }
  if (send_cmd->parsed()) {
    a.have_subject = send_cmd->count("--subject") > 0;
    a.have_text = send_cmd->count("--text") > 0;
  }

  try {
    if (send_cmd->parsed()) return run_send(a);
    if (doctor_cmd->parsed()) return run_doctor(da);
    if (list_cmd->parsed()) {
      for (const auto& n : tls::profile_names()) std::cout << n << "\n";
      return 0;
    }
    if (show_cmd->parsed()) {
      const auto* p = tls::profile(prof_name);
      if (!p) throw usage_error{"usage", "unknown profile " + prof_name, EX_USAGE};
      std::cout << p->to_text();
      return 0;
    }
  } catch (const usage_error& e) {
    std::cerr << "postern: error [" << e.code << "]: " << e.text << "\n";
    return e.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "postern: error [internal]: " << e.what() << "\n";
    return EX_SOFTWARE;
  }
  return EX_USAGE;
}
