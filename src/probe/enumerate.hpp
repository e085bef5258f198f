#pragma once
// The scan algorithms, independent of how a ClientHello reaches the server: each takes a
// responder (one raw ClientHello in, the server's first flight out), so unit tests drive them
// with a fake server and the prober with real connections.
#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
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
  std::string detail;   ///< for failed: the cause code or reader error, with evidence
  int round_trips = 0;  ///< waits for the peer this hello cost (TCP connect, SMTP preamble, the hello)
};

/** Sends one hello on a fresh connection and reads the answer. */
using responder = std::function<asio::awaitable<hello_outcome>(wire::hello_params)>;

/** Reads a whole (possibly partial) flight into an outcome; `closed` = the peer closed. */
hello_outcome outcome_from_events(const std::vector<wire::server_event>& events);

/** A hello template for one protocol version: extensions as a modern client sends them. */
wire::hello_params hello_for(std::uint16_t version, const std::string& server_name);

/** Suites the registry allows offering in @p version, in registry order. */
std::vector<std::uint16_t> candidate_suites(std::uint16_t version);

/** Runs every task at once on the current executor; returns when the last one is done. */
asio::awaitable<void> all(std::vector<asio::awaitable<void>> tasks);

/** The server's answer to one offer, reduced to which offered item (suite, group) it chose. */
struct pick {
  enum class kind {
    picked,  ///< value is one of the offered items
    none,    ///< nothing offered is acceptable (a refusal, or an answer that does not count)
    failed,  ///< no usable answer: stop asking (detail says why)
  };
  kind result = kind::none;
  std::uint16_t value = 0;
  hello_outcome outcome;
  std::string detail;
};

/** Offers exactly these items, in this order, on one fresh connection. */
using asker = std::function<asio::awaitable<pick>(std::vector<std::uint16_t>)>;

/** How ordered_search() spends hellos. */
struct search_plan {
  std::size_t chunks = 8;        ///< disjoint subsets searched at once
  bool probe_first = false;      ///< one hello with every candidate first (cheap "none at all")
  std::size_t pair_budget = 45;  ///< server order by pairwise offers when C(n,2) <= this
};

/** What ordered_search() found. */
struct search_result {
  std::vector<std::uint16_t> order;                ///< accepted items, the server's first choice first
  std::map<std::uint16_t, hello_outcome> answers;  ///< for each item, the answer that chose it
  std::optional<bool> server_preference;           ///< set when 2+ items were found and the check ran
  int hellos = 0;
  int round_trips = 0;  ///< the longest chain of waits (sum along sequential hellos, max across parallel)
  std::string failure;  ///< the first failure, when one stopped a chain
};

/**
 * The items of @p candidates the server accepts, in the server's order, with few sequential
 * round trips: the candidates are split into disjoint interleaved subsets searched at once
 * (offer the subset, record the pick, drop it, repeat until refused). As soon as two items are
 * known, the pair is offered in both orders: different picks mean the server follows the
 * client's order, which is then the candidates' order. Otherwise the order comes from offering
 * every pair (one round) or, for many items, by asking again without the previous pick. The
 * result equals that of the sequential remove-and-repeat over all candidates.
 */
asio::awaitable<search_result> ordered_search(std::vector<std::uint16_t> candidates, search_plan plan,
                                              asker ask);

/** An asker for the suites of one version: a pick counts when the server answered in @p version. */
asker suite_asker(std::uint16_t version, wire::hello_params base, responder send);
/** An asker for TLS 1.3 groups by HelloRetryRequest (no key shares), offering @p suites. */
asker group13_asker(wire::hello_params base, std::vector<std::uint16_t> suites, responder send);
/** An asker for TLS 1.2 curves, read from the ServerKeyExchange of @p ecdhe_suites. */
asker curve12_asker(wire::hello_params base, std::vector<std::uint16_t> ecdhe_suites, responder send);
/** The EC groups (prime, binary, Montgomery) of @p groups, in their order. */
std::vector<std::uint16_t> ec_groups(const std::vector<std::uint16_t>& groups);

/** The suites of one version, in the server's order. */
struct version_scan {
  std::uint16_t version = 0;
  bool accepted = false;
  std::vector<std::uint16_t> suites;                 ///< server's order (its first choice first)
  std::optional<bool> server_preference;             ///< set when 2+ suites were found and the check ran
  std::optional<wire::certificate_chain> chain;      ///< first Certificate message seen (TLS <= 1.2)
  std::vector<std::optional<std::uint16_t>> groups;  ///< TLS 1.3: group named per answer
  int hellos = 0;
  int round_trips = 0;  ///< the scan's longest chain of waits
  std::string failure;  ///< when the scan stopped on a failure rather than a refusal
};

/** enumerate_suites() with ordered_search(): the same result in fewer sequential round trips. */
asio::awaitable<version_scan> search_suites(std::uint16_t version, wire::hello_params base, responder send,
                                            search_plan plan);

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
