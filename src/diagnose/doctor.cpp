#include "postern/diagnose/doctor.hpp"

#include <sysexits.h>

#include <algorithm>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <system_error>

#include "diagnose/attempt.hpp"
#include "diagnose/follow_up.hpp"
#include "postern/diagnose/async.hpp"
#include "postern/net/blocking.hpp"
#include "postern/tls/client_identity.hpp"

namespace postern::diagnose {

const char* to_string(severity s) noexcept {
  switch (s) {
    case severity::error:
      return "error";
    case severity::warning:
      return "warning";
    case severity::info:
      return "info";
  }
  return "error";
}

int exit_code_for_cause(const std::string& code) noexcept {
  auto starts = [&](const char* p) { return code.rfind(p, 0) == 0; };
  if (code.empty()) return EX_OK;
  if (code == "net.refused" || code == "net.dns" || code == "net.unreachable" || code == "smtp.rejected" ||
      code == "net.proxy-unreachable" || code == "net.proxy-refused")
    return EX_UNAVAILABLE;
  if (code == "net.proxy-auth-failed") return EX_NOPERM;
  if (code == "net.proxy-bad-reply") return EX_PROTOCOL;
  if (starts("net.") || code == "smtp.transient" || code == "smtp.outcome-unknown") return EX_TEMPFAIL;
  if (code == "smtp.bad-reply" || code == "smtp.reply-too-long") return EX_PROTOCOL;
  return EX_NOPERM;  // tls.*, mode.*, smtp.starttls-*, smtp.auth-*
}

int diagnosis::exit_code() const noexcept {
  for (const auto& f : findings)
    if (f.severity == severity::error) return exit_code_for_cause(f.code);
  return EX_OK;
}

namespace {

using net::clock;

// Runs every attempt at once; returns when the last one is done. A cancellation of the caller
// is passed on to every attempt, and waits for them to end, so none outlives the call.
asio::awaitable<std::vector<attempt_result>> run_all(std::vector<attempt_spec> specs) {
  auto ex = co_await asio::this_coro::executor;
  auto results = std::make_shared<std::vector<attempt_result>>(specs.size());
  auto left = std::make_shared<std::size_t>(specs.size());
  auto done = std::make_shared<asio::steady_timer>(ex, clock::time_point::max());
  auto stop = std::make_shared<std::vector<asio::cancellation_signal>>(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    asio::co_spawn(
        ex, run_attempt(std::move(specs[i])),
        asio::bind_cancellation_slot((*stop)[i].slot(),
                                     [results, left, done, stop, i](std::exception_ptr e, attempt_result r) {
                                       if (e) {
                                         r.code = "net.closed";
                                         r.summary = "internal error in a diagnostic attempt";
                                       }
                                       (*results)[i] = std::move(r);
                                       if (--*left == 0) done->cancel();
                                     }));
  }
  if (*left > 0) {
    co_await done->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    const auto cancelled = (co_await asio::this_coro::cancellation_state).cancelled();
    if (*left > 0 && cancelled != asio::cancellation_type::none) {
      for (auto& s : *stop) s.emit(asio::cancellation_type::terminal);
      // Wait (without being cancelled again) until each attempt has closed its connection.
      co_await asio::this_coro::reset_cancellation_state();
      co_await asio::this_coro::throw_if_cancelled(false);
      while (*left > 0) {
        done->expires_at(clock::time_point::max());
        co_await done->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      }
      throw std::system_error(asio::error::operation_aborted);
    }
  }
  co_return std::move(*results);
}

const char* flag(net::mode m) {
  switch (m) {
    case net::mode::implicit_tls:
      return "--tls";
    case net::mode::starttls:
      return "--starttls";
    case net::mode::plain:
      return "--plain";
  }
  return "";
}

class investigation {
 public:
  explicit investigation(const target& t) : t_(t), port_(t.port ? t.port : net::default_port(t.mode)) {
    d_.target = server(port_);
  }

