// The relay's SMTP server state machine (include/postern/relay/server_session.hpp). Pure: no
// sockets, files or threads; the only outside facts are the bytes, the driver's calls and the time.
#include "postern/relay/server_session.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <ctime>

#include "postern/mime/message.hpp"

namespace postern::relay {
namespace {

// Replies are flushed once this much is waiting, so a pipelining client cannot grow them.
constexpr std::size_t out_flush = 16 * 1024;
// An over-long line is discarded as it arrives; one this long ends the session (an endless line).
constexpr std::size_t line_give_up_factor = 64;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A name for the Received header and the EHLO reply: printable ASCII without spaces or the
// characters that would end a comment or a header, at most 255 octets.
std::string header_safe(std::string_view s) {
  std::string r;
  for (char c : s.substr(0, 255)) {
    auto u = static_cast<unsigned char>(c);
    r += (u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '\\') ? c : '?';
  }
  return r;
}

// Splits "<path> params..." after "FROM:" / "TO:"; the path may hold quoted strings with '>'.
bool split_path(std::string_view s, std::string& path, std::string_view& params) {
  s = trim(s);
  if (s.empty() || s.front() != '<') return false;
  bool quoted = false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted && c == '\\' && i + 1 < s.size()) {
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == '>' && !quoted) {
      path.assign(s.substr(1, i - 1));
      params = trim(s.substr(i + 1));
      return params.empty() || s[i + 1] == ' ';
    }
  }
  return false;
}

enum class path_check { ok, syntax, needs_utf8 };

// RFC 5321 §4.1.2 loosely: local@domain, no controls or unquoted spaces, at most 254 octets; a
// source route (@a,@b:) is dropped as §C allows. Non-ASCII only with SMTPUTF8 (RFC 6531).
path_check check_path(std::string& p, bool utf8) {
  if (!p.empty() && p.front() == '@') {
    auto colon = p.find(':');
    if (colon == std::string::npos) return path_check::syntax;
    p.erase(0, colon + 1);
  }
  if (p.size() > 254) return path_check::syntax;
  bool quoted = false, non_ascii = false;
  std::size_t at = std::string::npos;
  for (std::size_t i = 0; i < p.size(); ++i) {
    auto u = static_cast<unsigned char>(p[i]);
    if (u < 0x20 || u == 0x7f) return path_check::syntax;
    if (u >= 0x80) non_ascii = true;
    if (p[i] == '"') quoted = !quoted;
    if (!quoted && (p[i] == ' ' || p[i] == '<' || p[i] == '>')) return path_check::syntax;
    if (!quoted && p[i] == '@') at = i;
  }
  if (quoted || at == std::string::npos || at == 0 || at + 1 == p.size()) return path_check::syntax;
  if (non_ascii && !utf8) return path_check::needs_utf8;
  return path_check::ok;
}

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return std::string(buf, n);
}

}  // namespace

server_session::server_session(server_config cfg, credential_check check)
    : cfg_(std::move(cfg)), check_(std::move(check)) {
  tls_ = cfg_.tls_active;
  cfg_.hostname = header_safe(cfg_.hostname);
  out_ = "220 " + cfg_.hostname + " ESMTP postern relay ready\r\n";
}

action server_session::next() {
  if (!out_.empty()) {
    out_given_ = out_.size();
    return {action_kind::write, out_};
  }
  switch (state_) {
    case server_state::closing:
      return {action_kind::close, {}};
    case server_state::tls:
      return {action_kind::start_tls, {}};
    case server_state::storing:
      return {action_kind::store, {}};
    default:
      return {action_kind::read, {}};
  }
}

void server_session::written() {
  out_.erase(0, std::min(out_given_, out_.size()));
  out_given_ = 0;
  process();
}

void server_session::received(std::string_view bytes) {
  if (state_ == server_state::closing || state_ == server_state::tls || state_ == server_state::storing)
    return;
  in_.append(bytes);
  process();
}

