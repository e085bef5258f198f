// postern send: one or more messages over one connection.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include "common.hpp"
#include "postern/diagnose/doctor.hpp"
#include "postern/mime/message.hpp"
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
  throw usage_error{"usage", "--user needs a password: --password-file, --password-command or POSTERN_PASSWORD",
                    EX_USAGE};
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

}  // namespace

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
    // send looks at other ports only when asked (--ports); doctor looks by default.
    t.other_ports = a.ports.empty() ? std::vector<std::uint16_t>{} : parse_ports(a.ports);
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


command add_send_command(CLI::App& app) {
  auto a = std::make_shared<send_args>();
  auto* send_cmd = app.add_subcommand("send", "send a message");
  send_cmd->add_option("--server", a->server, "HOST[:PORT]")->required();
  send_cmd->add_flag("--tls", a->tls, "implicit TLS (port 465 style)");
  send_cmd->add_flag("--starttls", a->starttls, "plain connection upgraded with STARTTLS (587/25)");
  send_cmd->add_flag("--plain", a->plain, "no TLS at all (never a fallback)");
  send_cmd->add_option("--tls-profile", a->profile, "strict (default), compat or legacy");
  send_cmd->add_option("--from", a->from, "envelope sender")->required();
  send_cmd->add_option("--to", a->to, "recipient (repeatable)")->required()->allow_extra_args(false);
  send_cmd->add_option("--subject", a->subject, "build a simple message with this subject");
  send_cmd->add_option("--text", a->text, "build a simple message with this body");
  send_cmd->add_option("files", a->files, "RFC 5322 message files ('-' for stdin), sent over one connection");
  send_cmd->add_option("--ca-file", a->ca_file, "PEM file of trusted roots instead of the system's");
  send_cmd->add_option("--tls-name", a->tls_name, "name to verify in the certificate (when connecting by address)");
  send_cmd->add_flag("--insecure", a->insecure, "do not verify the certificate (explicit, never implied)");
  send_cmd->add_option("--timeout", a->timeout, "seconds allowed for each step (connect, greeting, each command)");
  send_cmd->add_option("--user", a->user, "SMTP AUTH user");
  send_cmd->add_option("--password-file", a->password_file, "file whose first line is the password");
  send_cmd->add_option("--password-command", a->password_command, "command that prints the password");
  send_cmd->add_option("--auth", a->auth, "force a SASL mechanism");
  send_cmd->add_flag("--allow-plaintext-auth", a->allow_plaintext_auth, "allow AUTH without TLS");
  send_cmd->add_option("--ehlo", a->ehlo, "EHLO name");
  send_cmd->add_option("--ports", a->ports, "when it fails, also look for secure alternatives on these ports (e.g. 465,587,25)");
  send_cmd->add_flag("--json", a->json, "print one JSON result object");
  send_cmd->add_flag("-v,--verbose", a->verbose, "print the SMTP transcript (credentials redacted)");
  return {send_cmd, [a, send_cmd] {
            a->have_subject = send_cmd->count("--subject") > 0;
            a->have_text = send_cmd->count("--text") > 0;
            return run_send(*a);
          }};
}

}  // namespace postern::cli
