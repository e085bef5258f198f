// What changed on a watched server, in findings with stable codes (docs/watch.md).
#include "postern/watch/diff.hpp"

#include <algorithm>
#include <set>

namespace postern::watch {
namespace {

constexpr std::int64_t day = 86400;

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out.empty() ? "none" : out;
}

// Elements of a not in b, in a's order.
std::vector<std::string> minus(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& x : a)
    if (std::find(b.begin(), b.end(), x) == b.end() && std::find(out.begin(), out.end(), x) == out.end())
      out.push_back(x);
  return out;
}

bool deprecated_version(const std::string& v) { return v == "SSLv3" || v == "TLSv1.0" || v == "TLSv1.1"; }

std::vector<std::string> ok_families(const profile& p) {
  std::vector<std::string> out;
  for (const auto& c : p.clients)
    if (c.ok) out.push_back(c.family);
  return out;
}

std::string leaf_text(const cert_facts& c) {
  return c.subject + " (issuer " + c.issuer + ", until " + c.not_after + ")";
}

std::vector<std::string> intermediates(const profile& p) {
  std::vector<std::string> out;
  for (std::size_t i = 1; i < p.chain.size(); ++i)
    out.push_back(p.chain[i].subject + " " + p.chain[i].sha256.substr(0, 16));
  return out;
}

struct collector {
  const profile& now;
  std::vector<finding> out;

  void add(const char* code, level l, std::string summary, std::string before = {}, std::string after = {}) {
    out.push_back({code, l, now.target(), std::move(summary), std::move(before), std::move(after)});
  }
};

void check_certificate(collector& c, const std::optional<profile>& before, const profile& now,
                       const compare_options& o) {
  if (now.chain.empty()) return;
  const auto& leaf = now.chain.front();
  if (o.check_expiry) {
    std::int64_t left = 0;
    // A stored time far outside any certificate's dates (a hand-edited state file) is no date.
    if (auto until = parse_utc(leaf.not_after); until && !__builtin_sub_overflow(*until, now.time, &left)) {
      const std::int64_t days = left / day;
      if (left <= 0)
        c.add("watch.cert.expired", level::critical,
              now.target() + ": the certificate " + leaf.subject + " expired on " + leaf.not_after +
                  ": verifying clients refuse it; install a renewed certificate",
              {}, leaf.not_after);
      else if (days < o.critical_days || days < o.warn_days)
        c.add("watch.cert.expiring", days < o.critical_days ? level::critical : level::warning,
              now.target() + ": the certificate " + leaf.subject + " expires in " + std::to_string(days) +
                  " day" + (days == 1 ? "" : "s") + " (" + leaf.not_after + "); renew it",
              {}, leaf.not_after);
    }
  }
  // A current-state check (every run), like expiry; in --history only where it changed.
  if (now.has_tls() && !now.chain_verifies && (o.check_expiry || !before || before->chain_verifies))
    c.add("watch.chain.unverified", level::critical,
          now.target() + ": the certificate chain does not verify" +
              (now.chain_problem.empty() ? std::string() : " (" + now.chain_problem + ")") +
              ": no verifying client connects",
          before ? "verifies" : "", now.chain_problem.empty() ? "does not verify" : now.chain_problem);
  if (!before || before->chain.empty()) return;
  const auto& old_leaf = before->chain.front();
  if (old_leaf.sha256 != leaf.sha256) {
    const bool new_key = old_leaf.key_sha256 != leaf.key_sha256;
    const std::string key_words = new_key ? "with a new key" : "with the same key";
    if (old_leaf.issuer == leaf.issuer)
      c.add("watch.cert.replaced", level::note,
            now.target() + ": the certificate was replaced " + key_words + ", by the same issuer " +
                leaf.issuer + " (a renewal); valid until " + leaf.not_after,
            leaf_text(old_leaf), leaf_text(leaf));
    else
      c.add("watch.cert.issuer-changed", level::warning,
            now.target() + ": the certificate was replaced " + key_words + " and its issuer changed from " +
                old_leaf.issuer + " to " + leaf.issuer +
                ": expected if you changed CA, otherwise check who issued it (postern send refuses a new "
                "issuer as a possible downgrade: postern hosts forget " +
                now.target() + " once it is right)",
            leaf_text(old_leaf), leaf_text(leaf));
  }
  const auto old_mid = intermediates(*before), new_mid = intermediates(now);
  if (old_mid != new_mid)
    c.add("watch.chain.changed", level::note,
          now.target() + ": the intermediate certificates the server sends changed", join(old_mid),
          join(new_mid));
}

