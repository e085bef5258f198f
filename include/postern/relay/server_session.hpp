#pragma once
/**
 * @file
 * The server side of SMTP (RFC 5321) as a sans-I/O state machine: what `postern relay` speaks
 * to local programs. Bytes in, replies and decisions out; it never touches a socket, a file or
 * a clock of its own (the Received header's time comes from server_config::now).
 *
 * A driver loops:
 *
 *   relay::server_session s(cfg, check_password);
 *   for (;;) {
 *     auto a = s.next();
 *     if (a.kind == action_kind::write)          { write(a.bytes); s.written(); }
 *     else if (a.kind == action_kind::read)      { s.received(read_some()); }   // EOF: stop
 *     else if (a.kind == action_kind::start_tls) { handshake(); s.tls_started(); }
 *     else if (a.kind == action_kind::store)     { s.stored(queue(s.message())); }
 *     else break;                                 // close
 *   }
 *
 * Offered: PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS (when the driver
 * can), AUTH PLAIN LOGIN (when credentials can be checked, and only over TLS unless
 * allow_auth_without_tls). The content of a message is kept byte for byte except for the
 * removal of the transparency dots (RFC 5321 §4.5.2); a Received header is prepended
 * (§4.4). Memory is bounded: a command line longer than the limit is discarded as it arrives,
 * a message beyond max_message_size is read to its end and refused with 552 without being
 * kept, and replies are flushed before more input is taken.
 */
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::relay {

/** How the session behaves. */
struct server_config {
  std::string hostname = "localhost";  ///< the name in the greeting, the EHLO reply and Received
  std::string peer_address;            ///< the client's address ("127.0.0.1"), for Received
  std::size_t max_line = 512;          ///< a command line, CRLF included (RFC 5321 §4.5.3.1.4)
  std::size_t max_auth_line = 12288;   ///< an AUTH line or SASL response (RFC 4954 §4)
  std::size_t max_message_size = 32u * 1024 * 1024;  ///< octets of content; advertised as SIZE
  std::size_t max_recipients = 100;                  ///< RCPT per message; more get 452
  unsigned max_errors = 10;         ///< client errors (4xx/5xx replies to bad commands) before 421 and close
  bool tls_active = false;          ///< the connection is TLS already (an implicit-TLS listener)
  bool starttls_available = false;  ///< the driver can run a server TLS handshake
  bool auth_available = false;      ///< credentials can be checked (a users file)
  bool auth_required = false;       ///< MAIL needs a successful AUTH first
  bool allow_auth_without_tls = false;  ///< AUTH offered on a plain connection (loopback only)
  /** The time for the Received header; unset: the system clock. */
  std::function<std::chrono::system_clock::time_point()> now;
};

/** Checks one user's password; true when they match. Called from within received(). */
using credential_check = std::function<bool(const std::string& user, const std::string& password)>;

/** What the driver must do next. */
enum class action_kind {
  write,      ///< write action::bytes, then call written()
  read,       ///< read some bytes, then call received() (EOF: stop, the client is gone)
  start_tls,  ///< run the server TLS handshake (after the 220 was written), then tls_started()
  store,      ///< queue message() durably, then call stored()
  close,      ///< done (QUIT, too many errors, a timeout, shutdown): close the connection
};

/** One step for the driver, returned by server_session::next(). */
struct action {
  action_kind kind = action_kind::read;  ///< what to do
  std::string_view bytes;                ///< for write: valid until the next call on the session
};

/** Where the session is. */
enum class server_state {
  greeting,  ///< before EHLO/HELO
  ready,     ///< greeted, no transaction
  mail,      ///< MAIL accepted, collecting RCPT
  content,   ///< after 354: reading the message up to the final dot
  storing,   ///< the message is complete; waiting for stored()
  auth,      ///< waiting for a SASL response line
  tls,       ///< waiting for tls_started()
  closing,   ///< the last reply is being written; then close
};

/** A complete message, accepted by the session and waiting to be queued. */
struct received_message {
  std::string mail_from;             ///< the reverse path ("" for the null sender <>)
  std::vector<std::string> rcpt_to;  ///< the accepted recipients, in order
  std::string content;               ///< the Received header, then the message bytes (CRLF ends lines)
  bool smtputf8 = false;             ///< MAIL had SMTPUTF8
  bool eight_bit = false;            ///< MAIL had BODY=8BITMIME
  std::string helo;                  ///< the EHLO/HELO name the client gave
  std::string auth_user;             ///< who authenticated; "" when nobody did
  bool tls = false;                  ///< the message came over TLS
};

/** Counters for tests and logs. */
struct session_stats {
  unsigned commands = 0;         ///< command lines handled
  unsigned errors = 0;           ///< client errors counted towards max_errors
  unsigned messages = 0;         ///< messages handed over with action_kind::store
  unsigned refused_too_big = 0;  ///< messages refused with 552 after reading them
};

/** One SMTP server connection's protocol state. Not copyable; one per connection. */
class server_session {
 public:
  /** A session that starts by greeting with 220; @p check verifies AUTH credentials. */
  explicit server_session(server_config cfg, credential_check check = {});
  server_session(const server_session&) = delete;
  server_session& operator=(const server_session&) = delete;

  /** The next step. */
  action next();
  /** The bytes of the last write action went out. */
  void written();
  /** Bytes from the client (any amount; they are consumed as far as the state allows). */
  void received(std::string_view bytes);
  /** The TLS handshake after STARTTLS succeeded: the session starts over (RFC 3207 §4.2). */
  void tls_started();
  /** The message of the store action: queued durably as @p queue_id, or (nullopt) not queued. */
  void stored(const std::optional<std::string>& queue_id);
  /** The message waiting in action_kind::store; valid until stored(). */
  const received_message& message() const noexcept { return message_; }

  /** The client was silent too long or the session took too long: 421 and close. */
  void timed_out();
  /** The server stops: 421 and close now when no transaction is in progress, else right after
      the transaction in progress ends (its final reply is sent first). */
  void shut_down();
  /** A transaction is in progress: MAIL was accepted and the message is not answered yet. */
  bool in_transaction() const noexcept;

  /** Where the session is. */
  server_state state() const noexcept { return state_; }
  /** Counters so far. */
  const session_stats& stats() const noexcept { return stats_; }

 private:
  void process();
  bool take_line(std::string& line, bool& too_long, bool& skipped);
  void command(const std::string& line);
  void auth_response(const std::string& line);
  void content_bytes();
  void finish_content();
  void reply(std::string_view text);
  void error_reply(std::string_view text);
  void reset_transaction();
  void end_transaction();
  std::string received_header() const;
  void cmd_ehlo(std::string_view arg, bool extended);
  void cmd_mail(std::string_view arg);
  void cmd_rcpt(std::string_view arg);
  void cmd_data(std::string_view arg);
  void cmd_auth(std::string_view arg);
  void cmd_starttls(std::string_view arg);
  void auth_finish(const std::string& user, const std::string& password);

  enum class data_state { bol, mid, cr, dot, dot_cr };

  server_config cfg_;
  credential_check check_;
  server_state state_ = server_state::greeting;
  std::string in_;             ///< input not yet consumed
  std::string out_;            ///< replies not yet handed out
  std::size_t out_given_ = 0;  ///< bytes of out_ handed to the driver in a write action
  bool discarding_ = false;    ///< inside an over-long line, skipping to its end
  std::size_t discarded_ = 0;  ///< octets of that line skipped so far
  bool extended_ = false;      ///< EHLO (not HELO)
  bool tls_ = false;
  bool draining_ = false;  ///< shut_down() was called
  bool close_after_write_ = false;
  std::string helo_;
  std::string auth_user_;
  // the SASL exchange in progress
  std::string sasl_mech_;
  int sasl_step_ = 0;
  std::string sasl_user_;
  // the transaction in progress
  received_message message_;
  bool too_big_ = false;
  std::size_t content_size_ = 0;
  data_state data_ = data_state::bol;
  session_stats stats_;
};

}  // namespace postern::relay
