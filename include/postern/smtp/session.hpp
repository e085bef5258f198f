#pragma once
/**
 * @file
 * The client side of one SMTP transaction as a sans-I/O state machine.
 *
 * The session never touches a socket. A driver (postern::send) loops:
 *
 *   smtp::session s(cfg, env, smtp::encode_data(msg));
 *   for (;;) {
 *     auto a = s.next();
 *     if (a.kind == action_kind::write)      { write(a.bytes); s.written(); }
 *     else if (a.kind == action_kind::read)  { s.received(read_some(deadline_for(a.wait))); }
 *     else if (a.kind == action_kind::start_tls) { handshake(); s.tls_started(); }
 *     else break;                            // finished or failed: see s.result()
 *   }
 *   // on EOF/reset at any point: s.connection_lost();
 *
 * Order: greeting → EHLO (HELO when EHLO gets 5xx) → [STARTTLS → EHLO again, with the
 * pre-TLS capabilities discarded] → [AUTH] → MAIL, RCPT…, DATA (pipelined in one write when
 * PIPELINING is offered) → content → QUIT. With CHUNKING (RFC 3030) the content goes as
 * BDAT chunks instead of DATA: not dot-stuffed, and with PIPELINING in the same flight as
 * MAIL and RCPT.
 *
 * Across messages (RFC 2920 §3.1: the content may be the first "command" of a group): once a
 * message's final dot (or LAST chunk) is written, pipeline_next() writes the next message's MAIL,
 * RCPT… and DATA without waiting for the dot's reply. At most one message is ever committed and
 * unanswered: the next one's content waits for its 354 (DATA) or, with BDAT, for the previous
 * reply, so a connection lost after a dot leaves only THAT message unknown.
 */
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "postern/smtp/capabilities.hpp"
#include "postern/smtp/data.hpp"
#include "postern/smtp/dsn.hpp"
#include "postern/smtp/reply.hpp"
#include "postern/smtp/sasl.hpp"

