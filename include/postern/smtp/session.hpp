#pragma once
/**
 * @file The client side of one SMTP transaction as a sans-I/O state machine.
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
 * PIPELINING is offered) → content → QUIT.
 */
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "postern/smtp/capabilities.hpp"
#include "postern/smtp/reply.hpp"
#include "postern/smtp/sasl.hpp"

namespace postern::smtp {

/** Which RFC 5321 §4.5.3.2 timeout applies to a wait. */
enum class wait_kind { greeting, command, data_initiation, data_termination };

enum class action_kind { write, read, start_tls, finished, failed };

struct action {
  action_kind kind = action_kind::read;
  std::string_view bytes;          ///< for write: valid until the next call on the session
  wait_kind wait = wait_kind::command;   ///< for read
};

/** Where the session is; each change is recorded in the transcript. */
enum class state {
  greeting, ehlo, helo, starttls, tls_handshake, ehlo_after_tls, auth, mail, rcpt, data,
  content, quit, done, failed
};
const char* to_string(state s) noexcept;

struct envelope {
  std::string mail_from;               ///< "" for the null sender
  std::vector<std::string> rcpt_to;
};

struct session_config {
  std::string ehlo_domain = "localhost";
  bool starttls = false;               ///< send STARTTLS after the first EHLO; fail with starttls_missing if not offered
  bool tls_active = false;             ///< true when the connection is already TLS (implicit TLS)
  sasl_mechanism* auth = nullptr;      ///< authenticate after EHLO (after TLS when starttls); not owned
  bool allow_auth_without_tls = false; ///< otherwise AUTH on a plaintext connection fails (smtp.auth-needs-tls)
  bool use_pipelining = true;          ///< pipeline MAIL/RCPT/DATA when the server offers PIPELINING
  reply_limits limits;
};

/** One transcript entry: what was said, by whom. Credentials are already redacted. */
struct transcript_event {
  enum class who { client, server, info } from;
  std::string text;                    ///< one line per entry, without CRLF
};

struct recipient_result {
  std::string address;
  bool accepted = false;
  reply response;
};

struct session_result {
  bool delivered = false;              ///< the final dot got 250 (at least one recipient accepted)
  std::error_code error;               ///< why it was not delivered (errc); empty when delivered. Refused recipients: see recipients
  state failed_in = state::done;       ///< the state in which the error happened
  std::optional<reply> last_reply;     ///< the reply that caused the error, if any
  std::vector<recipient_result> recipients;
  std::optional<reply> final_reply;    ///< reply to the end of DATA
  capabilities caps;                   ///< the capabilities in force (post-TLS ones after STARTTLS)
  bool used_pipelining = false;
  std::optional<std::string> auth_mechanism;
};

class session {
 public:
  /** @param data the message already in DATA form (see encode_data), terminator included. */
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

  state current_state() const noexcept { return state_; }
  const session_result& result() const noexcept { return result_; }
  const std::vector<transcript_event>& transcript() const noexcept { return transcript_; }
  /** Size of the message content (for SIZE and reports). */
  std::size_t data_size() const noexcept { return data_.size(); }

 private:
  void set_state(state s);
  // (implementation-defined private members follow)
  session_config config_;
  envelope env_;
  std::string data_;
  state state_ = state::greeting;
  session_result result_;
  std::vector<transcript_event> transcript_;
  reply_parser parser_;
  std::string out_;
  bool out_pending_ = false;
  std::size_t replies_expected_ = 0;
  std::size_t rcpt_index_ = 0;
  bool tls_ = false;
};

}  // namespace postern::smtp