void server_session::tls_started() {
  if (state_ != server_state::tls) return;
  tls_ = true;
  // RFC 3207 §4.2: everything learnt before TLS is forgotten.
  helo_.clear();
  extended_ = false;
  auth_user_.clear();
  reset_transaction();
  in_.clear();
  state_ = server_state::greeting;
}

void server_session::stored(const std::optional<std::string>& queue_id) {
  if (state_ != server_state::storing) return;
  if (queue_id)
    reply("250 2.0.0 Ok: queued as " + header_safe(*queue_id));
  else
    reply("451 4.3.0 Error: the message could not be queued; try again later");
  end_transaction();
  process();
}

void server_session::timed_out() {
  if (state_ == server_state::closing) return;
  out_ += "421 4.4.2 " + cfg_.hostname + " Error: timeout exceeded, closing connection\r\n";
  state_ = server_state::closing;
}

void server_session::shut_down() {
  draining_ = true;
  if (in_transaction() || state_ == server_state::closing || state_ == server_state::tls) return;
  out_ += "421 4.3.2 " + cfg_.hostname + " Service shutting down, closing connection\r\n";
  state_ = server_state::closing;
}

bool server_session::in_transaction() const noexcept {
  return state_ == server_state::mail || state_ == server_state::content || state_ == server_state::storing;
}

void server_session::reply(std::string_view text) {
  out_.append(text);
  out_ += "\r\n";
}

void server_session::error_reply(std::string_view text) {
  reply(text);
  if (++stats_.errors >= cfg_.max_errors && state_ != server_state::closing) {
    out_ += "421 4.7.0 " + cfg_.hostname + " Error: too many errors, closing connection\r\n";
    state_ = server_state::closing;
  }
}

void server_session::reset_transaction() {
  message_ = received_message{};
  too_big_ = false;
  content_size_ = 0;
}

void server_session::end_transaction() {
  reset_transaction();
  state_ = server_state::ready;
  if (draining_) {
    out_ += "421 4.3.2 " + cfg_.hostname + " Service shutting down, closing connection\r\n";
    state_ = server_state::closing;
  }
}

void server_session::process() {
  for (;;) {
    if (state_ == server_state::closing || state_ == server_state::tls || state_ == server_state::storing)
      return;
    if (out_.size() >= out_flush) return;
    if (state_ == server_state::content) {
      content_bytes();
      if (state_ == server_state::content) return;  // everything consumed, more needed
      continue;
    }
    std::string line;
    bool too_long = false, skipped = false;
    if (!take_line(line, too_long, skipped)) return;
    if (skipped) {
      if (state_ == server_state::auth) state_ = server_state::ready;
      continue;
    }
    ++stats_.commands;
    if (too_long) {
      if (state_ == server_state::auth) state_ = server_state::ready;
      error_reply("500 5.5.2 Error: line too long");
      continue;
    }
    if (state_ == server_state::auth)
      auth_response(line);
    else
      command(line);
  }
}

