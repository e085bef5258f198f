#pragma once
// One diagnostic connection: connect, [implicit TLS], greeting, EHLO, [STARTTLS, TLS, EHLO],
// optionally MAIL FROM:<> and RSET, QUIT. It sends no message and no credentials.
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "postern/net/mode.hpp"
#include "postern/net/stream.hpp"
#include "postern/smtp/capabilities.hpp"
#include "postern/smtp/reply.hpp"
#include "postern/tls/policy.hpp"
#include "tls/openssl_context.hpp"

namespace postern::diagnose {

struct attempt_spec {
  std::string label;  // "strict", "probe:rsa-kx", … (for routes_tried)
  std::string host;
  std::uint16_t port = 0;
  net::mode mode = net::mode::starttls;
  tls::policy policy;
  bool verify = true;
  std::string ca_file;
  tls::client_identity client;  // presented when the server asks
  std::string tls_name;         // "" = host
  std::string ehlo_domain = "localhost";
  bool check_mail = false;      // send MAIL FROM:<> then RSET (finds 530 before STARTTLS)
  bool handshake_only = false;  // stop once TLS is up (follow-up probes need no more)
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds silence_window{0};  // >0: check for an implicit-TLS port when silent this long
  std::optional<net::proxy> proxy{};            // connect through it
};

struct attempt_result {
  std::string code;  // "" when everything asked for worked
  std::string summary;
  std::string detail;
  bool connected = false;
  bool handshake_ok = false;
  bool tls_port_detected = false;  // silent in plaintext, but a ClientHello got TLS back
  std::optional<smtp::reply> greeting;
  std::optional<smtp::capabilities> caps_before_tls;
  std::optional<smtp::capabilities> caps_after_tls;
  std::optional<tls::handshake_info> tls;
  std::optional<net::tls_failure> tls_failure;
  std::optional<smtp::reply> mail_reply;
  bool ok() const noexcept { return code.empty(); }
};

asio::awaitable<attempt_result> run_attempt(attempt_spec spec);

}  // namespace postern::diagnose
