// The server prober: per target, find the mode, then run the suite, group, chain and client
// checks concurrently (bounded by options::jobs), and turn what was seen into findings.
#include "postern/probe/probe.hpp"

#include <openssl/ssl.h>
#include <sysexits.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <future>
#include <map>
#include <memory>
#include <mutex>

#include "probe/certificate.hpp"
#include "probe/client_families.hpp"
#include "probe/connection.hpp"
#include "probe/enumerate.hpp"
#include "tls/openssl_context.hpp"

namespace postern::probe {

const char* to_string(port_mode m) noexcept {
  switch (m) {
    case port_mode::tls:
      return "tls";
    case port_mode::starttls:
      return "starttls";
    case port_mode::plain:
      return "plain";
    case port_mode::closed:
      return "closed";
  }
  return "closed";
}

int report::exit_code() const noexcept {
  for (const auto& t : targets)
    if (!t.reachable()) return EX_UNAVAILABLE;
  return EX_OK;
}

namespace {

namespace w = wire;
using net::clock;

responder make_responder(endpoint ep, limiter* jobs) {
  return [ep, jobs](w::hello_params h) { return send_hello(ep, std::move(h), *jobs); };
}

// TLS 1.2 and 1.3 are accepted almost everywhere: their subsets are asked at once. Older
// versions rarely are, so one hello with every suite asks first.
search_plan plan_for(std::uint16_t v) {
  if (v >= w::version::tls1_2) return {.chunks = v == w::version::tls1_3 ? 8u : 16u, .probe_first = false};
  return {.chunks = 8, .probe_first = true};
}

asio::awaitable<void> scan_version(std::uint16_t v, endpoint ep, limiter* jobs, version_scan* out) {
  *out = co_await search_suites(v, hello_for(v, ep.tls_name), make_responder(ep, jobs), plan_for(v));
}

asio::awaitable<void> search_into(std::vector<std::uint16_t> candidates, search_plan plan, asker ask,
                                  search_result* out) {
  *out = co_await ordered_search(std::move(candidates), plan, std::move(ask));
}

asio::awaitable<void> hello_into(endpoint ep, w::hello_params h, limiter* jobs, hello_outcome* out) {
  *out = co_await send_hello(ep, std::move(h), *jobs);
}

asio::awaitable<void> plain_into(endpoint ep, limiter* jobs, smtp_view* out) {
  *out = co_await plain_session(ep, *jobs);
}

// Every candidate suite of @p v with that key exchange.
std::vector<std::uint16_t> suites_with_kx(std::uint16_t v, w::key_exchange kx) {
  std::vector<std::uint16_t> out;
  for (auto c : candidate_suites(v))
    if (const auto* s = w::find_cipher_suite(c); s && s->kx == kx) out.push_back(c);
  return out;
}

asio::awaitable<void> handshake_into(endpoint ep, SSL_CTX* ctx, bool insecure, bool smtp_after, limiter* jobs,
                                     handshake_outcome* out) {
  if (ctx == nullptr) {
    out->code = "tls.handshake-failed";
    out->summary = "OpenSSL cannot build a context for this client family";
    co_return;
  }
  *out = co_await real_handshake(ep, ctx, insecure, smtp_after, *jobs);
}

asio::awaitable<void> curves12_into(std::uint16_t v, endpoint ep, std::vector<std::uint16_t> suites,
                                    limiter* jobs, std::vector<std::uint16_t>* out, int* hellos) {
  *out = co_await enumerate_curves_tls12(hello_for(v, ep.tls_name), std::move(suites),
                                         make_responder(ep, jobs), hellos);
}

asio::awaitable<void> dhe_into(std::uint16_t v, endpoint ep, std::vector<std::uint16_t> suites, limiter* jobs,
                               std::uint32_t* out, int* hellos, int* rt) {
  const int before = *hellos;
  const bool starttls = ep.starttls;
  *out =
      co_await dhe_prime_bits(hello_for(v, ep.tls_name), std::move(suites), make_responder(ep, jobs), hellos);
  if (*hellos != before) *rt = std::max(*rt, starttls ? 5 : 2);
}

std::string kx_name(const w::cipher_suite_info& s) {
  switch (s.kx) {
    case w::key_exchange::null:
      return "NULL";
    case w::key_exchange::any:
      return "ECDHE";
    case w::key_exchange::rsa:
      return "RSA";
    case w::key_exchange::dh:
      return "DH";
    case w::key_exchange::dhe:
      return "DHE";
    case w::key_exchange::ecdh:
      return "ECDH";
    case w::key_exchange::ecdhe:
      return "ECDHE";
    case w::key_exchange::dh_anon:
      return "DH_anon";
    case w::key_exchange::ecdh_anon:
      return "ECDH_anon";
    case w::key_exchange::psk:
      return "PSK";
    case w::key_exchange::dhe_psk:
      return "DHE_PSK";
    case w::key_exchange::rsa_psk:
      return "RSA_PSK";
    case w::key_exchange::ecdhe_psk:
      return "ECDHE_PSK";
    case w::key_exchange::srp:
      return "SRP";
    case w::key_exchange::krb5:
      return "KRB5";
  }
  return "?";
}

std::string tls13_kx(std::optional<std::uint16_t> g) {
  const auto* info = g ? w::find_named_group(*g) : nullptr;
  if (!info) return "ECDHE";
  if (info->kind == w::group_kind::ffdhe) return "DHE";
  if (info->kind == w::group_kind::hybrid_pq) return "ECDHE+KEM";
  return "ECDHE";
}

struct shared {
  options opts;
  limiter* jobs = nullptr;
  std::vector<tls::ssl_ctx_ptr> family_ctx;  // parallel to client_families()
  tls::ssl_ctx_ptr info_ctx;                 // legacy, no verification: sees what any client could
  std::once_flag contexts_started;
  std::shared_future<void> contexts_built;