// One line out of in_ (LF ends it; a CR before it is dropped). Lines longer than max_auth_line
// are not kept: discarding_ skips to their end, then too_long reports them once.
bool server_session::take_line(std::string& line, bool& too_long, bool& skipped) {
  auto nl = in_.find('\n');
  if (discarding_) {
    if (nl == std::string::npos) {
      discarded_ += in_.size();
      in_.clear();
      if (discarded_ > line_give_up_factor * cfg_.max_auth_line && state_ != server_state::closing) {
        out_ += "421 4.7.0 " + cfg_.hostname + " Error: line too long, closing connection\r\n";
        state_ = server_state::closing;
      }
      return false;
    }
    in_.erase(0, nl + 1);
    discarding_ = false;
    line.clear();
    skipped = true;  // answered when the discarding began
    return true;
  }
  std::size_t limit = std::max(cfg_.max_line, cfg_.max_auth_line);
  if (nl == std::string::npos) {
    if (in_.size() > limit) {
      discarding_ = true;
      discarded_ = in_.size();
      in_.clear();
      // Say so now: a client that never ends its line still gets an answer.
      error_reply("500 5.5.2 Error: line too long");
    }
    return false;
  }
  if (nl + 1 > limit) {
    in_.erase(0, nl + 1);
    too_long = true;
    return true;
  }
  line.assign(in_, 0, nl);
  in_.erase(0, nl + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  // Command lines have the short limit; only AUTH and SASL responses may be longer.
  if (state_ != server_state::auth && line.size() + 2 > cfg_.max_line && !istarts_with(line, "AUTH "))
    too_long = true;
  return true;
}

void server_session::command(const std::string& line) {
  std::string_view l(line);
  auto sp = l.find(' ');
  std::string_view verb = l.substr(0, sp);
  std::string_view arg = sp == std::string_view::npos ? std::string_view{} : trim(l.substr(sp + 1));
  bool greeted = state_ != server_state::greeting;
  bool transaction = state_ == server_state::mail;

  if (iequals(verb, "EHLO") || iequals(verb, "HELO")) return cmd_ehlo(arg, iequals(verb, "EHLO"));
  if (iequals(verb, "MAIL")) {
    if (!greeted) return error_reply("503 5.5.1 Error: send HELO/EHLO first");
    if (transaction) return error_reply("503 5.5.1 Error: nested MAIL command");
    return cmd_mail(arg);
  }
  if (iequals(verb, "RCPT")) {
    if (!transaction) return error_reply("503 5.5.1 Error: need MAIL command");
    return cmd_rcpt(arg);
  }
  if (iequals(verb, "DATA")) return cmd_data(arg);
  if (iequals(verb, "RSET")) {
    if (!arg.empty()) return error_reply("501 5.5.4 Syntax: RSET");
    reset_transaction();
    if (greeted) state_ = server_state::ready;
    return reply("250 2.0.0 Ok");
  }
  if (iequals(verb, "NOOP")) return reply("250 2.0.0 Ok");
  if (iequals(verb, "QUIT")) {
    reply("221 2.0.0 Bye");
    state_ = server_state::closing;
    return;
  }
  if (iequals(verb, "VRFY")) {
    if (arg.empty()) return error_reply("501 5.5.4 Syntax: VRFY address");
    return reply("252 2.5.0 Cannot VRFY user, but will accept the message and attempt delivery");
  }
  if (iequals(verb, "HELP"))
    return reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS AUTH");
  if (iequals(verb, "STARTTLS")) return cmd_starttls(arg);
  if (iequals(verb, "AUTH")) return cmd_auth(arg);
  // An HTTP request sent to the SMTP port (a browser, a cross-protocol attack): not a mail client.
  if (iequals(verb, "GET") || iequals(verb, "POST") || iequals(verb, "CONNECT") || iequals(verb, "PUT") ||
      iequals(verb, "HEAD")) {
    out_ += "421 4.7.0 " + cfg_.hostname + " Error: this is an SMTP server, closing connection\r\n";
    state_ = server_state::closing;
    return;
  }
  error_reply("500 5.5.2 Error: command not recognized");
}

void server_session::cmd_ehlo(std::string_view arg, bool extended) {
  if (arg.empty() || arg.find(' ') != std::string_view::npos)
    return error_reply(extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
  reset_transaction();
  helo_ = header_safe(arg);
  extended_ = extended;
  state_ = server_state::ready;
  if (!extended) return reply("250 " + cfg_.hostname);
  std::vector<std::string> lines{cfg_.hostname + " Hello " + helo_,
                                 "PIPELINING",
                                 "SIZE " + std::to_string(cfg_.max_message_size),
                                 "8BITMIME",
                                 "SMTPUTF8",
                                 "ENHANCEDSTATUSCODES"};
  if (cfg_.starttls_available && !tls_) lines.emplace_back("STARTTLS");
  if (cfg_.auth_available && (tls_ || cfg_.allow_auth_without_tls)) lines.emplace_back("AUTH PLAIN LOGIN");
  lines.emplace_back("HELP");
  for (std::size_t i = 0; i < lines.size(); ++i) reply((i + 1 < lines.size() ? "250-" : "250 ") + lines[i]);
}

void server_session::cmd_mail(std::string_view arg) {
  if (cfg_.auth_required && auth_user_.empty()) {
    if (!tls_ && !cfg_.allow_auth_without_tls && cfg_.starttls_available)
      return error_reply("530 5.7.0 Must issue a STARTTLS command first");
    return error_reply("530 5.7.0 Authentication required");
  }
  if (!istarts_with(arg, "FROM:")) return error_reply("501 5.5.4 Syntax: MAIL FROM:<address>");
  std::string path;
  std::string_view params;
  if (!split_path(arg.substr(5), path, params)) return error_reply("501 5.1.7 Syntax: MAIL FROM:<address>");
  received_message m;
  std::size_t declared = 0;
  while (!params.empty()) {
    auto sp = params.find(' ');
    std::string_view p = params.substr(0, sp);
    params = sp == std::string_view::npos ? std::string_view{} : trim(params.substr(sp + 1));
    if (!extended_) return error_reply("555 5.5.4 Error: MAIL parameters need EHLO");
    auto eq = p.find('=');
    std::string_view key = p.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : p.substr(eq + 1);
    if (iequals(key, "SIZE") && eq != std::string_view::npos) {
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), declared);
      if (ec != std::errc{} || ptr != value.data() + value.size() || value.empty())
        return error_reply("501 5.5.4 Error: bad SIZE parameter");
    } else if (iequals(key, "BODY") && eq != std::string_view::npos) {
      if (iequals(value, "8BITMIME"))
        m.eight_bit = true;
      else if (!iequals(value, "7BIT"))
        return error_reply("555 5.5.4 Error: BODY=" + header_safe(value) + " is not supported");
    } else if (iequals(key, "SMTPUTF8") && eq == std::string_view::npos) {
      m.smtputf8 = true;
    } else if (iequals(key, "AUTH") && eq != std::string_view::npos) {
      // RFC 4954 §5: the original submitter; accepted and not passed on.
    } else {
      return error_reply("555 5.5.4 Error: unsupported MAIL parameter " + header_safe(key));
    }
  }
  if (declared > cfg_.max_message_size)
    return error_reply("552 5.3.4 Error: message size exceeds the limit of " +
                       std::to_string(cfg_.max_message_size) + " octets");
  if (!path.empty()) {
    auto c = check_path(path, m.smtputf8);
    if (c == path_check::needs_utf8)
      return error_reply("553 5.6.7 Error: a non-ASCII address needs the SMTPUTF8 parameter");
    if (c != path_check::ok) return error_reply("501 5.1.7 Error: bad sender address syntax");
  }
  m.mail_from = std::move(path);
  message_ = std::move(m);
  state_ = server_state::mail;
  reply("250 2.1.0 Ok");
}

