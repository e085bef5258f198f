#pragma once
// The prober's connections: the SMTP preamble up to STARTTLS, one raw ClientHello with the
// server's first flight read back, and full OpenSSL handshakes for the client matrix.
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/net/stream.hpp"
#include "postern/smtp/capabilities.hpp"
#include "postern/smtp/reply.hpp"
#include "postern/tls/policy.hpp"
#include "probe/enumerate.hpp"

namespace postern::probe {

/** At most N connections at once, shared by every task of a run (single-threaded io_context). */
class limiter {
 public:
  limiter(asio::any_io_executor ex, std::size_t slots) : ex_(std::move(ex)), free_(slots ? slots : 1) {}
  asio::awaitable<void> acquire();
  void release();

 private:
  asio::any_io_executor ex_;
  std::size_t free_;
  std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
};

/** Where and how to connect. */
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  bool starttls = false;  ///< run greeting, EHLO, STARTTLS before TLS
  std::string tls_name;   ///< SNI / verification name
  std::string ehlo = "localhost";
  std::chrono::milliseconds timeout{10000};
  std::optional<net::proxy> proxy{};  ///< every connection goes through it
  int* connections = nullptr;         ///< counts the TCP connections opened, when set
};

/** What the plain-text part of an SMTP session showed. */
struct smtp_view {
  std::string code;  ///< "" when everything asked for worked, else a cause code
  std::string summary;
  std::optional<smtp::reply> greeting;
  std::optional<smtp::capabilities> caps;
  int round_trips = 0;  ///< connect, greeting, EHLO (plain_session)
};

/** One raw ClientHello on a fresh connection (after STARTTLS when ep.starttls). */
asio::awaitable<hello_outcome> send_hello(endpoint ep, wire::hello_params hello, limiter& jobs);

/** Connects and reads the greeting and EHLO in plain text, then QUIT. */
asio::awaitable<smtp_view> plain_session(endpoint ep, limiter& jobs);

/** A full handshake with a policy. */
struct handshake_outcome {
  bool ok = false;
  std::string code;  ///< cause code when not ok
  std::string summary;
  std::string version, cipher, group;
  std::vector<std::string> chain_der;   ///< the peer chain as sent (when ok)
  std::optional<smtp::reply> greeting;  ///< implicit TLS: the greeting read inside TLS
  std::optional<smtp::capabilities> caps_after_tls;
  int round_trips = 0;  ///< waits for the peer (connect, SMTP replies, handshake flights)
};

/**
 * A real OpenSSL handshake with @p ctx (from tls::make_client_context: it decides what is
 * offered and how the chain is verified). With @p smtp_after, reads the greeting (implicit TLS)
 * and sends EHLO over TLS. When the server asked for a client certificate, it does so anyway:
 * a TLS 1.3 server refuses a missing or unknown one only after the handshake, and that refusal
 * is the outcome (ok = false, tls.client-cert-required).
 */
asio::awaitable<handshake_outcome> real_handshake(endpoint ep, SSL_CTX* ctx, bool insecure, bool smtp_after,
                                                  limiter& jobs);

}  // namespace postern::probe