namespace postern::smtp {

/** Which RFC 5321 §4.5.3.2 timeout applies to a wait. */
enum class wait_kind {
  greeting,          ///< the 220 greeting (RFC 5321: 5 minutes)
  command,           ///< a reply to a command (RFC 5321: 5 minutes)
  data_initiation,   ///< the 354 reply to DATA (RFC 5321: 2 minutes)
  data_termination,  ///< the reply to the final dot (RFC 5321: 10 minutes)
};

/** What the driver must do next. */
enum class action_kind {
  write,      ///< write action::bytes, then call written()
  read,       ///< read, then call received() (or connection_lost())
  start_tls,  ///< run the TLS handshake, then call tls_started()
  finished,   ///< done: the connection may be closed
  failed,     ///< stopped on an error (see session::result()); close the connection
};

/** One step for the driver, returned by session::next(). */
struct action {
  action_kind kind = action_kind::read;  ///< what to do
  std::string_view bytes;                ///< for write: valid until the next call on the session
  wait_kind wait = wait_kind::command;   ///< for read
};

/** Where the session is; each change is recorded in the transcript. */
enum class state {
  greeting,        ///< waiting for the 220 greeting
  ehlo,            ///< EHLO sent
  helo,            ///< HELO sent (EHLO got 5xx)
  starttls,        ///< STARTTLS sent
  tls_handshake,   ///< the driver runs the TLS handshake
  ehlo_after_tls,  ///< EHLO sent again over TLS
  auth,            ///< the AUTH exchange
  mail,            ///< MAIL FROM sent
  rcpt,            ///< RCPT TO sent
  data,            ///< DATA sent
  content,         ///< the message and the final dot
  rset,            ///< RSET sent (before the next message after a failure)
  quit,            ///< QUIT sent
  done,            ///< finished (delivered, or stopped without QUIT to send another)
  failed           ///< stopped on an error
};
/** The state's name as the transcript shows it, e.g. "ehlo_after_tls". */
const char* to_string(state s) noexcept;

/** The SMTP envelope: who the message is from and to (not the header's From/To). */
struct envelope {
  std::string mail_from;             ///< "" for the null sender
  std::vector<std::string> rcpt_to;  ///< the recipients, one RCPT TO each, in order
  /** Delivery status notifications (RFC 3461): RET/ENVID on MAIL, NOTIFY/ORCPT on each RCPT
      when the server offers DSN; nullopt: no DSN parameters. */
  std::optional<dsn_request> dsn{};
};

/** How the session behaves: the EHLO name, TLS, AUTH and pipelining choices. */
struct session_config {
  std::string ehlo_domain = "localhost";  ///< the name sent in EHLO/HELO
  bool starttls = false;    ///< send STARTTLS after the first EHLO; fail with starttls_missing if not offered
  bool tls_active = false;  ///< true when the connection is already TLS (implicit TLS)
  sasl_mechanism* auth = nullptr;  ///< authenticate after EHLO (after TLS when starttls); not owned
  bool allow_auth_without_tls =
      false;                   ///< otherwise AUTH on a plaintext connection fails (smtp.auth-needs-tls)
  bool use_pipelining = true;  ///< pipeline MAIL/RCPT/DATA when the server offers PIPELINING
  /** false: after a delivered message stop in state done without QUIT, so that
      next_message() can send another over the same connection; finish() sends QUIT. */
  bool quit_when_done = true;
  reply_limits limits;  ///< bounds on the server's replies
  /** Send the content with BDAT when the server offers CHUNKING (RFC 3030); false: always DATA. */
  bool use_chunking = true;
  std::size_t chunk_size = 1024 * 1024;  ///< octets per BDAT chunk (the last may be shorter)
  /** Turns a UTF-8 domain into its IDNA A-label ("bücher.example" → "xn--bcher-kva.example"), used
      for envelope addresses when the server lacks SMTPUTF8; nullopt when it cannot. Unset: such a
      domain fails with utf8_unsupported. The SMTP core stays free of IDNA tables this way. */
  std::function<std::optional<std::string>(std::string_view)> domain_to_ascii;
};

/** One transcript entry: what was said, by whom. Credentials are already redacted. */
struct transcript_event {
  /** Who an entry is from. */
  enum class who { client, server, info } from;
  /** @var from
   * client: sent; server: received; info: postern's note (state changes, TLS, errors) */
  std::string text;  ///< one line per entry, without CRLF
};

/** What the server said to one RCPT TO. */
struct recipient_result {
  std::string address;    ///< the recipient as given
  bool accepted = false;  ///< the RCPT TO got 2xx
  reply response;         ///< the server's reply to it
};

/** The outcome of a session (of its current transaction, after next_message()). */
struct session_result {
  bool delivered = false;  ///< the final dot got 250 (at least one recipient accepted)
  std::error_code
      error;  ///< why it was not delivered (errc); empty when delivered. Refused recipients: see recipients
  state failed_in = state::done;             ///< the state in which the error happened
  std::optional<reply> last_reply;           ///< the reply that caused the error, if any
  std::vector<recipient_result> recipients;  ///< one per RCPT TO sent, in order
  std::optional<reply> final_reply;          ///< reply to the end of DATA
  capabilities caps;                         ///< the capabilities in force (post-TLS ones after STARTTLS)
  bool used_pipelining = false;              ///< MAIL/RCPT/DATA went in one write
  bool used_chunking = false;                ///< the content went as BDAT chunks
  bool used_smtputf8 = false;                ///< MAIL FROM carried SMTPUTF8
  bool used_dsn = false;                     ///< the DSN parameters were sent
  bool dsn_ignored = false;  ///< DSN was asked for (not required) and the server does not offer it
  std::optional<std::string> auth_mechanism;  ///< the SASL mechanism that authenticated; nullopt: none
};

/**
 * Decisions worth knowing when driving or reading a session:
 * - A failure ends the session at once with action_kind::failed; no QUIT is sent (the driver closes).
 *   The one exception: after a pipelined DATA got 354 with every RCPT refused, "." is sent to end the
 *   empty content and its reply read before failing with no_recipient_accepted.
 * - SIZE=, BODY=8BITMIME and the SIZE limit check use scan_encoded(data), i.e. the size of the
 *   message with CRLF line ends, before dot-stuffing.
 * - Replies: 421 anywhere → transient; 530 to AUTH/MAIL/RCPT/DATA before TLS → starttls_required;
 *   552 to MAIL or to the final dot → message_too_big; otherwise 4xx → transient, 5xx → rejected,
 *   and a reply of a class the command cannot get → bad_reply. no_recipient_accepted and
 *   starttls_refused keep their own errc; cause(const session_result&) tells 4xx from 5xx.
 * - Transcript: server lines escaped (non-printable octets as `\xNN`); AUTH arguments and every client
 *   line of the SASL exchange as "<redacted>"; the content as one "<message: N octets>" entry.
 */
class session {
 public:
  /**
   * A session that will send @p data to @p env over a connection about to greet.
   * @param config how to behave (EHLO name, STARTTLS, AUTH, pipelining)
   * @param env    the envelope
   * @param data   the message already in DATA form (see encode_data), terminator included.
   */
  session(session_config config, envelope env, std::string data);