void server_session::cmd_rcpt(std::string_view arg) {
  if (!istarts_with(arg, "TO:")) return error_reply("501 5.5.4 Syntax: RCPT TO:<address>");
  std::string path;
  std::string_view params;
  if (!split_path(arg.substr(3), path, params)) return error_reply("501 5.1.3 Syntax: RCPT TO:<address>");
  if (!params.empty()) return error_reply("555 5.5.4 Error: RCPT parameters are not supported");
  if (iequals(path, "postmaster")) {
    // RFC 5321 §4.5.1: <Postmaster> without a domain must be accepted.
  } else {
    auto c = check_path(path, message_.smtputf8);
    if (c == path_check::needs_utf8)
      return error_reply("553 5.6.7 Error: a non-ASCII address needs the SMTPUTF8 parameter");
    if (c != path_check::ok) return error_reply("501 5.1.3 Error: bad recipient address syntax");
  }
  if (message_.rcpt_to.size() >= cfg_.max_recipients)
    return error_reply("452 4.5.3 Error: too many recipients");
  message_.rcpt_to.push_back(std::move(path));
  reply("250 2.1.5 Ok");
}

void server_session::cmd_data(std::string_view arg) {
  if (state_ != server_state::mail) return error_reply("503 5.5.1 Error: need MAIL command");
  if (message_.rcpt_to.empty()) return error_reply("554 5.5.1 Error: no valid recipients");
  if (!arg.empty()) return error_reply("501 5.5.4 Syntax: DATA");
  reply("354 End data with <CR><LF>.<CR><LF>");
  state_ = server_state::content;
  data_ = data_state::bol;
  content_size_ = 0;
  too_big_ = false;
}

