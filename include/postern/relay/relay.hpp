#pragma once
/**
 * @file
 * `postern relay`: an SMTP server for local programs that cannot reach the real mail server
 * themselves (a rustls or Go client and an RSA-only relay, say). It accepts each message with
 * relay::server_session, hands it to a store callback that queues it durably, and only then
 * answers 250 to the final dot. No Asio or OpenSSL types appear here.
 *
 *   postern::relay::options o;
 *   o.listeners.push_back(postern::relay::parse_listener("127.0.0.1:2525", false).value());
 *   o.store = [&](const postern::relay::received_message& m, const postern::relay::peer_info& p) {
 *     return queue->add(to_queue(m, p), std::chrono::system_clock::now());
 *   };
 *   postern::relay::run(o);  // until SIGTERM or SIGINT
 */
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "postern/relay/server_session.hpp"

namespace postern::relay {

/** One address to listen on. */
struct listener {
  std::string address;        ///< a numeric IPv4 or IPv6 address ("127.0.0.1", "::1")
  std::uint16_t port = 0;     ///< the TCP port
  bool implicit_tls = false;  ///< TLS from the first byte (like port 465), else plain with STARTTLS
  /** "127.0.0.1:2525" or "[::1]:2525", for messages. */
  std::string text() const;
  /** The address is a loopback address (127.0.0.0/8, ::1). */
  bool loopback() const;
};

/** "ADDR:PORT" or "[IPv6]:PORT" (numeric addresses only); nullopt when it is not one. */
std::optional<listener> parse_listener(const std::string& text, bool implicit_tls);

/** Who sent a message, given to the store callback. */
struct peer_info {
  std::string address;   ///< the client's address
  std::string listener;  ///< the listener it came in on (listener::text())
};

/** Thrown by run() and users_file for configurations that cannot work; code is a docs/causes.md code
    (relay.listen-failed, relay.insecure-listen, relay.tls-config, relay.users-file). */
struct relay_error : std::runtime_error {
  /** @p cause_code names the cause; @p what says it in plain words. */
  relay_error(std::string cause_code, const std::string& what)
      : std::runtime_error(what), code(std::move(cause_code)) {}
  std::string code;  ///< the cause code
};

/**
 * The AUTH users: one `user:hash` per line (`#` comments, blank lines ignored), the hash as
 * crypt(3) writes it: yescrypt (`$y$`, `mkpasswd -m yescrypt`), SHA-512 (`$6$`, `openssl passwd -6`)
 * or bcrypt (`$2b$`). Plain-text passwords are refused when the file loads.
 */
class users_file {
 public:
  /** Loads @p path; throws relay_error (relay.users-file) naming the line that is wrong. */
  explicit users_file(const std::string& path);
  /** Whether @p password is @p user's; unknown users cost a hash computation too. */
  bool check(const std::string& user, const std::string& password) const;
  /** How many users the file has. */
  std::size_t size() const noexcept { return users_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> users_;
};

/** Everything run() needs. */
struct options {
  std::vector<listener> listeners;  ///< at least one
  std::string tls_cert;  ///< PEM certificate chain: STARTTLS on plain listeners; needed by implicit-TLS ones
  std::string tls_key;   ///< PEM private key of tls_cert
  std::optional<users_file> users;    ///< AUTH PLAIN/LOGIN against it, and then required for MAIL
  std::string hostname;               ///< greeting and Received; "": this machine's host name
  std::size_t max_connections = 100;  ///< at once; later connections get 421 and are closed
  std::size_t max_message_size = 32u * 1024 * 1024;  ///< octets, advertised as SIZE
  std::size_t max_recipients = 100;                  ///< per message
  unsigned max_errors = 10;                          ///< per session
  std::chrono::seconds idle_timeout{300};            ///< silence allowed while a command or data is awaited
  std::chrono::seconds session_timeout{3600};        ///< a whole connection, however busy
  /** Queues a message durably and returns its id, or nullopt (the client gets 451). Called on
      one thread dedicated to it, one message at a time, never on the listeners' thread. */
  std::function<std::optional<std::string>(const received_message&, const peer_info&)> store;
  /** One line per event (listening, connections refused, messages queued), for the log. */
  std::function<void(const std::string&)> log;
  /** Called once every listener is listening (a test or the CLI then says "ready"). */
  std::function<void()> on_ready;
};

/**
 * Checks @p o, listens, and serves until SIGTERM or SIGINT: then stops listening, lets the
 * transactions in progress finish (idle sessions get 421), and returns. Throws relay_error for a
 * listener on a non-loopback address without both TLS and AUTH (relay.insecure-listen), for an
 * implicit-TLS listener without a certificate, for a certificate or key that does not load
 * (relay.tls-config) and for an address that cannot be bound (relay.listen-failed).
 */
void run(const options& o);

}  // namespace postern::relay