  asio::awaitable<void> run() {
    // Phase 1: the route the user meant, and every strict alternative, at once.
    std::vector<attempt_spec> specs;
    specs.push_back(spec("strict", port_, t_.mode, strict(), true));
    specs.back().check_mail = true;
    if (t_.mode != net::mode::implicit_tls) specs.back().silence_window = t_.silence_window;
    std::vector<std::pair<std::uint16_t, net::mode>> alternatives;
    for (auto m : {net::mode::implicit_tls, net::mode::starttls})
      if (m != t_.mode) alternatives.emplace_back(port_, m);
    for (auto p : t_.other_ports) {
      if (p == port_) continue;
      // The conventional mode first: that is the one a user would be told to try.
      auto first = p == 465 ? net::mode::implicit_tls : net::mode::starttls;
      auto second = first == net::mode::implicit_tls ? net::mode::starttls : net::mode::implicit_tls;
      alternatives.emplace_back(p, first);
      alternatives.emplace_back(p, second);
    }
    for (auto [p, m] : alternatives) {
      specs.push_back(spec("strict", p, m, strict(), true));
      // A silent port is usually implicit TLS: find out in a second, not after the whole timeout.
      // (A short window costs only a second connection: a slow greeting still wins the race.)
      if (m != net::mode::implicit_tls)
        specs.back().silence_window = std::min(t_.silence_window, std::chrono::milliseconds(1000));
    }
    auto results = co_await run_all(specs);
    record(specs, results);
    const attempt_result& primary = results[0];
    if (primary.ok()) {
      d_.ok = true;
      co_return;
    }
    for (std::size_t i = 1; i < results.size(); ++i)
      if (results[i].ok()) working_.push_back({alternatives[i - 1].first, alternatives[i - 1].second});

    // Which route to explain: the one the user meant, or the same port in the mode it really speaks.
    net::mode eff_mode = t_.mode;
    const attempt_result* eff = &primary;
    if (primary.code == "mode.plaintext-on-tls-port" || primary.code == "mode.tls-on-plaintext-port") {
      eff_mode = primary.code == "mode.plaintext-on-tls-port" ? net::mode::implicit_tls : net::mode::starttls;
      for (std::size_t i = 0; i < alternatives.size(); ++i)
        if (alternatives[i] == std::pair{port_, eff_mode}) eff = &results[i + 1];
      d_.findings.push_back(mode_finding(primary, *eff, eff_mode));
      if (eff->ok()) co_return;
    }

    // Phase 2: follow-up handshakes on that route.
    const bool tls_generic = !eff->handshake_ok && eff->code == "tls.handshake-failed";
    const bool cert_problem = eff->code.rfind("tls.cert.", 0) == 0;
    if (eff->code == "tls.client-cert-required") {
      d_.findings.push_back(client_cert_finding(*eff, eff_mode));
      co_return;
    }
    std::vector<attempt_spec> more;
    if (tls_generic) {
      for (const auto& f : follow_ups()) {
        more.push_back(spec(f.label, port_, eff_mode, f.policy, false));
        more.back().handshake_only = true;
      }
      more.push_back(spec("compat", port_, eff_mode, *tls::profile("compat"), true));
      more.push_back(spec("legacy", port_, eff_mode, *tls::profile("legacy"), true));
      for (auto& s : more) s.handshake_only = true;
    } else if (cert_problem) {
      more.push_back(spec("strict --insecure", port_, eff_mode, strict(), false));
    }
    std::vector<attempt_result> extra;
    if (!more.empty()) {
      extra = co_await run_all(more);
      record(more, extra);
    }
    if (tls_generic) {
      explain_tls(*eff, eff_mode, more, extra);
    } else if (cert_problem) {
      d_.findings.push_back(cert_finding(*eff, eff_mode, extra.empty() ? nullptr : &extra[0]));
    } else {
      d_.findings.push_back(other_finding(*eff, eff_mode));
    }
  }

  diagnosis take() { return std::move(d_); }

  asio::awaitable<void> try_only(const std::vector<route_probe>& routes) {
    std::vector<attempt_spec> specs;
    for (const auto& r : routes) {
      const tls::policy* p = tls::profile(r.profile);
      specs.push_back(spec(r.profile, r.port, r.mode, p ? *p : strict(), true));
      if (r.mode != net::mode::implicit_tls)
        specs.back().silence_window = std::min(t_.silence_window, std::chrono::milliseconds(1000));
    }
    auto results = co_await run_all(specs);
    record(specs, results);
  }

