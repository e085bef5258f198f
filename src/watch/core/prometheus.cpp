// The node-exporter textfile of `postern watch --prometheus FILE` (text exposition format 0.0.4).
#include "postern/watch/prometheus.hpp"

#include <map>
#include <sstream>

namespace postern::watch {
namespace {

// Label values escape backslash, double quote and line feed.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void header(std::ostringstream& o, const char* name, const char* help) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
}

}  // namespace

std::string render_prometheus(const std::vector<profile>& profiles, const std::vector<finding>& findings,
                              std::int64_t now) {
  std::ostringstream o;
  header(o, "postern_watch_up", "1 when the target answered (SMTP or TLS), 0 when it did not.");
  for (const auto& p : profiles)
    o << "postern_watch_up{target=\"" << label(p.target()) << "\"} " << (p.reachable() ? 1 : 0) << "\n";

  header(o, "postern_watch_cert_expiry_seconds",
         "Seconds until the leaf certificate's notAfter (negative once expired).");
  for (const auto& p : profiles)
    if (!p.chain.empty())
      if (auto t = parse_utc(p.chain.front().not_after))
        o << "postern_watch_cert_expiry_seconds{target=\"" << label(p.target()) << "\"} " << (*t - now)
          << "\n";
  header(o, "postern_watch_cert_not_after_timestamp_seconds",
         "The leaf certificate's notAfter, unix seconds.");
  for (const auto& p : profiles)
    if (!p.chain.empty())
      if (auto t = parse_utc(p.chain.front().not_after))
        o << "postern_watch_cert_not_after_timestamp_seconds{target=\"" << label(p.target()) << "\"} " << *t
          << "\n";

  header(o, "postern_watch_tls_version_accepted", "1 when the target accepts this TLS version, else 0.");
  static const char* const known[] = {"TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3"};
  for (const auto& p : profiles) {
    if (!p.has_tls()) continue;
    for (const char* v : known) {
      bool accepted = false;
      for (const auto& a : p.versions) accepted = accepted || a == v;
      if (!accepted && std::string(v) == "SSLv3") continue;  // only listed when accepted, as the probe does
      o << "postern_watch_tls_version_accepted{target=\"" << label(p.target()) << "\",version=\"" << v
        << "\"} " << (accepted ? 1 : 0) << "\n";
    }
  }

  header(o, "postern_watch_client_ok", "1 when this client family connects (certificate verified), else 0.");
  for (const auto& p : profiles)
    for (const auto& c : p.clients)
      o << "postern_watch_client_ok{target=\"" << label(p.target()) << "\",family=\"" << label(c.family)
        << "\"} " << (c.ok ? 1 : 0) << "\n";

  header(o, "postern_watch_findings", "Findings of the last run, by level.");
  for (const auto& p : profiles) {
    std::map<std::string, int> count{{"note", 0}, {"warning", 0}, {"critical", 0}};
    for (const auto& f : findings)
      if (f.target == p.target()) ++count[to_string(f.level)];
    for (const auto& [l, n] : count)
      o << "postern_watch_findings{target=\"" << label(p.target()) << "\",level=\"" << l << "\"} " << n
        << "\n";
  }

  header(o, "postern_watch_last_run_timestamp_seconds", "When postern watch last ran, unix seconds.");
  o << "postern_watch_last_run_timestamp_seconds " << now << "\n";
  return o.str();
}

}  // namespace postern::watch
