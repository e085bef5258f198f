#pragma once
/**
 * @file
 * `postern doctor`: find the real cause of a connection failure by the follow-up
 * checks an expert would run by hand, and propose remedies safest first.
 *
 *   diagnose::target t{.host = "relay.example.net", .port = 465, .mode = net::mode::implicit_tls};
 *   auto d = diagnose::run(t);
 *   for (auto& f : d.findings) std::cout << f.code << ": " << f.summary << "\n";
 *
 * What it does: the route the user meant (strict profile, certificate verified), and at
 * the same time strict routes on the same port in the other mode and on the other
 * submission ports. When the strict handshake fails, follow-up handshakes offering only
 * RSA key exchange, only DHE, only CBC, only SHA-1 signatures or only TLS 1.0/1.1 tell
 * which one the server accepts; the compat and legacy profiles are tried with
 * verification on. Everything runs concurrently, so a dead port costs about one timeout.
 */
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "postern/diagnose/finding.hpp"
#include "postern/net/mode.hpp"
#include "postern/net/proxy.hpp"

namespace postern::diagnose {

/** What to diagnose: the server and the way the user meant to reach it. */
struct target {
  std::string host;                      ///< the server's name or address
  std::uint16_t port = 0;                ///< 0: default_port(mode)
  net::mode mode = net::mode::starttls;  ///< what the user meant to use
  std::string ca_file;      ///< PEM file of trusted roots instead of the system's; "" = the system's
  std::string tls_name;     ///< name the certificate must carry (and SNI); "" = host
  std::string ehlo_domain;  ///< the name sent in EHLO; "" = "localhost"
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  ///< per step of each attempt
  std::vector<std::uint16_t> other_ports{465, 587, 25};         ///< where to look for secure alternatives
  /** After this long without a greeting, a second connection checks for an implicit-TLS port. */
  std::chrono::milliseconds silence_window{std::chrono::seconds(3)};
  std::string client_cert{};  ///< PEM client certificate every attempt presents when asked; "" = none
  std::string client_key{};   ///< PEM private key of client_cert; "" = it is in client_cert
  /** Every attempt goes through this SOCKS5 or HTTP CONNECT proxy (docs/proxy.md). */
  std::optional<net::proxy> proxy{};
};

/** A problem with the options themselves, found without connecting. */
struct option_problem {
  std::string code;     ///< "usage" (exit 64), "input" (66: a file cannot be read), "config" (78)
  std::string summary;  ///< names the file
  int exit_code = 64;   ///< sysexits.h
};

/**
 * Checks a client certificate and key (PEM) before any connection: they load and belong
 * together, and a key comes with its certificate. Both empty: nothing to check.
 */
std::optional<option_problem> check_client_files(const std::string& cert_file, const std::string& key_file);

/** check_client_files() on @p t's client certificate. */
std::optional<option_problem> check_target(const target& t);

/** Runs the whole investigation; never throws for network or TLS problems. */
diagnosis run(const target& t);

/** One route to try: a port, a mode and a profile name. */
struct route_probe {
  std::uint16_t port = 0;                ///< the port to connect to
  net::mode mode = net::mode::starttls;  ///< how the connection becomes secure
  std::string profile = "strict";        ///< TLS profile name: "strict", "compat" or "legacy"
};

/**
 * Tries every route at once, as doctor does (connect, TLS with the certificate verified,
 * EHLO; no mail, no credentials). A plaintext wait on a silent port ends early when the
 * port turns out to be implicit TLS. One result per route, in order.
 */
std::vector<route_attempt> try_routes(const target& t, const std::vector<route_probe>& routes);

}  // namespace postern::diagnose