  // The info handshake's context loads no roots: cheap, built before the first hello.
  void ensure_info_ctx() {
    if (info_ctx) return;
    std::string err;
    info_ctx = tls::make_client_context(*tls::profile("legacy"), {"", true}, err,
                                        {opts.client_cert, opts.client_key});
  }
  // Loading the roots costs ~3-20 ms per family context: built on a thread of their own, started
  // with the mode hello, so no round trip waits for them (on the event loop they held back the
  // first connection). Nothing reads family_ctx before ensure_contexts() returned.
  void start_contexts() {
    std::call_once(contexts_started, [this] {
      contexts_built = std::async(std::launch::async, [this] {
                         std::string err;
                         for (const auto& f : client_families())
                           family_ctx.push_back(tls::make_client_context(
                               f.policy, {opts.ca_file, false}, err, {opts.client_cert, opts.client_key}));
                       }).share();
    });
  }
  void ensure_contexts() {
    ensure_info_ctx();
    start_contexts();
    contexts_built.wait();
  }
};

diagnose::finding make_finding(std::string code, diagnose::severity sev, std::string summary,
                               std::vector<std::string> evidence, std::string fix) {
  diagnose::finding f;
  f.code = std::move(code);
  f.severity = sev;
  f.summary = std::move(summary);
  f.evidence = std::move(evidence);
  if (!fix.empty()) f.remedies.push_back({"fix-server", "", std::move(fix)});
  return f;
}

void add_tls_findings(target_report& rep) {
  using diagnose::severity;
  const auto* strict = [&]() -> const client_result* {
    for (const auto& c : rep.clients)
      if (c.family == "postern-strict") return &c;
    return nullptr;
  }();
  if (rep.chain_problem) {
    std::string why;
    for (const auto& c : rep.clients)
      if (c.code == *rep.chain_problem) why = c.detail;
    std::vector<std::string> ev;
    if (!why.empty()) ev.push_back(why);
    if (!rep.chain.empty())
      ev.push_back("leaf: " + rep.chain.front().subject + ", issued by " + rep.chain.front().issuer);
    rep.findings.push_back(
        make_finding(*rep.chain_problem, severity::error,
                     "the certificate chain does not verify, so no verifying client connects", std::move(ev),
                     *rep.chain_problem == "tls.cert.incomplete-chain"
                         ? "send the intermediate certificate with the server's own (full chain)"
                         : "install a certificate that chains to a trusted root and names the "
                           "server"));
  }
  // Why strict (rustls-equivalent) clients fail, from the suites seen rather than one handshake.
  bool modern = false, ecdhe = false, ecdhe_aead = false, dhe = false, rsa = false;
  std::vector<std::string> weak, old;
  for (const auto& s : rep.suites) {
    const auto* info = w::find_cipher_suite(s.code);
    if (!info) continue;
    if (s.version == "TLSv1.2" || s.version == "TLSv1.3") modern = true;
    if (s.version == "TLSv1.3") ecdhe = ecdhe_aead = true;
    if (s.version == "TLSv1.2") {
      if (info->kx == w::key_exchange::ecdhe) ecdhe = true, ecdhe_aead = ecdhe_aead || info->aead();
      if (info->kx == w::key_exchange::dhe) dhe = true;
      if (info->kx == w::key_exchange::rsa) rsa = true;
    }
    if (info->export_grade || info->cipher == w::bulk_cipher::null || info->cipher == w::bulk_cipher::rc4 ||
        info->cipher == w::bulk_cipher::des_cbc || info->cipher == w::bulk_cipher::triple_des_ede_cbc ||
        info->auth == w::authentication::anon)
      weak.push_back(s.version + " " + s.name);
  }
  for (const auto& v : rep.versions)
    if (v.accepted && (v.version == "SSLv3" || v.version == "TLSv1.0" || v.version == "TLSv1.1"))
      old.push_back(v.version);
  if (rep.client_cert_required) {
    std::string why;
    for (const auto& c : rep.clients)
      if (c.code == "tls.client-cert-required" && why.empty()) why = c.family + ": " + c.detail;
    auto f = make_finding("tls.client-cert-required", severity::error,
                          "the port requires a client certificate: TLS clients without one the server "
                          "accepts cannot use it (the versions, suites and groups above are what its "
                          "handshake offers all the same)",
                          {why}, "");
    f.remedies.push_back({"add-client-cert", "", "probe and send with --client-cert and --client-key"});
    rep.findings.push_back(std::move(f));
  }
  const bool strict_failed_on_tls = strict && !strict->ok && strict->code.rfind("tls.cert.", 0) != 0 &&
                                    strict->code.rfind("net.", 0) != 0 &&
                                    strict->code != "tls.client-cert-required";
  if (strict_failed_on_tls && !rep.suites.empty()) {
    std::vector<std::string> ev{"postern-strict (as rustls): " + strict->code + " " + strict->detail};
    if (!modern)
      rep.findings.push_back(make_finding("tls.version.too-old", severity::error,
                                          "the server's highest TLS version is below TLS 1.2", std::move(ev),
                                          "enable TLS 1.2 and TLS 1.3"));
    else if (!ecdhe && dhe)
      rep.findings.push_back(
          make_finding("tls.kx.dhe-only", severity::error,
                       "the server offers finite-field DHE but no ECDHE key exchange; rustls and "
                       "Go clients cannot connect",
                       std::move(ev), "enable ECDHE key exchange (X25519, P-256)"));
    else if (!ecdhe && rsa)
      rep.findings.push_back(
          make_finding("tls.kx.rsa-only", severity::error,
                       "the server offers only RSA key exchange (no forward secrecy); rustls and "
                       "Go clients cannot connect",
                       std::move(ev), "enable ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 suites"));
    else if (ecdhe && !ecdhe_aead)
      rep.findings.push_back(
          make_finding("tls.cipher.cbc-only", severity::error,
                       "the server has ECDHE but only CBC ciphers; rustls clients cannot connect",
                       std::move(ev), "enable AEAD ciphers (AES-GCM, ChaCha20-Poly1305)"));
  }
  if (!old.empty()) {
    std::string list;
    for (const auto& v : old) list += (list.empty() ? "" : ", ") + v;
    rep.findings.push_back(make_finding("tls.version.deprecated", severity::warning,
                                        "the server still accepts " + list + " (deprecated by RFC 8996)", old,
                                        "disable protocol versions below TLS 1.2"));
  }
  if (!weak.empty())
    rep.findings.push_back(
        make_finding("tls.cipher.weak", severity::warning,
                     "the server accepts broken or anonymous cipher suites (export, NULL, RC4, "
                     "DES, 3DES or anon)",
                     weak, "remove these suites from the server's cipher list"));
}

asio::awaitable<void> scan_target(std::shared_ptr<shared> sh, target_report* rep_ptr) {
  target_report& rep = *rep_ptr;
  const auto start = clock::now();
  const auto& o = sh->opts;
  endpoint ep;
  ep.host = rep.host;
  ep.port = rep.port;
  ep.tls_name = o.tls_name.empty() ? rep.host : o.tls_name;
  ep.ehlo = o.ehlo.empty() ? "localhost" : o.ehlo;
  ep.timeout = o.timeout;
  ep.proxy = o.proxy;
  ep.connections = &rep.connections;
  limiter* jobs = sh->jobs;
  for (const char* v : {"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}) rep.versions.push_back({v, false});

  // 1. Mode: one broad ClientHello. A TLS answer (even an alert) means implicit TLS; text means SMTP.
  auto detect = hello_for(w::version::tls1_3, ep.tls_name);
  detect.supported_versions = {w::version::tls1_3, w::version::tls1_2, w::version::tls1_1,
                               w::version::tls1_0};
  detect.cipher_suites = candidate_suites(w::version::tls1_3);
  for (auto c : candidate_suites(w::version::tls1_2)) detect.cipher_suites.push_back(c);
  // Meanwhile, on a second connection, the info handshake as if the port were implicit TLS (its
  // five round trips are the longest chain there; on an SMTP port it is done again after
  // STARTTLS), while a thread builds the family contexts.
  sh->ensure_info_ctx();
  sh->start_contexts();
  hello_outcome first;
  handshake_outcome early_info;
  {
    std::vector<asio::awaitable<void>> t;
    t.push_back(hello_into(ep, std::move(detect), jobs, &first));
    t.push_back(handshake_into(ep, sh->info_ctx.get(), true, true, jobs, &early_info));
    co_await all(std::move(t));
  }
  ++rep.hellos_sent;
  bool smtp_port = false;
  if (first.result == hello_outcome::kind::failed) {
    if (first.detail.rfind("plaintext_reply", 0) == 0) {
      smtp_port = true;
    } else {
      rep.mode = port_mode::closed;
      rep.error_code = first.detail.substr(0, first.detail.find(':'));
      if (rep.error_code.rfind("net.", 0) != 0) rep.error_code = "net.closed";
      rep.findings.push_back(make_finding(
          rep.error_code, diagnose::severity::error,
          "no SMTP or TLS service answered on port " + std::to_string(rep.port), {first.detail}, ""));
      rep.round_trips = first.round_trips;
      rep.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
      co_return;
    }
  } else if (first.result == hello_outcome::kind::refused && !first.alert) {
    rep.mode = port_mode::closed;
    rep.error_code = "net.closed";
    rep.findings.push_back(make_finding("net.closed", diagnose::severity::error,
                                        "the server closed the connection without a greeting or a TLS answer",
                                        {}, ""));
    rep.round_trips = first.round_trips;
    rep.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
    co_return;
  } else {
    rep.mode = port_mode::tls;
  }

  // 2. Everything that does not need another answer, at once: the suites of each version, the
  // groups (offering every candidate suite of the kind, not only the accepted ones: the server's
  // group choice does not depend on which suite it picks), the info handshake, the client matrix
  // and, on an SMTP port, the plain-text session. SMTP ports are scanned as STARTTLS ports from
  // the start: a port without STARTTLS makes those connections stop after EHLO, and the plain
  // session says so; waiting for it first would put its three round trips before every hello.
  if (smtp_port) ep.starttls = true;
  sh->ensure_contexts();
  const std::array<std::uint16_t, 5> versions = {w::version::tls1_3, w::version::tls1_2, w::version::tls1_1,
                                                 w::version::tls1_0, w::version::ssl3};
  std::array<version_scan, 5> scans;
  handshake_outcome info;
  const auto& families = client_families();
  std::vector<handshake_outcome> clients(families.size());
  smtp_view plain;
  search_result groups13_found, curves12_found;
  std::uint32_t dh12_bits = 0;
  int dh12_hellos = 0, dh12_rt = 0;
  const auto send = make_responder(ep, jobs);
  {
    std::vector<asio::awaitable<void>> tasks;
    // The limiter hands out connections in this order: the longest chains (full handshakes, the
    // info handshake's banner and EHLO) first, so they do not start rounds late behind the hellos.
    if (smtp_port)
      tasks.push_back(handshake_into(ep, sh->info_ctx.get(), true, true, jobs, &info));
    else
      info = std::move(early_info);
    for (std::size_t i = 0; i < families.size(); ++i)
      tasks.push_back(handshake_into(ep, sh->family_ctx[i].get(), false, false, jobs, &clients[i]));
    // An implicit-TLS server that answered the detection hello (which offered TLS 1.3 too) with
    // an older version has no TLS 1.3: its suites and groups need no hello.
    const bool no_tls13 = first.result == hello_outcome::kind::server_hello && first.hello &&
                          first.hello->version < w::version::tls1_3;
    scans[0].version = w::version::tls1_3;
    for (std::size_t i = no_tls13 ? 1 : 0; i < versions.size(); ++i)
      tasks.push_back(scan_version(versions[i], ep, jobs, &scans[i]));
    auto base13 = hello_for(w::version::tls1_3, ep.tls_name);
    if (!no_tls13)
      tasks.push_back(search_into(base13.supported_groups, {.chunks = 6, .probe_first = true},
                                  group13_asker(base13, candidate_suites(w::version::tls1_3), send),
                                  &groups13_found));
    auto base12 = hello_for(w::version::tls1_2, ep.tls_name);
    tasks.push_back(
        search_into(ec_groups(base12.supported_groups), {.chunks = 4, .probe_first = true},
                    curve12_asker(base12, suites_with_kx(w::version::tls1_2, w::key_exchange::ecdhe), send),
                    &curves12_found));
    tasks.push_back(dhe_into(w::version::tls1_2, ep, suites_with_kx(w::version::tls1_2, w::key_exchange::dhe),
                             jobs, &dh12_bits, &dh12_hellos, &dh12_rt));
    if (smtp_port) tasks.push_back(plain_into(ep, jobs, &plain));
    co_await all(std::move(tasks));
  }
  int rt_after = 0;  // the longest chain after the mode was known
  auto longest = [&rt_after](int rt) { rt_after = std::max(rt_after, rt); };

  if (smtp_port) {
    const auto& v = plain;
    longest(v.round_trips);
    if (v.greeting) {
      std::string banner;
      for (const auto& l : v.greeting->lines) banner += (banner.empty() ? "" : " / ") + l;
      rep.banner = banner;
    }
    auto finish = [&] {
      rep.round_trips = first.round_trips + rt_after;
      rep.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
    };
    if (!v.caps) {
      rep.mode = port_mode::closed;
      rep.error_code = v.code.empty() ? "net.closed" : v.code;
      rep.findings.push_back(make_finding(rep.error_code, diagnose::severity::error, v.summary, {}, ""));
      finish();
      co_return;
    }
    rep.ehlo_before_tls = v.caps->keywords;
    rep.auth_before_tls = !v.caps->auth.empty();
    rep.mode = v.caps->starttls ? port_mode::starttls : port_mode::plain;
    if (rep.auth_before_tls) {
      std::string mechs;
      for (const auto& m : v.caps->auth) mechs += " " + m;
      rep.findings.push_back(
          make_finding("smtp.auth-before-tls", diagnose::severity::warning,
                       "the server offers AUTH before TLS: a client that does not insist on STARTTLS may "
                       "send its password in "
                       "clear text",
                       {"EHLO before TLS: AUTH" + mechs},
                       "offer AUTH only after STARTTLS (Postfix: smtpd_tls_auth_only = yes)"));
    }
    if (rep.mode == port_mode::plain) {
      rep.findings.push_back(
          make_finding("smtp.starttls-missing", diagnose::severity::warning,
                       "the server does not offer STARTTLS: mail to and through it travels in "
                       "clear text",
                       {}, "enable STARTTLS"));
      finish();
      co_return;
    }
  }

  // 3. Groups: what the speculative searches found counts where today's sequential scan would
  // have looked (TLS 1.3 groups when TLS 1.3 is accepted; TLS 1.2 curves and DHE when TLS 1.2
  // is the newest pre-1.3 version and has such suites). An older newest version is asked now.
  std::vector<std::uint16_t> groups13, curves12;
  std::uint32_t dh_bits = 0;
  std::uint16_t v12 = 0;  // newest pre-1.3 version accepted
  int extra_hellos = 0;
  if (scans[0].accepted) groups13 = groups13_found.order;
  extra_hellos += groups13_found.hellos + curves12_found.hellos + dh12_hellos;
  longest(groups13_found.round_trips);
  longest(curves12_found.round_trips);
  longest(dh12_rt);
  {
    std::vector<asio::awaitable<void>> tasks;
    int rt_late = 0;
    for (std::size_t i = 1; i < 4 && !v12; ++i)
      if (scans[i].accepted) {
        v12 = versions[i];
        std::vector<std::uint16_t> ecdhe, dhe;
        for (auto c : scans[i].suites) {
          const auto* info_s = w::find_cipher_suite(c);
          if (info_s && info_s->kx == w::key_exchange::ecdhe) ecdhe.push_back(c);
          if (info_s && info_s->kx == w::key_exchange::dhe) dhe.push_back(c);
        }
        if (v12 == w::version::tls1_2) {
          if (!ecdhe.empty()) curves12 = curves12_found.order;
          if (!dhe.empty()) dh_bits = dh12_bits;
          continue;
        }
        if (!ecdhe.empty()) tasks.push_back(curves12_into(v12, ep, ecdhe, jobs, &curves12, &extra_hellos));
        if (!dhe.empty()) tasks.push_back(dhe_into(v12, ep, dhe, jobs, &dh_bits, &extra_hellos, &rt_late));
        rt_late = std::max(rt_late, static_cast<int>(ecdhe.size() + 1) * (ep.starttls ? 5 : 2));
        longest(scans[i].round_trips + rt_late);
      }
    if (!tasks.empty()) co_await all(std::move(tasks));
  }
  for (const auto& sc : scans) longest(sc.round_trips);
  if (smtp_port) longest(info.round_trips);
  for (const auto& c : clients) longest(c.round_trips);
  rep.round_trips = first.round_trips + rt_after;
  if (!smtp_port) rep.round_trips = std::max(rep.round_trips, info.round_trips);  // ran beside the mode hello

  // 4. The report.
  rep.hellos_sent += extra_hellos;
  rep.versions.clear();
  if (scans[4].accepted) rep.versions.push_back({"SSLv3", true});
  for (std::size_t i = 4; i-- > 0;) rep.versions.push_back({w::version_name(versions[i]), scans[i].accepted});
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const auto& sc = scans[i];
    rep.hellos_sent += sc.hellos;
    if (sc.server_preference.value_or(false)) rep.server_preference = true;
    for (std::size_t k = 0; k < sc.suites.size(); ++k) {
      const auto* info_s = w::find_cipher_suite(sc.suites[k]);
      suite s;
      s.code = sc.suites[k];
      s.name = w::cipher_suite_name(s.code);
      s.version = w::version_name(sc.version);
      s.kx = info_s ? (info_s->tls13() ? tls13_kx(sc.groups[k]) : kx_name(*info_s)) : "?";
      s.bits = info_s ? info_s->bits : 0;
      s.order = static_cast<int>(k) + 1;
      rep.suites.push_back(std::move(s));
    }
  }
  for (auto g : groups13) rep.groups.push_back({w::named_group_name(g), "TLSv1.3"});
  for (auto g : curves12) rep.groups.push_back({w::named_group_name(g), w::version_name(v12)});
  if (dh_bits) rep.groups.push_back({"dh" + std::to_string(dh_bits), w::version_name(v12)});

  const w::certificate_chain* raw_chain = nullptr;
  for (std::size_t i = 1; i < versions.size() && !raw_chain; ++i)
    if (scans[i].chain) raw_chain = &*scans[i].chain;
  const std::vector<std::string>& ders = raw_chain ? raw_chain->certificates : info.chain_der;
  for (const auto& der : ders)
    if (auto c = describe_certificate(der)) rep.chain.push_back(std::move(*c));

  if (rep.mode == port_mode::tls) {
    if (info.greeting) {
      std::string banner;
      for (const auto& l : info.greeting->lines) banner += (banner.empty() ? "" : " / ") + l;
      rep.banner = banner;
    }
  }
  if (info.caps_after_tls) rep.ehlo_after_tls = info.caps_after_tls->keywords;

  for (std::size_t i = 0; i < families.size(); ++i) {
    const auto& h = clients[i];
    client_result c;
    c.family = families[i].id;
    c.ok = h.ok;
    if (h.ok) {
      c.version = h.version;
      c.suite = h.cipher;
      c.detail = h.group;
      rep.chain_verifies = true;
    } else {
      c.code = h.code.empty() ? "tls.handshake-failed" : h.code;
      c.detail = h.summary;
      if (c.code.rfind("tls.cert.", 0) == 0 && !rep.chain_problem) rep.chain_problem = c.code;
      // The server's chain is verified before it asks for the client's: this family got past it.
      if (c.code == "tls.client-cert-required") rep.client_cert_required = rep.chain_verifies = true;
    }
    rep.clients.push_back(std::move(c));
  }
  if (rep.chain_verifies) rep.chain_problem.reset();
  add_tls_findings(rep);
  rep.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
}

}  // namespace

std::optional<diagnose::option_problem> check_options(const options& o) {
  return diagnose::check_client_files(o.client_cert, o.client_key);
}

report run(const options& o, const progress& on_done) {
  report r;
  for (const auto& t : o.targets) {
    if (t.port != 0) {
      r.targets.push_back({});
      r.targets.back().host = t.host;
      r.targets.back().port = t.port;
      continue;
    }
    for (std::uint16_t p : {465, 587, 25}) {
      r.targets.push_back({});
      r.targets.back().host = t.host;
      r.targets.back().port = p;
    }
  }
  asio::io_context io;
  limiter jobs(io.get_executor(), o.jobs);
  auto sh = std::make_shared<shared>();
  sh->opts = o;
  sh->jobs = &jobs;
  std::size_t done = 0;
  for (auto& t : r.targets) {
    asio::co_spawn(io, scan_target(sh, &t), [&, tp = &t](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          tp->findings.push_back(make_finding("internal", diagnose::severity::error,
                                              std::string("the probe failed: ") + ex.what(), {}, ""));
        }
      }
      ++done;
      if (on_done) on_done(done, r.targets.size(), *tp);
    });
  }
  io.run();
  return r;
}

}  // namespace postern::probe