 private:
  static const tls::policy& strict() { return *tls::profile("strict"); }

  attempt_spec spec(std::string label, std::uint16_t port, net::mode m, const tls::policy& p,
                    bool verify) const {
    attempt_spec s;
    s.label = std::move(label);
    s.host = t_.host;
    s.port = port;
    s.mode = m;
    s.policy = p;
    s.verify = verify;
    s.ca_file = t_.ca_file;
    s.client = {t_.client_cert, t_.client_key};
    s.tls_name = t_.tls_name;
    if (!t_.ehlo_domain.empty()) s.ehlo_domain = t_.ehlo_domain;
    s.timeout = t_.timeout;
    s.proxy = t_.proxy;
    return s;
  }

  void record(const std::vector<attempt_spec>& specs, const std::vector<attempt_result>& results) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      route_attempt r{specs[i].port,
                      net::to_string(specs[i].mode),
                      specs[i].label,
                      results[i].ok(),
                      results[i].code,
                      "",
                      "",
                      "",
                      ""};
      if (results[i].tls) {
        r.detail = results[i].tls->version + " " + results[i].tls->cipher;
        r.tls_version = results[i].tls->version;
        r.cipher = results[i].tls->cipher;
        r.kx = results[i].tls->kx;
      } else {
        r.detail = results[i].summary;
      }
      d_.routes_tried.push_back(std::move(r));
    }
  }

  // host:port as --server takes it: an IPv6 literal goes in brackets.
  std::string server(std::uint16_t port) const {
    const bool v6 = t_.host.find(':') != std::string::npos;
    return (v6 ? "[" + t_.host + "]" : t_.host) + ":" + std::to_string(port);
  }

  std::string command(std::uint16_t port, net::mode m, const std::string& extra = "") const {
    std::string c = "postern send --server " + server(port) + " " + flag(m);
    if (!t_.ca_file.empty()) c += " --ca-file " + t_.ca_file;
    if (!t_.client_cert.empty() && extra.find("--client-cert") == std::string::npos)
      c += " --client-cert " + t_.client_cert +
           (t_.client_key.empty() ? "" : " --client-key " + t_.client_key);
    if (t_.proxy) c += " --proxy " + t_.proxy->to_string();
    if (!t_.tls_name.empty() && extra.find("--tls-name") == std::string::npos)
      c += " --tls-name " + t_.tls_name;
    if (!extra.empty()) c += " " + extra;
    return c + " --from YOU --to THEM MESSAGE";
  }

  // Strict routes that worked, same port first: the safe remedies.
  void add_alternatives(finding& f) const {
    for (auto [p, m] : working_) {
      if (p != port_) continue;
      f.remedies.push_back({"use-other-mode", command(p, m), ""});
    }
    for (auto [p, m] : working_) {
      if (p == port_) continue;
      f.remedies.push_back({"use-other-port", command(p, m), ""});
    }
  }

  finding mode_finding(const attempt_result& primary, const attempt_result& other, net::mode real) const {
    finding f;
    f.code = primary.code;
    if (primary.code == "mode.plaintext-on-tls-port") {
      f.summary = "port " + std::to_string(port_) + " expects implicit TLS (a ClientHello first), but " +
                  flag(t_.mode) + " waits for a plain-text greeting: use --tls on this port";
      f.evidence.push_back("no greeting within " + std::to_string(t_.silence_window.count() / 1000) +
                           " s; a second connection that sent a ClientHello got a TLS answer");
    } else {
      f.summary =
          "port " + std::to_string(port_) +
          " greets in plain SMTP, so --tls (implicit TLS) cannot work there: use --starttls on this port";
      f.evidence.push_back(primary.summary);
      if (other.greeting) f.evidence.push_back("the port greets with: " + other.greeting->to_string());
    }
    if (other.tls)
      f.evidence.push_back("with " + std::string(flag(real)) + ": " + other.tls->version + " " +
                           other.tls->cipher);
    add_alternatives(f);
    return f;
  }

