// postern send: one or more messages over one connection.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "common.hpp"
#include "postern/client/message.hpp"
#include "postern/client/submit.hpp"
#include "postern/mime/addresses.hpp"
#include "postern/mime/compose.hpp"
#include "postern/mime/message.hpp"
#include "postern/smtp/dsn.hpp"
#include "postern/tls/policy.hpp"

namespace postern::cli {
namespace {

std::string read_text_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw usage_error{"input", std::string("cannot read ") + flag + " " + path + ": " + std::strerror(errno),
                      EX_NOINPUT};
  return read_stream(in);
}

bool builds_message(const send_args& a) {
  return a.have_text || a.have_subject || a.have_html || !a.text_file.empty() || !a.html_file.empty() ||
         !a.attach.empty() || !a.inline_parts.empty() || !a.cc.empty() || !a.reply_to.empty() ||
         !a.headers.empty();
}

std::optional<smtp::dsn_request> dsn_of(const send_args& a) {
  if (a.dsn_notify.empty() && a.dsn_ret.empty() && a.dsn_envid.empty() && !a.require_dsn) return std::nullopt;
  smtp::dsn_request d;
  if (!a.dsn_notify.empty() && !smtp::parse_dsn_notify(a.dsn_notify, d))
    throw usage_error{
        "usage", "--dsn-notify takes never, or a list of success,failure,delay; not '" + a.dsn_notify + "'",
        EX_USAGE};
  if (!a.dsn_ret.empty()) {
    auto r = smtp::parse_dsn_return(a.dsn_ret);
    if (!r) throw usage_error{"usage", "--dsn-ret takes full or hdrs, not '" + a.dsn_ret + "'", EX_USAGE};
    d.ret = *r;
  }
  if (!a.dsn_envid.empty() && !smtp::valid_envid(a.dsn_envid))
    throw usage_error{"usage", "--dsn-envid takes 1 to 100 printable ASCII characters", EX_USAGE};
  d.envid = a.dsn_envid;
  d.required = a.require_dsn;
  return d;
}

mime::attachment read_part(const std::string& arg, const char* flag, bool is_inline) {
  std::string why;
  auto spec = mime::parse_attachment_spec(arg, &why);
  if (!spec) throw usage_error{"usage", std::string(flag) + " '" + arg + "': " + why, EX_USAGE};
  if (is_inline && spec->content_id.empty())
    throw usage_error{"usage", std::string(flag) + " '" + arg + "' needs ;cid=ID (the HTML refers to cid:ID)",
                      EX_USAGE};
  if (!is_inline && !spec->content_id.empty())
    throw usage_error{"usage", std::string(flag) + " '" + arg + "': cid= is for --inline", EX_USAGE};
  client::attachment_problem p;
  auto part = client::read_attachment(*spec, p);
  if (!part) throw usage_error{p.code, p.summary, p.exit_code};
  return std::move(*part);
}

send::message built_message(const send_args& a, const std::optional<smtp::dsn_request>& dsn) {
  if (a.have_text && !a.text_file.empty())
    throw usage_error{"usage", "give either --text or --text-file, not both", EX_USAGE};
  if (a.have_html && !a.html_file.empty())
    throw usage_error{"usage", "give either --html or --html-file, not both", EX_USAGE};
  mime::message m;
  m.from = a.from;
  m.to = a.to;
  m.cc = a.cc;
  m.bcc = a.bcc;
  m.reply_to = a.reply_to;
  m.subject = a.subject;
  if (a.have_text) m.text = a.text;
  if (!a.text_file.empty()) m.text = read_text_file(a.text_file, "--text-file");
  if (a.have_html) m.html = a.html;
  if (!a.html_file.empty()) m.html = read_text_file(a.html_file, "--html-file");
  if (!m.text && !m.html) m.text = std::string();
  for (const auto& h : a.headers) {
    auto f = mime::parse_header_field(h);
    if (!f)
      throw usage_error{"message.bad-header",
                        "--header '" + h + "' is not 'Name: value' on one line (no CR or LF)", EX_DATAERR};
    m.headers.push_back(std::move(*f));
  }
  for (const auto& x : a.inline_parts) m.inline_parts.push_back(read_part(x, "--inline", true));
  for (const auto& x : a.attach) m.attachments.push_back(read_part(x, "--attach", false));
  auto b = client::build_message(m, dsn);
  if (!b.message) throw usage_error{b.error->code, b.error->summary, b.exit_code};
  return std::move(*b.message);
}

std::vector<send::message> build_messages(const send_args& a) {
  const auto dsn = dsn_of(a);
  std::vector<send::message> out;
  if (builds_message(a)) {
    if (!a.files.empty())
      throw usage_error{
          "usage",
          "give either FILE or the message options (--subject, --text, --html, --attach, …), not both",
          EX_USAGE};
    out.push_back(built_message(a, dsn));
    return out;
  }
  // A file goes as it is; the envelope sender is the address of "Name <a@x>".
  smtp::envelope env{a.from, a.to, dsn};
  if (auto mb = mime::parse_mailbox(a.from)) env.mail_from = mb->address;
  for (auto& r : env.rcpt_to)
    if (auto mb = mime::parse_mailbox(r)) r = mb->address;
  for (const auto& b : a.bcc) {
    auto mb = mime::parse_mailbox(b);
    if (!mb) throw usage_error{"message.bad-address", "--bcc '" + b + "' is not an address", EX_DATAERR};
    mime::append_unique(env.rcpt_to, {mb->address});
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

}  // namespace

int run_send(const send_args& a) {
  client::request q = make_request(a);
  q.dkim = dkim_options_of(a);  // DKIM: signed by client::submit before connecting
  q.messages = build_messages(a);
  q.chunking = !a.no_chunking;
  // Warnings and notes as they arise, as `postern send` always printed them.
  q.on_finding = [](const diagnose::finding& f) {
    if (f.severity == diagnose::severity::warning)
      std::cerr << "postern: warning: " << f.summary << "\n";
    else
      std::cerr << "postern: " << f.summary << "\n";
  };

  const bool queued = a.queue_mode == "on-failure" || a.queue_mode == "always";
  if (queued) {
    sign_for_queue(q);  // the bytes queued are the bytes tried now
    if (a.queue_mode == "always") return *send_through_queue(a, q, nullptr);
  }
  const client::report rep = client::submit(q);
  if (queued && !rep.ok()) {
    if (a.verbose)
      for (const auto& e : rep.delivery.transcript) print_transcript_event(e);
    if (auto rc = send_through_queue(a, q, &rep)) return *rc;
  }
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
  send_cmd->add_option("--text", a->text, "build a message with this text/plain body");
  send_cmd->add_option("--text-file", a->text_file, "build a message with this file as text/plain body");
  send_cmd->add_option("--html", a->html, "HTML body (with --text: multipart/alternative)");
  send_cmd->add_option("--html-file", a->html_file, "HTML body from a file");
  send_cmd->add_option("--attach", a->attach, "attach FILE[;type=TYPE][;name=NAME] (repeatable)")
      ->allow_extra_args(false);
  send_cmd
      ->add_option("--inline", a->inline_parts, "inline part FILE;cid=ID[;type=..][;name=..] for the HTML")
      ->allow_extra_args(false);
  send_cmd->add_option("--cc", a->cc, "Cc recipient (repeatable)")->allow_extra_args(false);
  send_cmd->add_option("--bcc", a->bcc, "blind recipient: envelope only, never in the header (repeatable)")
      ->allow_extra_args(false);
  send_cmd->add_option("--reply-to", a->reply_to, "Reply-To address (repeatable)")->allow_extra_args(false);
  send_cmd->add_option("--header", a->headers, "extra header 'Name: value' (repeatable)")
      ->allow_extra_args(false);
  send_cmd->add_option("--dsn-notify", a->dsn_notify, "DSN: never, or success,failure,delay (RFC 3461)");
  send_cmd->add_option("--dsn-ret", a->dsn_ret, "DSN: return full message or hdrs only");
  send_cmd->add_option("--dsn-envid", a->dsn_envid, "DSN: envelope ID echoed in notifications");
  send_cmd->add_flag("--require-dsn", a->require_dsn, "refuse to send when the server does not offer DSN");
  send_cmd->add_flag("--no-chunking", a->no_chunking, "always DATA, never BDAT (RFC 3030)");
  send_cmd->add_option("files", a->files, "RFC 5322 message files ('-' for stdin), sent over one connection");
  send_cmd->add_flag("--json", a->json, "print one JSON result object");
  send_cmd->add_flag("--queue{@default}", a->queue_location,
                     "a temporary failure queues the message (exit 0); --queue=FILE|URL names the queue");
  add_dkim_options(*send_cmd, *a);
  auto acct = add_account_options(*send_cmd);
  return {send_cmd, [a, send_cmd, acct] {
            a->have_subject = send_cmd->count("--subject") > 0;
            a->have_text = send_cmd->count("--text") > 0;
            a->have_html = send_cmd->count("--html") > 0;
            if (send_cmd->count("--queue") > 0) {
              a->queue_mode = "on-failure";
              if (a->queue_location == "@default") a->queue_location.clear();  // the account's, or the default
            }
            apply_account_options(*acct, *send_cmd, *a);
            if (a->origin.empty()) a->origin = "send";
            return run_send(*a);
          }};
}

}  // namespace postern::cli
