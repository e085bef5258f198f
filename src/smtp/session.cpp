#include "postern/smtp/session.hpp"

#include <algorithm>
#include <utility>

#include "postern/smtp/commands.hpp"
#include "postern/smtp/error.hpp"

namespace postern::smtp {
namespace {

// RFC 6532 header fields: UTF-8 in the header block (the DATA form; it ends at the empty line).
bool header_has_utf8(std::string_view data) {
  const auto end = data.find("\r\n\r\n");
  const std::string_view header = data.substr(0, end);
  return std::any_of(header.begin(), header.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

}  // namespace

const char* to_string(state s) noexcept {
  switch (s) {
    case state::greeting:
      return "greeting";
    case state::ehlo:
      return "ehlo";
    case state::helo:
      return "helo";
    case state::starttls:
      return "starttls";
    case state::tls_handshake:
      return "tls_handshake";
    case state::ehlo_after_tls:
      return "ehlo_after_tls";
    case state::auth:
      return "auth";
    case state::mail:
      return "mail";
    case state::rcpt:
      return "rcpt";
    case state::data:
      return "data";
    case state::content:
      return "content";
    case state::rset:
      return "rset";
    case state::quit:
      return "quit";
    case state::done:
      return "done";
    case state::failed:
      return "failed";
  }
  return "unknown";
}

const char* cause(const session_result& result) noexcept {
  if (!result.error) return "";
  if (result.error.category() != smtp_category()) return "";
  const auto e = static_cast<errc>(result.error.value());
  if (e == errc::no_recipient_accepted) {
    const bool any = !result.recipients.empty();
    const bool all_transient =
        std::all_of(result.recipients.begin(), result.recipients.end(),
                    [](const recipient_result& r) { return r.accepted || r.response.transient(); });
    return any && all_transient ? "smtp.transient" : "smtp.rejected";
  }
  if (e == errc::starttls_refused && result.last_reply && result.last_reply->transient())
    return "smtp.transient";
  return cause(e);
}

session::session(session_config config, envelope env, std::string data)
    : config_(std::move(config)),
      env_(std::move(env)),
      data_(std::move(data)),
      facts_(scan_encoded(data_)),
      parser_(config_.limits),
      tls_(config_.tls_active) {}

void session::set_state(state s) {
  if (s == state_) return;
  record(transcript_event::who::info, std::string("state: ") + to_string(state_) + " -> " + to_string(s));
  state_ = s;
}

void session::record(transcript_event::who from, std::string text) {
  transcript_.push_back(transcript_event{from, std::move(text)});
}

void session::record_commands(std::string_view rest) {
  while (!rest.empty()) {
    auto eol = rest.find("\r\n");
    record(transcript_event::who::client, std::string(rest.substr(0, eol)));
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 2);
  }
}

void session::write(std::string bytes) {
  record_commands(bytes);
  write_queued(std::move(bytes));
}

// Bytes already in the transcript (commands recorded, BDAT content summarised).
void session::write_queued(std::string bytes) {
  out_ = std::move(bytes);
  out_view_ = out_;
  out_pending_ = true;
}

// Appends the next BDAT command and its chunk to @p out; the chunk itself is summarised.
void session::append_chunk(std::string& out) {
  const std::size_t size =
      std::min(std::max<std::size_t>(config_.chunk_size, 1), raw_.size() - chunk_offset_);
  const bool last = chunk_offset_ + size == raw_.size();
  std::string cmd = bdat(size, last);
  record(transcript_event::who::client, cmd.substr(0, cmd.size() - 2));
  record(transcript_event::who::info, "<message chunk: " + std::to_string(size) + " octets>");
  out += cmd;
  out.append(raw_, chunk_offset_, size);
  chunk_offset_ += size;
  ++chunks_sent_;
  if (last) writing_content_ = true;
}

void session::write_redacted(std::string bytes, std::string shown) {
  record(transcript_event::who::client, std::move(shown));
  out_ = std::move(bytes);
  out_view_ = out_;
  out_pending_ = true;
}

void session::fail(errc e, std::optional<reply> cause_reply) {
  result_.error = make_error_code(e);
  result_.failed_in = state_;
  result_.last_reply = std::move(cause_reply);
  result_.delivered = false;
  out_pending_ = false;
  record(transcript_event::who::info, std::string("error: ") + cause(e) + ": " + result_.error.message());
  set_state(state::failed);
}

void session::fail_by_class(const reply& r) {
  if (r.code == 530 && !tls_) return fail(errc::starttls_required, r);
  if (r.transient()) return fail(errc::transient, r);
  if (r.permanent()) return fail(errc::rejected, r);
  fail(errc::bad_reply, r);
}

action session::next() {
  action a;
  switch (state_) {
    case state::failed:
      a.kind = action_kind::failed;
      return a;
    case state::done:
      a.kind = action_kind::finished;
      return a;
    case state::tls_handshake:
      a.kind = action_kind::start_tls;
      return a;
    default:
      break;
  }
  if (out_pending_) {
    a.kind = action_kind::write;
    a.bytes = out_view_;
    return a;
  }
  a.kind = action_kind::read;
  if (state_ == state::greeting)
    a.wait = wait_kind::greeting;
  else if (state_ == state::data)
    a.wait = wait_kind::data_initiation;
  else if (state_ == state::content && content_written_)
    a.wait = wait_kind::data_termination;
  else
    a.wait = wait_kind::command;
  return a;
}

void session::written() {
  if (!out_pending_) return;
  out_pending_ = false;
  if (writing_content_) {
    writing_content_ = false;
    content_written_ = true;
  }
  // RFC 3030 with PIPELINING: the chunks follow each other without waiting for their replies.
  if (chunking_ && pipelined_ && chunks_sent_ > 0 && chunks_left() && state_ != state::failed) {
    std::string next;
    append_chunk(next);
    return write_queued(std::move(next));
  }
  // Replies that arrived early (a server answering ahead) are already buffered.
  pump();
}

void session::received(std::string_view bytes) {
  if (state_ == state::failed || state_ == state::done) return;
  if (state_ == state::tls_handshake) {
    // Plaintext after the 220 would be read as if it came over TLS (CVE-2011-0411 class).
    record(transcript_event::who::server, escape_bytes(bytes.substr(0, config_.limits.max_line)));
    return fail(errc::bytes_after_starttls);
  }
  in_.append(bytes);
  pump();
}

void session::tls_started() {
  tls_ = true;
  if (state_ != state::tls_handshake) return;
  record(transcript_event::who::info, "tls: established; discarding the capabilities announced before TLS");
  result_.caps = capabilities{};
  parser_ = reply_parser(config_.limits);
  in_.clear();
  in_pos_ = 0;
  std::error_code ec;
  std::string cmd = ehlo(config_.ehlo_domain, ec);
  set_state(state::ehlo_after_tls);
  if (ec) return fail(errc::invalid_argument);
  write(std::move(cmd));
}

void session::connection_lost() {
  if (state_ == state::failed || state_ == state::done) return;
  record(transcript_event::who::info, "connection lost");
  if (state_ == state::quit) return set_state(state::done);
  if (state_ == state::content && content_written_ && !ending_empty_data_) return fail(errc::outcome_unknown);
  fail(errc::connection_lost);
}

void session::pump() {
  while (!out_pending_ && state_ != state::failed && state_ != state::done &&
         state_ != state::tls_handshake && in_pos_ < in_.size()) {
    std::error_code ec;
    in_pos_ += parser_.feed(std::string_view(in_).substr(in_pos_), ec);
    if (ec) {
      record(transcript_event::who::server, escape_bytes(parser_.offending_bytes()));
      if (state_ == state::quit) {
        // The message is delivered; a garbled goodbye changes nothing.
        set_state(state::done);
      } else {
        fail(static_cast<errc>(ec.value()));
      }
      break;
    }
    if (!parser_.has_reply()) break;
    on_reply(parser_.take());
  }
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > 4096) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
}

void session::on_reply(reply r) {
  for (std::size_t i = 0; i < r.lines.size(); ++i) {
    std::string line = std::to_string(r.code);
    const bool last = i + 1 == r.lines.size();
    if (!(last && r.lines[i].empty())) {
      line += last ? ' ' : '-';
      line += r.lines[i];
    }
    record(transcript_event::who::server, escape_bytes(line));
  }
  if (state_ == state::quit) return set_state(state::done);
  if (skip_replies_ > 0 && r.code != 421) {
    --skip_replies_;  // owed to a failed pipelined transaction, already reported
    return;
  }
  // 421: the server is closing the channel whatever we asked (RFC 5321 §3.8).
  if (r.code == 421) return fail(errc::transient, std::move(r));
  switch (state_) {
    case state::greeting:
      return on_greeting(r);
    case state::ehlo:
    case state::ehlo_after_tls:
      return on_ehlo(r);
    case state::helo:
      return on_helo(r);
    case state::starttls:
      return on_starttls(r);
    case state::auth:
      return on_auth(r);
    case state::mail:
      return on_mail(r);
    case state::rcpt:
      return on_rcpt(std::move(r));
    case state::data:
      return on_data(r);
    case state::content:
      return on_content(r);
    case state::rset:
      return on_rset(r);
    default:
      return fail(errc::bad_reply, std::move(r));
  }
}

void session::on_greeting(const reply& r) {
  if (r.code != 220) {
    if (r.transient()) return fail(errc::transient, r);
    if (r.permanent()) return fail(errc::rejected, r);
    return fail(errc::bad_reply, r);
  }
  std::error_code ec;
  std::string cmd = ehlo(config_.ehlo_domain, ec);
  set_state(state::ehlo);
  if (ec) return fail(errc::invalid_argument);
  write(std::move(cmd));
}

void session::on_ehlo(const reply& r) {
  if (r.code / 100 == 2) {
    result_.caps = capabilities::parse(r);
    return after_hello(r);
  }
  if (r.permanent() && state_ == state::ehlo) {
    // A pre-ESMTP server (or one that refuses EHLO): RFC 5321 §3.2 falls back to HELO.
    std::error_code ec;
    std::string cmd = helo(config_.ehlo_domain, ec);
    set_state(state::helo);
    if (ec) return fail(errc::invalid_argument);
    return write(std::move(cmd));
  }
  fail_by_class(r);
}

void session::on_helo(const reply& r) {
  if (r.code / 100 == 2) {
    result_.caps = capabilities{};
    return after_hello(r);
  }
  fail_by_class(r);
}

void session::after_hello(const reply& r) {
  if (config_.starttls && !tls_) {
    set_state(state::starttls);
    if (!result_.caps.starttls) return fail(errc::starttls_missing, r);
    return write(starttls());
  }
  if (config_.auth && !auth_done_) return begin_auth(r);
  begin_mail();
}

void session::on_starttls(const reply& r) {
  if (r.code == 220) {
    if (parser_.mid_reply() || in_pos_ < in_.size()) {
      record(transcript_event::who::server,
             escape_bytes(std::string_view(in_).substr(in_pos_, config_.limits.max_line)));
      return fail(errc::bytes_after_starttls, r);
    }
    return set_state(state::tls_handshake);
  }
  if (r.transient() || r.permanent()) return fail(errc::starttls_refused, r);
  fail(errc::bad_reply, r);
}

void session::begin_auth(const reply& ehlo_reply) {
  set_state(state::auth);
  if (!tls_ && !config_.allow_auth_without_tls) return fail(errc::auth_needs_tls);
  if (result_.caps.auth.empty()) return fail(errc::auth_mech_unsupported, ehlo_reply);
  const std::string name = config_.auth->name();
  result_.auth_mechanism = name;
  std::error_code ec;
  std::optional<std::string> initial = config_.auth->initial_response(ec);
  if (ec) {
    record(transcript_event::who::info, "auth: " + name + " could not start: " + ec.message());
    return fail(errc::auth_failed);
  }
  if (initial && initial->empty()) *initial = "=";  // RFC 4954 §4: an empty initial response is "="
  std::string cmd = auth(name, initial ? std::optional<std::string_view>(*initial) : std::nullopt, ec);
  if (ec) return fail(errc::invalid_argument);
  write_redacted(std::move(cmd), "AUTH " + name + (initial ? " <redacted>" : ""));
}

void session::on_auth(const reply& r) {
  if (auth_cancelled_) return fail(errc::auth_failed, r);
  if (r.code == 334) {
    const std::string challenge = r.lines.empty() ? std::string() : r.lines.front();
    std::error_code ec;
    std::string response = config_.auth->step(challenge, ec);
    if (!ec && response.find_first_of("\r\n") != std::string::npos)
      ec = make_error_code(errc::invalid_argument);
    if (ec) {
      // RFC 4954 §4: "*" cancels; the server answers 501 and we report the mechanism's failure.
      record(transcript_event::who::info, "auth: mechanism step failed (" + ec.message() + "); cancelling");
      auth_cancelled_ = true;
      return write_redacted("*\r\n", "<redacted>");
    }
    return write_redacted(response + "\r\n", "<redacted>");
  }
  if (r.code / 100 == 2) {
    auth_done_ = true;
    return begin_mail();
  }
  if (r.code == 504) return fail(errc::auth_mech_unsupported, r);
  if (r.code == 538) return fail(errc::auth_needs_tls, r);
  if (r.code == 530 && !tls_) return fail(errc::starttls_required, r);
  if (r.transient()) return fail(errc::transient, r);
  if (r.permanent()) return fail(errc::auth_failed, r);
  fail(errc::bad_reply, r);
}

bool session::ascii_envelope(std::string& mail_from, std::vector<std::string>& rcpts,
                             std::vector<std::string>& notes) const {
  auto convert = [this, &notes](std::string& address) {
    if (!needs_smtputf8(address)) return true;
    const auto at = address.rfind('@');
    const std::string local = address.substr(0, at);
    const std::string domain = at == std::string::npos ? std::string() : address.substr(at + 1);
    if (needs_smtputf8(local)) {
      notes.push_back("the local part of " + address + " is not ASCII and the server does not offer SMTPUTF8");
      return false;
    }
    std::optional<std::string> a_label;
    if (config_.domain_to_ascii) a_label = config_.domain_to_ascii(domain);
    if (!a_label) {
      notes.push_back("the domain of " + address + " has no IDNA A-label and the server does not offer SMTPUTF8");
      return false;
    }
    notes.push_back("no SMTPUTF8: " + domain + " sent as its A-label " + *a_label);
    address = local + "@" + *a_label;
    return true;
  };
  if (!convert(mail_from)) return false;
  return std::all_of(rcpts.begin(), rcpts.end(), convert);
}

// Everything about the transaction that can be decided before sending: a bad address or a size
// over the limit never leaves a half-done transaction (nor a pipelined one behind another).
std::optional<errc> session::plan_mail(planned& t) const {
  const capabilities& caps = result_.caps;
  auto note = [&t](std::string text) { t.notes.push_back(std::move(text)); };
  if (t.env.rcpt_to.empty()) {
    note("no recipient given");
    return errc::invalid_argument;
  }
  if (caps.size && *caps.size > 0 && t.facts.wire_size > *caps.size) {
    note("message is " + std::to_string(t.facts.wire_size) + " octets; the server accepts at most " +
         std::to_string(*caps.size));
    return errc::message_too_big;
  }
  std::string sender = t.env.mail_from;
  std::vector<std::string> rcpts = t.env.rcpt_to;
  bool utf8 = needs_smtputf8(sender);
  for (const auto& rcpt : rcpts) utf8 = utf8 || needs_smtputf8(rcpt);
  if (utf8 && !caps.smtputf8) {
    // RFC 6531 §3.2: without SMTPUTF8 only ASCII addresses; domains have an ASCII form.
    if (!ascii_envelope(sender, rcpts, t.notes)) return errc::utf8_unsupported;
    utf8 = false;
  }
  // RFC 6532 header fields travel under SMTPUTF8 when the server offers it.
  if (!utf8 && caps.smtputf8 && header_has_utf8(t.data)) utf8 = true;

  const dsn_request* dsn = t.env.dsn ? &*t.env.dsn : nullptr;
  if (dsn && !caps.dsn) {
    if (dsn->required) {
      note("DSN is required and the server does not offer it");
      return errc::dsn_unsupported;
    }
    note("the server does not offer DSN: sending without notification requests");
    t.dsn_ignored = true;
    dsn = nullptr;
  }
  t.dsn = dsn != nullptr;
  t.chunking = config_.use_chunking && caps.chunking;

  mail_parameters params;
  if (caps.size) params.size = t.facts.wire_size;
  // RFC 3030 §3: BINARYMIME only with BDAT, for content that 8BITMIME cannot carry.
  params.body_binarymime =
      t.chunking && caps.binarymime && (t.facts.has_nul || t.facts.longest_line > 998);
  params.body_8bitmime = !params.body_binarymime && t.facts.eight_bit && caps.eightbitmime;
  params.smtputf8 = utf8;
  t.smtputf8 = utf8;
  if (t.facts.eight_bit && !caps.eightbitmime && !params.body_binarymime)
    note("8-bit message but no 8BITMIME offered; sending as is");
  rcpt_parameters rcpt_params;
  if (dsn) {
    params.dsn_ret = dsn->ret == dsn_return::full ? "FULL" : dsn->ret == dsn_return::headers ? "HDRS" : "";
    params.dsn_envid = dsn->envid;
    rcpt_params.notify = notify_value(*dsn);
  }

  std::error_code ec;
  t.mail = mail_from(sender, params, ec);
  if (ec) {
    note("invalid sender address");
    return errc::invalid_address;
  }
  for (std::size_t i = 0; i < rcpts.size(); ++i) {
    // ORCPT names the recipient as the user gave it when SMTPUTF8 carries it, else as sent.
    if (dsn && dsn->orcpt) rcpt_params.orcpt = orcpt_value(utf8 ? t.env.rcpt_to[i] : rcpts[i]);
    t.rcpt_commands.push_back(rcpt_to(rcpts[i], rcpt_params, ec));
    if (ec) {
      note("invalid recipient address");
      return errc::invalid_address;
    }
    t.recipients.push_back(recipient_result{t.env.rcpt_to[i], false, {}});
  }
  return std::nullopt;
}

// The planned transaction becomes the current one.
void session::adopt(planned& t) {
  rcpt_commands_ = std::move(t.rcpt_commands);
  result_.recipients = std::move(t.recipients);
  chunking_ = t.chunking;
  result_.used_chunking = t.chunking;
  result_.used_smtputf8 = t.smtputf8;
  result_.used_dsn = t.dsn;
  result_.dsn_ignored = t.dsn_ignored;
  rcpt_index_ = 0;
  if (chunking_) {
    raw_ = decode_data(data_);
    chunk_offset_ = chunks_sent_ = chunk_replies_ = 0;
  }
}

void session::begin_mail() {
  set_state(state::mail);
  adopted_ = false;
  planned t;
  t.env = env_;
  t.facts = facts_;
  std::swap(t.data, data_);  // plan_mail reads it; given back below
  const auto problem = plan_mail(t);
  std::swap(t.data, data_);
  for (auto& n : t.notes) record(transcript_event::who::info, std::move(n));
  if (problem) return fail(*problem);
  std::string mail = std::move(t.mail);
  adopt(t);
  pipelined_ = result_.caps.pipelining && config_.use_pipelining;
  result_.used_pipelining = pipelined_;
  if (!pipelined_) return write(std::move(mail));
  // RFC 2920: MAIL, every RCPT and DATA in one write; the replies come back in order.
  // RFC 3030 §4.2: with BDAT, the first chunk joins the same flight.
  for (const auto& c : rcpt_commands_) mail += c;
  if (!chunking_) {
    mail += data();
    return write(std::move(mail));
  }
  record_commands(mail);
  append_chunk(mail);
  write_queued(std::move(mail));
}

void session::on_mail(const reply& r) {
  if (r.code / 100 == 2) {
    set_state(state::rcpt);
    if (!pipelined_) write(rcpt_commands_[0]);
    return;
  }
  // The pipelined RCPTs and DATA (or chunks) still get replies: they belong to this transaction.
  if (pipelined_) skip_replies_ += rcpt_commands_.size() + (chunking_ ? chunks_sent_ : 1);
  if (r.code == 552) return fail(errc::message_too_big, r);
  fail_by_class(r);
}

bool session::any_accepted() const noexcept {
  return std::any_of(result_.recipients.begin(), result_.recipients.end(),
                     [](const recipient_result& x) { return x.accepted; });
}

void session::fail_no_recipient() {
  std::optional<reply> last;
  for (const auto& x : result_.recipients)
    if (!x.accepted) last = x.response;
  fail(errc::no_recipient_accepted, std::move(last));
}

void session::on_rcpt(reply r) {
  auto& rr = result_.recipients[rcpt_index_];
  rr.accepted = r.code / 100 == 2;
  rr.response = std::move(r);
  ++rcpt_index_;
  if (rcpt_index_ < rcpt_commands_.size()) {
    if (!pipelined_) write(rcpt_commands_[rcpt_index_]);
    return;
  }
  if (chunking_) {
    set_state(state::content);
    if (pipelined_) {
      // The chunks are on their way; with nobody accepted their replies are refusals to read.
      if (!any_accepted()) ending_empty_data_ = true;
      return;
    }
    if (!any_accepted()) return fail_no_recipient();
    std::string out;
    append_chunk(out);
    return write_queued(std::move(out));
  }
  if (pipelined_) return set_state(state::data);
  if (!any_accepted()) return fail_no_recipient();
  set_state(state::data);
  write(data());
}

void session::on_chunk(const reply& r) {
  ++chunk_replies_;
  const bool last = chunk_replies_ == chunks_sent_ && !chunks_left();
  if (ending_empty_data_) {
    if (last) fail_no_recipient();
    return;
  }
  if (r.code / 100 != 2) {
    result_.final_reply = r;
    if (pipelined_) skip_replies_ += chunks_sent_ - chunk_replies_;
    if (r.code == 552) return fail(errc::message_too_big, r);
    return fail_by_class(r);
  }
  if (!last) {
    if (!pipelined_ && chunks_left()) {
      std::string out;
      append_chunk(out);
      write_queued(std::move(out));
    }
    return;
  }
  result_.final_reply = r;
  result_.delivered = true;
  if (!config_.quit_when_done) return set_state(state::done);
  quit_sent_ = true;
  set_state(state::quit);
  write(quit());
}

void session::on_data(const reply& r) {
  if (r.code == 354) {
    set_state(state::content);
    if (!any_accepted()) {
      // Pipelined DATA was accepted with no recipient: end the empty content cleanly.
      ending_empty_data_ = true;
      return write(".\r\n");
    }
    record(transcript_event::who::info, "<message: " + std::to_string(data_.size()) + " octets>");
    out_view_ = data_;
    out_pending_ = true;
    writing_content_ = true;
    return;
  }
  if (!any_accepted()) return fail_no_recipient();
  if (r.code / 100 == 2) return fail(errc::bad_reply, r);
  fail_by_class(r);
}

void session::on_content(const reply& r) {
  if (chunking_) return on_chunk(r);
  if (ending_empty_data_) return fail_no_recipient();
  result_.final_reply = r;
  if (r.code / 100 == 2) {
    result_.delivered = true;
    if (!config_.quit_when_done) return set_state(state::done);
    quit_sent_ = true;
    set_state(state::quit);
    return write(quit());
  }
  if (r.code == 552) return fail(errc::message_too_big, r);
  fail_by_class(r);
}

bool session::can_continue() const noexcept {
  if (quit_sent_) return false;
  if (state_ == state::done) return !config_.quit_when_done && result_.delivered;
  if (state_ != state::failed) return false;
  switch (result_.failed_in) {
    case state::mail:
    case state::rcpt:
    case state::data:
    case state::content:
      break;
    default:
      return false;
  }
  if (result_.last_reply && result_.last_reply->code == 421) return false;
  const auto e = result_.error;
  return e == errc::rejected || e == errc::transient || e == errc::no_recipient_accepted ||
         e == errc::message_too_big || e == errc::invalid_address || e == errc::utf8_unsupported ||
         e == errc::dsn_unsupported;
}

void session::reset_transaction() {
  result_.delivered = false;
  result_.error.clear();
  result_.failed_in = state::done;
  result_.last_reply.reset();
  result_.recipients.clear();
  result_.final_reply.reset();
  result_.used_chunking = result_.used_smtputf8 = result_.used_dsn = result_.dsn_ignored = false;
  content_written_ = writing_content_ = ending_empty_data_ = false;
  chunking_ = false;
  raw_.clear();
  chunk_offset_ = chunks_sent_ = chunk_replies_ = 0;
}

void session::next_message(envelope env, std::string data) {
  if (!can_continue() || staged_) return;
  const bool after_failure = state_ == state::failed;
  env_ = std::move(env);
  data_ = std::move(data);
  facts_ = scan_encoded(data_);
  reset_transaction();
  record(transcript_event::who::info, "next message on the same connection");
  if (!after_failure) return begin_mail();
  // RFC 5321 §4.1.1.5: clear whatever the failed transaction left behind.
  adopted_ = false;
  set_state(state::rset);
  write(rset());
}

bool session::can_pipeline_next() const noexcept {
  // With BDAT the LAST chunk may be written while the MAIL and RCPT replies are still due.
  const bool answering = state_ == state::content || state_ == state::mail || state_ == state::rcpt ||
                         (state_ == state::rset && adopted_);
  // Either the end of the content is written and unanswered, or it is the pending write: then the
  // next commands join that write (one segment, one TLS record, one wake-up of the server).
  const bool ending = (content_written_ && !out_pending_) || (out_pending_ && writing_content_);
  return !config_.quit_when_done && !quit_sent_ && pipelined_ && !staged_ && answering && ending &&
         !ending_empty_data_;
}

bool session::pipeline_next(envelope env, std::string content) {
  if (!can_pipeline_next()) return false;
  planned t;
  t.env = std::move(env);
  t.data = std::move(content);
  t.facts = scan_encoded(t.data);
  if (plan_mail(t)) return false;  // next_message() will say why
  // With DATA the 354 came, so some recipient was accepted and the dot's reply ends the
  // transaction whatever it says. With BDAT the replies may still be on their way: a transaction
  // whose MAIL or every RCPT fails could be left open on the server, so RSET clears it first.
  t.rset = chunking_ && !(rcpt_index_ == rcpt_commands_.size() && any_accepted());
  record(transcript_event::who::info, "next message pipelined behind the final dot");
  for (auto& n : t.notes) record(transcript_event::who::info, std::move(n));
  t.notes.clear();
  std::string flight = t.rset ? rset() : std::string();
  flight += t.mail;
  for (const auto& c : t.rcpt_commands) flight += c;
  // BDAT waits for the current reply: at most one message is committed and unanswered.
  if (!t.chunking) flight += data();
  staged_ = std::move(t);
  if (!out_pending_) {
    write(std::move(flight));
    return true;
  }
  record_commands(flight);
  if (out_view_.data() != out_.data() || out_view_.size() != out_.size()) out_.assign(out_view_);  // DATA content
  out_ += flight;
  out_view_ = out_;
  return true;
}

void session::next_pipelined() {
  if (!staged_ || !can_continue()) return;
  planned t = std::move(*staged_);
  staged_.reset();
  env_ = std::move(t.env);
  data_ = std::move(t.data);
  facts_ = t.facts;
  reset_transaction();
  record(transcript_event::who::info, "next message (pipelined) on the same connection");
  adopt(t);
  pipelined_ = true;
  result_.used_pipelining = true;
  adopted_ = true;
  set_state(t.rset ? state::rset : state::mail);
  if (chunking_) {
    // RFC 3030 §4.2: the chunks follow the pipelined RCPTs without waiting for their replies.
    std::string out;
    append_chunk(out);
    return write_queued(std::move(out));
  }
  pump();
}

void session::on_rset(const reply& r) {
  if (r.code / 100 == 2) return adopted_ ? set_state(state::mail) : begin_mail();
  fail_by_class(r);
}

void session::finish() {
  if (quit_sent_ || !can_continue()) return;
  quit_sent_ = true;
  set_state(state::quit);
  write(quit());
}

}  // namespace postern::smtp