  void explain_tls(const attempt_result& eff, net::mode m, const std::vector<attempt_spec>& specs,
                   const std::vector<attempt_result>& res) {
    const auto& fu = follow_ups();
    auto ok = [&](std::size_t i) { return res[i].handshake_ok; };
    // Indexes in follow_ups(): 0 rsa-kx, 1 dhe, 2 ecdhe-cbc, 3 sha1-sigalgs, 4 tls1.0-1.1; then compat,
    // legacy.
    std::optional<std::size_t> which;
    if (ok(0) && !ok(1) && !ok(2) && !ok(3))
      which = 0;
    else if (ok(1) && !ok(2) && !ok(3))
      which = 1;
    else if (ok(2))
      which = 2;
    else if (ok(3))
      which = 3;
    else if (ok(4))
      which = 4;

    finding f;
    f.evidence.push_back("strict handshake: " + eff.summary +
                         (eff.detail.empty() ? "" : " (" + eff.detail + ")"));
    for (std::size_t i = 0; i < fu.size(); ++i) {
      f.evidence.push_back(fu[i].label + ": " +
                           (ok(i) ? "accepted, " + res[i].tls->version + " " + res[i].tls->cipher +
                                        (res[i].tls->group.empty() ? "" : " " + res[i].tls->group)
                                  : "refused (" + res[i].summary + ")"));
    }
    if (!which) {
      f.code = eff.code;
      f.summary = eff.summary +
                  "; no follow-up handshake (RSA key exchange, DHE, CBC, SHA-1 signatures, "
                  "TLS 1.0/1.1) succeeded either";
    } else {
      const auto& got = *res[*which].tls;
      f.code = fu[*which].cause;
      const std::string picked = "it accepted " + got.version + " " + got.cipher;
      switch (*which) {
        case 0:
          f.summary =
              "the server offers only RSA key exchange, which has no forward secrecy (a stolen server "
              "key decrypts every recorded session); strict, like rustls and Go, requires ECDHE: " +
              picked;
          break;
        case 1:
          f.summary =
              "the server offers only finite-field DHE key exchange, no ECDHE; strict, like rustls, "
              "requires ECDHE (X25519, P-256, P-384): " +
              picked + (ok(0) ? " (it also accepts RSA key exchange)" : "");
          break;
        case 2:
          f.summary =
              "the server has ECDHE but only CBC ciphers (MAC-then-encrypt, with a history of padding "
              "oracles); strict requires AEAD (AES-GCM, ChaCha20-Poly1305): " +
              picked;
          break;
        case 3:
          f.summary =
              "the server can sign the handshake only with SHA-1, which strict (like rustls) refuses: " +
              picked + " when SHA-1 signatures were offered";
          break;
        default:
          f.summary =
              "the server's highest TLS version is below TLS 1.2 (TLS 1.0 and 1.1 are deprecated by "
              "RFC 8996): " +
              picked;
          break;
      }
    }
    add_alternatives(f);
    // A weaker profile, only as far as needed, and only if it also passes verification.
    const std::size_t compat_i = fu.size(), legacy_i = fu.size() + 1;
    const attempt_result* cert_issue = nullptr;
    for (std::size_t i : {compat_i, legacy_i}) {
      const auto* p = tls::profile(specs[i].label);
      if (res[i].handshake_ok) {
        f.remedies.push_back(
            {"use-weaker-profile", command(port_, m, "--tls-profile " + p->name), p->security_note});
        break;
      }
      if (res[i].code.rfind("tls.cert.", 0) == 0 && !cert_issue) cert_issue = &res[i];
    }
    f.remedies.push_back({"fix-server", "", server_fix(f.code)});
    d_.findings.push_back(std::move(f));
    if (cert_issue) d_.findings.push_back(cert_finding(*cert_issue, m, nullptr));
  }

