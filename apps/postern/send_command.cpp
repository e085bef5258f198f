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
  client::request q = make_request(a);
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
  add_connection_options(*send_cmd, *a);
  send_cmd->add_option("--from", a->from, "envelope sender (or the account's from)");
  send_cmd->add_option("--to", a->to, "recipient (repeatable)")->required()->allow_extra_args(false);
  send_cmd->add_option("--subject", a->subject, "build a simple message with this subject");
  send_cmd->add_option("--text", a->text, "build a simple message with this body");
  send_cmd->add_option("files", a->files, "RFC 5322 message files ('-' for stdin), sent over one connection");
  send_cmd->add_flag("--json", a->json, "print one JSON result object");
  auto acct = add_account_options(*send_cmd);
  return {send_cmd, [a, send_cmd, acct] {
            a->have_subject = send_cmd->count("--subject") > 0;
            a->have_text = send_cmd->count("--text") > 0;
            apply_account_options(*acct, *send_cmd, *a);
            return run_send(*a);
          }};
}

}  // namespace postern::cli
