#include "postern/watch/watch.hpp"

#include <algorithm>
#include <chrono>

#include "postern/watch/store.hpp"

namespace postern::watch {
namespace {

bool has_keyword(const std::vector<std::string>& ehlo, const char* keyword) {
  return std::find(ehlo.begin(), ehlo.end(), keyword) != ehlo.end();
}

}  // namespace

std::vector<finding> result::all_findings() const {
  std::vector<finding> out;
  for (const auto& t : targets) out.insert(out.end(), t.findings.begin(), t.findings.end());
  return out;
}

profile from_probe(const probe::target_report& t, std::int64_t time) {
  profile p;
  p.host = t.host;
  p.port = t.port;
  p.time = time;
  p.mode = probe::to_string(t.mode);
  p.error_code = t.error_code;
  for (const auto& v : t.versions)
    if (v.accepted) p.versions.push_back(v.version);
  for (const auto& s : t.suites)
    if (std::find(p.suites.begin(), p.suites.end(), s.name) == p.suites.end()) p.suites.push_back(s.name);
  for (const auto& g : t.groups)
    if (std::find(p.groups.begin(), p.groups.end(), g.name) == p.groups.end()) p.groups.push_back(g.name);
  p.starttls = has_keyword(t.ehlo_before_tls, "STARTTLS");
  p.auth = t.auth_before_tls || has_keyword(t.ehlo_after_tls, "AUTH") ||
           (t.mode == probe::port_mode::plain && has_keyword(t.ehlo_before_tls, "AUTH"));
  for (const auto& c : t.chain)
    p.chain.push_back({c.subject, c.issuer, c.not_before, c.not_after, c.sha256, c.key_sha256});
  p.chain_verifies = t.chain_verifies;
  p.chain_problem = t.chain_problem.value_or("");
  for (const auto& c : t.clients) p.clients.push_back({c.family, c.ok, c.version, c.suite, c.code});
  for (const auto& f : t.findings)
    if (f.severity == diagnose::severity::error) p.causes.push_back(f.code);
  return p;
}

result run(const options& o) {
  // Open the database before the scan: a state problem should cost no network work.
  store db(o.state_path.empty() ? store::default_path() : o.state_path);
  const std::int64_t now = o.now ? *o.now
                                 : std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
  const auto report = probe::run(o.probe);
  result r;
  for (const auto& t : report.targets) {
    target_result tr;
    tr.now = from_probe(t, now);
    tr.before = db.latest(tr.now.host, tr.now.port);
    tr.findings = compare(tr.before, tr.now, o.compare);
    db.add(tr.now);
    r.targets.push_back(std::move(tr));
  }
  r.pruned = db.prune(now - o.keep_seconds);
  return r;
}

}  // namespace postern::watch