  static std::string server_fix(const std::string& code) {
    if (code == "tls.kx.rsa-only")
      return "ask the operator to enable ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 suites "
             "(e.g. ECDHE-RSA-AES128-GCM-SHA256)";
    if (code == "tls.kx.dhe-only") return "ask the operator to enable ECDHE key exchange (X25519, P-256)";
    if (code == "tls.cipher.cbc-only")
      return "ask the operator to enable AEAD ciphers (AES-GCM, ChaCha20-Poly1305)";
    if (code == "tls.sigalg.sha1-only") return "ask the operator to allow SHA-256 handshake signatures";
    if (code == "tls.version.too-old") return "ask the operator to enable TLS 1.2 and TLS 1.3";
    return "ask the operator to fix the server's TLS configuration";
  }

  finding cert_finding(const attempt_result& r, net::mode m, const attempt_result* insecure) const {
    finding f;
    f.code = r.code;
    f.summary = r.summary;
    if (!r.detail.empty()) f.evidence.push_back(r.detail);
    const tls::handshake_info* seen = insecure && insecure->tls ? &*insecure->tls : nullptr;
    if (seen) {
      f.evidence.push_back("certificate: " + seen->peer_subject + ", issued by " + seen->peer_issuer +
                           ", valid until " + seen->peer_not_after);
    }
    add_alternatives(f);
    if (f.code == "tls.cert.hostname-mismatch" && seen && !seen->peer_names.empty()) {
      f.remedies.push_back({"set-tls-name", command(port_, m, "--tls-name " + seen->peer_names.front()),
                            "only if " + seen->peer_names.front() + " really is this server"});
    }
    if (f.code == "tls.cert.incomplete-chain") {
      // Most likely the server forgot the intermediate; else a private CA the user may trust.
      f.remedies.push_back({"fix-server", "",
                            "ask the operator to install the intermediate certificate: send it with the "
                            "server's own (a full chain file)"});
      f.remedies.push_back({"add-ca-file", command(port_, m, "--ca-file ISSUER.pem"),
                            "only if the issuer is a private CA you mean to trust: use its certificate as "
                            "obtained from the server's operator, not from this connection"});
    }
    if (f.code == "tls.cert.self-signed" || f.code == "tls.cert.untrusted") {
      f.remedies.push_back({"add-ca-file", command(port_, m, "--ca-file ISSUER.pem"),
                            "trust only a certificate you obtained from the server's operator, not from "
                            "this connection"});
    }
    std::string fix = "ask the operator to fix the certificate";
    if (f.code == "tls.cert.expired") fix = "ask the operator to renew the certificate";
    if (f.code == "tls.cert.not-yet-valid")
      fix = "check this machine's clock, then the certificate's start date";
    if (f.code == "tls.cert.hostname-mismatch")
      fix = "ask the operator for a certificate that names " + t_.host;
    if (f.code == "tls.cert.self-signed" || f.code == "tls.cert.untrusted")
      fix = "ask the operator for a certificate from a CA that clients trust";
    if (f.code != "tls.cert.incomplete-chain") f.remedies.push_back({"fix-server", "", fix});
    // Last, and only when the certificate is the only thing wrong.
    if (insecure && insecure->handshake_ok)
      f.remedies.push_back(
          {"use-insecure", command(port_, m, "--insecure"),
           "no certificate check: anyone on the path can read and change your mail and capture "
           "your password"});
    return f;
  }

  // The server wants a client certificate: none was given, or it refused the one given.
  finding client_cert_finding(const attempt_result& r, net::mode m) const {
    finding f;
    f.code = r.code;
    f.summary = r.summary;
    if (!r.detail.empty()) f.evidence.push_back(r.detail);
    add_alternatives(f);
    if (t_.client_cert.empty()) {
      f.remedies.push_back({"add-client-cert",
                            command(port_, m, "--client-cert CERT.pem --client-key KEY.pem"),
                            "the server identifies you by this certificate: keep its key private"});
    } else {
      f.remedies.push_back({"replace-client-cert",
                            command(port_, m, "--client-cert CERT.pem --client-key KEY.pem"),
                            "use a certificate the server's client CA issued (ask its operator); " +
                                t_.client_cert + " is not one it accepts"});
    }
    f.remedies.push_back({"fix-server", "",
                          "the server demands client certificates on this port; ask its operator which CA it "
                          "trusts for clients, or for a port without that requirement"});
    return f;
  }