// The content up to CRLF.CRLF, with the dot that starts a line removed (RFC 5321 §4.5.2) and
// every other octet kept. Bytes beyond max_message_size are counted, not kept.
void server_session::content_bytes() {
  std::string& c = message_.content;
  std::size_t i = 0;
  const std::size_t n = in_.size();
  auto keep = [&](std::string_view s) {
    content_size_ += s.size();
    if (too_big_) return;
    if (content_size_ > cfg_.max_message_size) {
      too_big_ = true;
      std::string().swap(c);
      return;
    }
    c.append(s);
  };
  while (i < n) {
    char ch = in_[i];
    switch (data_) {
      case data_state::mid: {
        // Fast path: everything up to the next CR is content.
        auto cr = in_.find('\r', i);
        std::size_t end = cr == std::string::npos ? n : cr;
        keep(std::string_view(in_).substr(i, end - i));
        i = end;
        if (cr != std::string::npos) {
          keep("\r");
          ++i;
          data_ = data_state::cr;
        }
        continue;
      }
      case data_state::bol:
        if (ch == '.') {
          data_ = data_state::dot;
        } else {
          keep(std::string_view(&in_[i], 1));
          data_ = ch == '\r' ? data_state::cr : data_state::mid;
        }
        break;
      case data_state::cr:
        keep(std::string_view(&in_[i], 1));
        data_ = ch == '\n' ? data_state::bol : ch == '\r' ? data_state::cr : data_state::mid;
        break;
      case data_state::dot:  // a line that starts with a dot: the dot goes
        if (ch == '\r') {
          data_ = data_state::dot_cr;
        } else {
          keep(std::string_view(&in_[i], 1));
          data_ = data_state::mid;
        }
        break;
      case data_state::dot_cr:
        if (ch == '\n') {
          in_.erase(0, i + 1);
          finish_content();
          return;
        }
        keep("\r");
        keep(std::string_view(&in_[i], 1));
        data_ = ch == '\r' ? data_state::cr : data_state::mid;
        break;
    }
    ++i;
  }
  in_.clear();
}

void server_session::finish_content() {
  if (too_big_) {
    ++stats_.refused_too_big;
    error_reply("552 5.3.4 Error: message size exceeds the limit of " +
                std::to_string(cfg_.max_message_size) + " octets; not queued");
    if (state_ != server_state::closing) end_transaction();
    return;
  }
  message_.content.insert(0, received_header());
  message_.helo = helo_;
  message_.auth_user = auth_user_;
  message_.tls = tls_;
  ++stats_.messages;
  state_ = server_state::storing;
}

std::string server_session::received_header() const {
  std::string protocol;
  if (!extended_) {
    protocol = "SMTP";
  } else {
    protocol = message_.smtputf8 ? "UTF8SMTP" : "ESMTP";
    if (tls_) protocol += 'S';
    if (!auth_user_.empty()) protocol += 'A';
  }
  std::string addr =
      cfg_.peer_address.find(':') != std::string::npos ? "IPv6:" + cfg_.peer_address : cfg_.peer_address;
  auto now = cfg_.now ? cfg_.now() : std::chrono::system_clock::now();
  std::string h = "Received: from " + helo_;
  if (!addr.empty()) h += " ([" + header_safe(addr) + "])";
  h += "\r\n\tby " + cfg_.hostname + " (postern relay) with " + protocol + ";\r\n\t" + rfc5322_date(now) +
       "\r\n";
  return h;
}