  /** What the driver must do now. Calling it twice without an event returns the same action. */
  action next();
  /** The bytes of the last write action have been written. */
  void written();
  /** Bytes read from the server. All of them are consumed (buffered internally if needed). */
  void received(std::string_view bytes);
  /** The TLS handshake after STARTTLS (or the implicit one) succeeded. */
  void tls_started();
  /** The connection closed or failed. Maps to outcome_unknown after the final dot, else connection_lost. */
  void connection_lost();

  /**
   * True when the connection can carry another transaction: the last message was
   * delivered (with quit_when_done false), or it failed in MAIL/RCPT/DATA/content for
   * a reason that leaves the connection usable (a 4xx or 5xx other than 421, every
   * recipient refused, too big, a bad address).
   */
  bool can_continue() const noexcept;
  /** The pending write ends the message's content (the final dot, or the LAST chunk): once it is
      written, a lost connection leaves the outcome unknown. */
  bool write_ends_content() const noexcept { return writing_content_ && !ending_empty_data_; }
  /**
   * Starts the next transaction on the same connection (precondition: can_continue()).
   * The result's per-message fields are reset; capabilities and authentication stay.
   * After a failed transaction RSET is sent first.
   */
  void next_message(envelope env, std::string data);
  /** Ends the connection politely with QUIT (from done, or a failure that can_continue()). */
  void finish();

  /**
   * True when the next message may be pipelined behind the current one now: the server offers
   * PIPELINING, quit_when_done is false, and the current message's end (final dot, LAST chunk) has
   * been written but not answered.
   */
  bool can_pipeline_next() const noexcept;
  /**
   * Writes the next message's commands (RSET first when the current transaction may still need
   * clearing, then MAIL, RCPT…, and DATA unless it goes as BDAT) without waiting for the current
   * message's reply; its content goes once it is the current message (see next_pipelined()).
   * @return false (and nothing written) when !can_pipeline_next() or the message cannot be sent
   *         (a bad address, too big…): give it to next_message() later, which says why.
   */
  bool pipeline_next(envelope env, std::string data);
  /** A message is pipelined behind the current one (pipeline_next() returned true). */
  bool has_pipelined() const noexcept { return staged_.has_value(); }
  /**
   * Makes the pipelined message the current one, once the previous one's outcome is collected
   * (precondition: has_pipelined() and can_continue()). Its replies, some maybe already read,
   * are then attributed to it. When !can_continue() the pipelined message was never sent.
   */
  void next_pipelined();

  state current_state() const noexcept { return state_; }            ///< where the session is now
  const session_result& result() const noexcept { return result_; }  ///< the outcome so far
  /** Everything said so far, in order (credentials redacted). */
  const std::vector<transcript_event>& transcript() const noexcept { return transcript_; }
  /** Drops the transcript entries recorded so far (a driver that copied them out keeps a long
      connection's memory flat); later entries start again at index 0. */
  void clear_transcript() noexcept { transcript_.clear(); }
  /** Size of the message content in DATA form, dot-stuffing and terminator included (for reports). */
  std::size_t data_size() const noexcept { return data_.size(); }
  /** Facts of the message before encoding, recovered from the DATA form (SIZE= announces facts().wire_size).
   */
  const message_facts& facts() const noexcept { return facts_; }