  finding other_finding(const attempt_result& r, net::mode) const {
    finding f;
    f.code = r.code;
    f.summary = r.summary;
    if (!r.detail.empty()) f.evidence.push_back(r.detail);
    if (r.greeting) f.evidence.push_back("greeting: " + r.greeting->to_string());
    if (r.mail_reply) f.evidence.push_back("reply to MAIL FROM:<>: " + r.mail_reply->to_string());
    add_alternatives(f);
    const std::string where = server(port_);
    if (f.code == "net.dns")
      f.remedies.push_back({"check-target", "", "check the host name " + t_.host});
    else if (f.code == "net.refused")
      f.remedies.push_back({"check-target", "", "nothing listens on " + where + ": check the port"});
    else if (f.code == "net.unreachable")
      f.remedies.push_back(
          {"check-target", "", "no route to " + t_.host + ": check the network or firewall"});
    else if (f.code == "net.greeting-timeout" || f.code == "net.timeout")
      f.remedies.push_back({"check-target", "",
                            where + " accepts connections but does not answer: a firewall, "
                                    "a tarpit, or a different protocol"});
    else if (f.code == "net.closed" || f.code == "smtp.transient")
      f.remedies.push_back({"retry-later", "", "the server closed or deferred the session; try again later"});
    else if (t_.proxy && f.code == "net.proxy-unreachable")
      f.remedies.push_back(
          {"check-proxy", "", "nothing answers at the " + t_.proxy->describe() + ": check --proxy"});
    else if (t_.proxy && f.code == "net.proxy-auth-failed")
      f.remedies.push_back(
          {"check-proxy", "", "check the user name and password in the proxy URL (USER:PASSWORD@)"});
    else if (t_.proxy && f.code == "net.proxy-refused")
      f.remedies.push_back({"check-proxy", "",
                            "the proxy could not or would not reach " + where +
                                ": check the server's address and port, and the proxy's rules"});
    else if (t_.proxy && f.code == "net.proxy-bad-reply")
      f.remedies.push_back({"check-proxy", "",
                            "the --proxy address does not answer as a " +
                                std::string(t_.proxy->type == net::proxy::kind::socks5 ? "SOCKS5" : "HTTP") +
                                " proxy: check its scheme and port"});
    else if (f.code == "smtp.starttls-missing")
      f.remedies.push_back({"fix-server", "",
                            "ask the operator to enable STARTTLS; postern never falls back to "
                            "plain text"});
    else
      f.remedies.push_back({"fix-server", "", "the server does not behave as an SMTP server should here"});
    return f;
  }

  const target& t_;
  std::uint16_t port_;
  diagnosis d_;
  std::vector<std::pair<std::uint16_t, net::mode>> working_;
};

}  // namespace

std::optional<option_problem> check_client_files(const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() && !key_file.empty())
    return option_problem{"usage", "a client key (" + key_file + ") needs its certificate: --client-cert",
                          EX_USAGE};
  auto p = tls::check_client_identity({cert_file, key_file});
  if (!p) return std::nullopt;
  const bool unreadable = p->kind == tls::identity_error::unreadable;
  return option_problem{unreadable ? "input" : "config", p->summary, unreadable ? EX_NOINPUT : EX_CONFIG};
}

std::optional<option_problem> check_target(const target& t) {
  return check_client_files(t.client_cert, t.client_key);
}

asio::awaitable<std::vector<route_attempt>> async_try_routes(target t, std::vector<route_probe> routes) {
  investigation inv(t);
  co_await inv.try_only(routes);
  co_return inv.take().routes_tried;
}

asio::awaitable<diagnosis> async_run(target t) {
  investigation inv(t);
  co_await inv.run();
  auto d = inv.take();
  d.ok = true;
  for (const auto& f : d.findings)
    if (f.severity == severity::error) d.ok = false;
  co_return d;
}

std::vector<route_attempt> try_routes(const target& t, const std::vector<route_probe>& routes) {
  return net::run_blocking(async_try_routes(t, routes));
}

diagnosis run(const target& t) { return net::run_blocking(async_run(t)); }

}  // namespace postern::diagnose
