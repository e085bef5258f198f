#pragma once
// The scan algorithms, independent of how a ClientHello reaches the server: each takes a
// responder (one raw ClientHello in, the server's first flight out), so unit tests drive them
// with a fake server and the prober with real connections.
#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "postern/probe/wire.hpp"

namespace postern::probe {

/** What one raw ClientHello got back. */
struct hello_outcome {
  enum class kind {
    server_hello,  ///< a ServerHello or HelloRetryRequest (hello is set)
    refused,       ///< an alert, or the server closed: nothing in common with what was offered
    failed,        ///< no answer in TLS at all: network error, timeout, text, garbage
  };
  kind result = kind::failed;
  std::optional<wire::server_hello> hello;
  std::optional<wire::certificate_chain> chain;
  std::optional<wire::server_key_exchange> key_exchange;
  std::optional<wire::alert> alert;
  std::string detail;  ///< for failed: the cause code or reader error, with evidence
};

/** Sends one hello on a fresh connection and reads the answer. */
using responder = std::function<asio::awaitable<hello_outcome>(wire::hello_params)>;

/** Reads a whole (possibly partial) flight into an outcome; `closed` = the peer closed. */
hello_outcome outcome_from_events(const std::vector<wire::server_event>& events);

/** A hello template for one protocol version: extensions as a modern client sends them. */
wire::hello_params hello_for(std::uint16_t version, const std::string& server_name);

/** Suites the registry allows offering in @p version, in registry order. */
std::vector<std::uint16_t> candidate_suites(std::uint16_t version);

/** The suites of one version, in the server's order. */
struct version_scan {
  std::uint16_t version = 0;
  bool accepted = false;
  std::vector<std::uint16_t> suites;                 ///< server's order (its first choice first)
  std::optional<bool> server_preference;             ///< set when 2+ suites were found and the check ran
  std::optional<wire::certificate_chain> chain;      ///< first Certificate message seen (TLS <= 1.2)
  std::vector<std::optional<std::uint16_t>> groups;  ///< TLS 1.3: group named per answer
  int hellos = 0;
  std::string failure;  ///< when the scan stopped on a failure rather than a refusal
};

/**
 * Enumerates the suites the server accepts in @p version: offer every candidate, record the
 * pick, drop it, repeat until the server refuses; then offer the found suites reversed once to
 * see whether the server imposes its own order.
 */
asio::awaitable<version_scan> enumerate_suites(std::uint16_t version, wire::hello_params base,
                                               responder send);

/**
 * TLS 1.3 groups: offer every group with no key share, so that each answer is a
 * HelloRetryRequest naming the server's preferred group; drop it and repeat.
 * @param suites TLS 1.3 suites the server accepts (any one suffices)
 */
asio::awaitable<std::vector<std::uint16_t>> enumerate_groups_tls13(wire::hello_params base,
                                                                   std::vector<std::uint16_t> suites,
                                                                   responder send, int* hellos = nullptr);

/** TLS 1.2 curves from the ServerKeyExchange of ECDHE suites; drop each and repeat. */
asio::awaitable<std::vector<std::uint16_t>> enumerate_curves_tls12(wire::hello_params base,
                                                                   std::vector<std::uint16_t> ecdhe_suites,
                                                                   responder send, int* hellos = nullptr);

/** TLS 1.2 DHE: the prime size of the ServerKeyExchange (0 when none). */
asio::awaitable<std::uint32_t> dhe_prime_bits(wire::hello_params base, std::vector<std::uint16_t> dhe_suites,
                                              responder send, int* hellos = nullptr);

}  // namespace postern::probe