 private:
  void set_state(state s);
  void record(transcript_event::who from, std::string text);
  void write(std::string bytes);
  void write_redacted(std::string bytes, std::string shown);
  void fail(errc e, std::optional<reply> cause_reply = std::nullopt);
  void fail_by_class(const reply& r);
  void pump();
  void on_reply(reply r);
  void on_greeting(const reply& r);
  void on_ehlo(const reply& r);
  void on_helo(const reply& r);
  void on_starttls(const reply& r);
  void on_auth(const reply& r);
  void on_mail(const reply& r);
  void on_rcpt(reply r);
  void on_data(const reply& r);
  void on_content(const reply& r);
  void on_rset(const reply& r);
  void after_hello(const reply& r);
  void begin_auth(const reply& ehlo_reply);
  void begin_mail();
  void fail_no_recipient();
  bool any_accepted() const noexcept;
  bool ascii_envelope(std::string& mail_from, std::vector<std::string>& rcpts,
                      std::vector<std::string>& notes) const;
  void append_chunk(std::string& out);
  void write_queued(std::string bytes);
  void on_chunk(const reply& r);
  void record_commands(std::string_view bytes);
  // One transaction's commands, built before any is sent (begin_mail, pipeline_next).
  struct planned {
    envelope env;
    std::string data;
    message_facts facts;
    std::string mail;  // MAIL FROM command
    std::vector<std::string> rcpt_commands;
    std::vector<recipient_result> recipients;
    bool chunking = false, smtputf8 = false, dsn = false, dsn_ignored = false;
    std::vector<std::string> notes;  // info lines for the transcript
    bool rset = false;               // pipelined behind a transaction that may need clearing
  };
  std::optional<errc> plan_mail(planned& t) const;
  void adopt(planned& t);
  void reset_transaction();
  bool chunks_left() const noexcept { return chunks_sent_ == 0 || chunk_offset_ < raw_.size(); }

  session_config config_;
  envelope env_;
  std::string data_;
  message_facts facts_;  // of the message before encoding; SIZE= and BODY= come from it
  state state_ = state::greeting;
  session_result result_;
  std::vector<transcript_event> transcript_;
  reply_parser parser_;
  std::string in_;  // received, not yet fed to the parser
  std::size_t in_pos_ = 0;
  std::string out_;
  std::string_view out_view_;  // the pending write: out_, or data_ for the content
  bool out_pending_ = false;
  std::vector<std::string> rcpt_commands_;
  std::size_t rcpt_index_ = 0;
  bool tls_ = false;
  bool pipelined_ = false;
  bool auth_done_ = false;
  bool auth_cancelled_ = false;  // "*" sent after a failed step; the next reply ends AUTH
  bool writing_content_ = false;
  bool content_written_ = false;  // from here until the final reply, a lost connection is outcome_unknown
  bool quit_sent_ = false;
  bool ending_empty_data_ = false;  // "." sent after a pipelined 354 with no recipient accepted
  bool chunking_ = false;           // this transaction sends BDAT chunks
  std::string raw_;                 // the content for BDAT: CRLF, not dot-stuffed
  std::size_t chunk_offset_ = 0;    // octets of raw_ already queued
  std::size_t chunks_sent_ = 0;
  std::size_t chunk_replies_ = 0;
  std::optional<planned> staged_;  // pipelined behind the current message, commands written
  bool adopted_ = false;           // the current transaction's commands went out while it was staged
  std::size_t skip_replies_ = 0;   // replies still owed to a failed pipelined transaction
};

/**
 * The DESIGN.md cause code of a session's error, refined by the replies: no_recipient_accepted is
 * "smtp.transient" when every refusal was 4xx, starttls_refused when the reply was 4xx.
 * @return "" when there is no error.
 */
const char* cause(const session_result& result) noexcept;

}  // namespace postern::smtp