void check_lists(collector& c, const profile& before, const profile& now) {
  for (const auto& v : minus(before.versions, now.versions))
    c.add("watch.tls.version-removed", deprecated_version(v) ? level::note : level::warning,
          now.target() + ": " + v + " is no longer accepted" +
              (deprecated_version(v) ? " (a deprecated version gone: good)" : ""),
          join(before.versions), join(now.versions));
  for (const auto& v : minus(now.versions, before.versions))
    c.add("watch.tls.version-added", deprecated_version(v) ? level::warning : level::note,
          now.target() + ": " + v + " is now accepted" +
              (deprecated_version(v) ? " (a deprecated version: turn it off again)" : ""),
          join(before.versions), join(now.versions));
  for (const auto& s : minus(before.suites, now.suites))
    c.add("watch.tls.suite-removed", level::note,
          now.target() + ": cipher suite " + s + " is no longer accepted", s, {});
  for (const auto& s : minus(now.suites, before.suites))
    c.add("watch.tls.suite-added", level::note, now.target() + ": cipher suite " + s + " is now accepted", {},
          s);
  for (const auto& g : minus(before.groups, now.groups))
    c.add("watch.tls.group-removed", level::note,
          now.target() + ": key-exchange group " + g + " is no longer accepted", g, {});
  for (const auto& g : minus(now.groups, before.groups))
    c.add("watch.tls.group-added", level::note,
          now.target() + ": key-exchange group " + g + " is now accepted", {}, g);
}

void check_clients(collector& c, const profile& before, const profile& now) {
  for (const auto& was : before.clients) {
    const client_facts* is = now.client(was.family);
    if (!is) continue;  // a family this postern no longer checks
    if (was.ok && !is->ok)
      c.add("watch.client.lost", level::warning,
            now.target() + ": " + was.family + " clients could connect and cannot now (" + is->code +
                (now.causes.empty() ? std::string() : "; the server: " + join(now.causes)) + ")",
            was.version + " " + was.suite, is->code);
    else if (!was.ok && is->ok)
      c.add("watch.client.gained", level::note,
            now.target() + ": " + was.family + " clients can connect now (" + is->version + ", " + is->suite +
                ")",
            was.code, is->version + " " + is->suite);
  }
}

void check_smtp(collector& c, const profile& before, const profile& now) {
  if (before.starttls && !now.starttls && now.mode != "tls")
    c.add("watch.smtp.starttls-gone", level::critical,
          now.target() +
              ": STARTTLS is no longer offered: mail to this port would go in plaintext (or not at "
              "all); an attacker on the path can strip it — find out why",
          "STARTTLS", "no STARTTLS");
  if (!before.starttls && now.starttls)
    c.add("watch.smtp.starttls-appeared", level::note, now.target() + ": STARTTLS is offered now",
          "no STARTTLS", "STARTTLS");
  if (before.auth && !now.auth)
    c.add("watch.smtp.auth-gone", level::warning,
          now.target() + ": AUTH is no longer offered: authenticated submission to this port fails", "AUTH",
          "no AUTH");
  if (!before.auth && now.auth)
    c.add("watch.smtp.auth-appeared", level::note, now.target() + ": AUTH is offered now", "no AUTH", "AUTH");
}

// The weakest profile a use may fall back to, by name.
bool weaker_than_strict(const std::string& p) { return p == "compat" || p == "legacy"; }

bool uses_target(const route_use& u, const profile& now) {
  return u.host == now.host && (u.port == 0 || u.port == now.port);
}

std::string use_words(const route_use& u) {
  if (u.source == "account") return "account " + u.name;
  return "the host memory's " + u.name + " route";
}

void check_uses(collector& c, const std::optional<profile>& before, const profile& now,
                const compare_options& o) {
  const client_facts* strict = now.client("postern-strict");
  const bool strict_ok = now.reachable() && strict && strict->ok;
  if (strict_ok) {
    const std::string does = describe_suite(strict->suite, strict->version);
    for (const auto& u : o.uses) {
      if (!uses_target(u, now) || !weaker_than_strict(u.profile)) continue;
      std::string fix = u.source == "account"
                            ? "remove `" + (u.setting.empty() ? "allow " + u.profile : u.setting) +
                                  "` from account " + u.name
                            : "the host memory still routes " + u.name + " with " + u.profile +
                                  ", and automatic routing tries that first: postern hosts forget " +
                                  now.target() + " (the next send records strict)";
      c.add("watch.allowance.unneeded", level::warning,
            now.host + " now does " + does + " (postern strict connects on port " + std::to_string(now.port) +
                ": " + strict->version + ", " + strict->suite + "): " + fix,
            use_words(u) + ": " + u.profile, "strict");
    }
    return;
  }
  if (!now.reachable()) return;  // watch.port.unreachable says it
  // Strict no longer connects: every use that relies on strict fails from now on.
  std::vector<std::string> relying;
  for (const auto& u : o.uses)
    if (uses_target(u, now) && !weaker_than_strict(u.profile)) relying.push_back(use_words(u));
  const client_facts* was = before ? before->client("postern-strict") : nullptr;
  const bool was_ok = was && was->ok && before->reachable();
  if (!was_ok && relying.empty()) return;
  // The probe's diagnosis names the cause (tls.kx.rsa-only) where the handshake only failed.
  const std::string why = !now.causes.empty()               ? join(now.causes)
                          : strict && !strict->code.empty() ? strict->code
                                                            : "no strict handshake";
  c.add("watch.strict.broken", level::critical,
        now.target() + ": postern strict no longer connects (" + why + ")" +
            (relying.empty() ? std::string() : "; this breaks " + join(relying)) +
            ": fix the server (postern doctor " + now.target() +
            " explains it); `allow compat` only as a "
            "recorded, temporary decision",
        was_ok ? was->version + " " + was->suite : "", why);
}

}  // namespace