void server_session::cmd_starttls(std::string_view arg) {
  if (!arg.empty()) return error_reply("501 5.5.4 Syntax: STARTTLS");
  if (tls_) return error_reply("503 5.5.1 Error: TLS already active");
  if (!cfg_.starttls_available) return error_reply("502 5.5.1 Error: STARTTLS not available");
  if (state_ == server_state::greeting) return error_reply("503 5.5.1 Error: send EHLO first");
  if (state_ == server_state::mail) return error_reply("503 5.5.1 Error: MAIL transaction in progress");
  reply("220 2.0.0 Ready to start TLS");
  // Bytes pipelined after STARTTLS would be taken as sent over TLS (CVE-2011-0411): dropped.
  in_.clear();
  state_ = server_state::tls;
}

void server_session::cmd_auth(std::string_view arg) {
  if (!cfg_.auth_available) return error_reply("503 5.5.1 Error: authentication not enabled");
  if (state_ == server_state::greeting) return error_reply("503 5.5.1 Error: send EHLO first");
  if (!auth_user_.empty()) return error_reply("503 5.5.1 Error: already authenticated");
  if (state_ == server_state::mail) return error_reply("503 5.5.1 Error: MAIL transaction in progress");
  if (!tls_ && !cfg_.allow_auth_without_tls)
    return error_reply("538 5.7.11 Encryption required for requested authentication mechanism");
  auto sp = arg.find(' ');
  std::string_view mech = arg.substr(0, sp);
  std::optional<std::string_view> initial;
  if (sp != std::string_view::npos) initial = trim(arg.substr(sp + 1));
  sasl_user_.clear();
  if (iequals(mech, "PLAIN")) {
    sasl_mech_ = "PLAIN";
    sasl_step_ = 1;
    state_ = server_state::auth;
    if (initial) return auth_response(std::string(*initial));
    return reply("334 ");
  }
  if (iequals(mech, "LOGIN")) {
    sasl_mech_ = "LOGIN";
    sasl_step_ = 1;
    state_ = server_state::auth;
    if (initial) return auth_response(std::string(*initial));
    return reply("334 VXNlcm5hbWU6");  // "Username:"
  }
  error_reply("504 5.5.4 Error: unsupported authentication mechanism");
}

void server_session::auth_response(const std::string& line) {
  state_ = server_state::ready;
  if (line == "*") return error_reply("501 5.0.0 Error: authentication cancelled");
  std::optional<std::string> decoded =
      line == "=" ? std::optional<std::string>("") : mime::base64_decode(line);
  if (!decoded) return error_reply("501 5.5.2 Error: cannot decode the response");
  if (sasl_mech_ == "PLAIN") {
    // authzid NUL authcid NUL password (RFC 4616)
    auto a = decoded->find('\0');
    auto b = a == std::string::npos ? std::string::npos : decoded->find('\0', a + 1);
    if (b == std::string::npos || decoded->find('\0', b + 1) != std::string::npos)
      return error_reply("501 5.5.2 Error: malformed PLAIN response");
    std::string authz = decoded->substr(0, a), user = decoded->substr(a + 1, b - a - 1);
    if (!authz.empty() && authz != user)
      return error_reply("535 5.7.8 Error: authentication credentials invalid");
    return auth_finish(user, decoded->substr(b + 1));
  }
  if (sasl_step_ == 1) {
    sasl_user_ = *decoded;
    sasl_step_ = 2;
    state_ = server_state::auth;
    return reply("334 UGFzc3dvcmQ6");  // "Password:"
  }
  auth_finish(sasl_user_, *decoded);
}

void server_session::auth_finish(const std::string& user, const std::string& password) {
  state_ = server_state::ready;
  if (!user.empty() && check_ && check_(user, password)) {
    auth_user_ = user;
    return reply("235 2.7.0 Authentication successful");
  }
  error_reply("535 5.7.8 Error: authentication credentials invalid");
}

}  // namespace postern::relay