const char* to_string(level l) noexcept {
  switch (l) {
    case level::note:
      return "note";
    case level::warning:
      return "warning";
    case level::critical:
      return "critical";
  }
  return "note";
}

std::string describe_suite(const std::string& name, const std::string& version) {
  std::string kx;
  if (version == "TLSv1.3")
    kx = "TLS 1.3";
  else if (name.rfind("TLS_ECDHE_", 0) == 0)
    kx = "ECDHE";
  else if (name.rfind("TLS_DHE_", 0) == 0)
    kx = "DHE";
  else if (name.rfind("TLS_RSA_", 0) == 0)
    kx = "RSA key exchange";
  else
    kx = version.empty() ? "TLS" : version;
  std::string cipher;
  if (name.find("_GCM_") != std::string::npos)
    cipher = "AES-GCM";
  else if (name.find("CHACHA20_POLY1305") != std::string::npos)
    cipher = "ChaCha20-Poly1305";
  else if (name.find("_CCM") != std::string::npos)
    cipher = "AES-CCM";
  else if (name.find("_CBC_") != std::string::npos)
    cipher = "CBC";
  return cipher.empty() ? kx : kx + " with " + cipher;
}

std::vector<finding> compare(const std::optional<profile>& before, const profile& now,
                             const compare_options& o) {
  collector c{now, {}};
  if (!now.reachable()) {
    c.add("watch.port.unreachable", level::critical,
          now.target() + ": the port does not answer (" +
              (now.error_code.empty() ? "closed" : now.error_code) + ")" +
              (before && before->reachable() ? "; it answered at " + format_utc(before->time) : ""),
          before ? before->mode : "", now.error_code.empty() ? "closed" : now.error_code);
    return std::move(c.out);
  }
  if (!before)
    c.add("watch.baseline", level::note,
          now.target() + ": first profile stored (" + now.mode + ", " + join(now.versions) +
              "); changes are reported from the next run",
          {}, now.mode);
  else if (!before->reachable())
    c.add("watch.port.answering", level::note, now.target() + ": the port answers again (" + now.mode + ")",
          before->error_code, now.mode);
  else if (before->mode != now.mode)
    c.add("watch.port.mode-changed", level::warning,
          now.target() + ": the port speaks " + now.mode + " now, not " + before->mode +
              ": clients configured for " + before->mode + " fail",
          before->mode, now.mode);

  const std::optional<profile> comparable = before && before->reachable() ? before : std::nullopt;
  check_certificate(c, comparable, now, o);
  if (comparable) {
    check_lists(c, *comparable, now);
    check_clients(c, *comparable, now);
    check_smtp(c, *comparable, now);
  }
  check_uses(c, comparable, now, o);
  return std::move(c.out);
}

std::vector<difference> differences(const profile& before, const profile& now) {
  std::vector<difference> out;
  auto list = [&](const char* field, const std::vector<std::string>& a, const std::vector<std::string>& b) {
    auto added = minus(b, a), removed = minus(a, b);
    if (!added.empty() || !removed.empty()) out.push_back({field, std::move(added), std::move(removed)});
  };
  auto one = [](bool present, std::string v) {
    return present ? std::vector<std::string>{std::move(v)} : std::vector<std::string>{};
  };
  list("mode", {before.mode}, {now.mode});
  list("versions", before.versions, now.versions);
  list("suites", before.suites, now.suites);
  list("groups", before.groups, now.groups);
  list("clients_ok", ok_families(before), ok_families(now));
  list("starttls", one(before.starttls, "STARTTLS"), one(now.starttls, "STARTTLS"));
  list("auth", one(before.auth, "AUTH"), one(now.auth, "AUTH"));
  std::vector<std::string> old_chain, new_chain;
  for (const auto& c : before.chain) old_chain.push_back(c.sha256);
  for (const auto& c : now.chain) new_chain.push_back(c.sha256);
  list("chain", old_chain, new_chain);
  list("causes", before.causes, now.causes);
  return out;
}

int monitoring_status(const std::vector<finding>& found) noexcept {
  int status = 0;
  for (const auto& f : found) {
    if (f.level == level::critical) return 2;
    if (f.level == level::warning) status = 1;
  }
  return status;
}

const char* status_name(int status) noexcept {
  switch (status) {
    case 0:
      return "OK";
    case 1:
      return "WARNING";
    case 2:
      return "CRITICAL";
    default:
      return "UNKNOWN";
  }
}

}  // namespace postern::watch
