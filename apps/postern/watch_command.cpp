// postern watch: probe servers regularly, say what changed and when an allowance can go (docs/watch.md).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <stdexcept>

#include "common.hpp"
#include "postern/plan/host_memory.hpp"
#include "postern/watch/diff.hpp"
#include "postern/watch/prometheus.hpp"
#include "postern/watch/store.hpp"
#include "postern/watch/watch.hpp"

namespace postern::cli {
namespace {

struct watch_args {
  std::vector<std::string> targets, accounts;
  std::string config, state, host_memory, prometheus, history, keep = "90d";
  std::string ca_file, tls_name, ehlo;
  int warn_days = 21, critical_days = 7;
  double timeout = 0;
  unsigned jobs = 8;
  bool json = false, monitoring = false;
  std::string proxy;
  bool proxy_from_env = false;
};

// Monitoring plugins' fourth state: the check itself could not run.
constexpr int monitoring_unknown = 3;

json profile_json(const watch::profile& p) { return json::parse(watch::to_json(p)); }

json finding_json(const watch::finding& f) {
  return {{"code", f.code},     {"level", watch::to_string(f.level)},
          {"target", f.target}, {"summary", f.summary},
          {"before", f.before}, {"after", f.after}};
}

json findings_array(const std::vector<watch::finding>& fs) {
  json a = json::array();
  for (const auto& f : fs) a.push_back(finding_json(f));
  return a;
}

void print_finding(std::ostream& out, const watch::finding& f) {
  out << "  [" << watch::to_string(f.level) << "] " << f.code << ": " << f.summary << "\n";
}

// Suites and groups change by the dozen: one line per code in the text output (JSON keeps one each).
void print_findings(std::ostream& out, const std::vector<watch::finding>& fs) {
  static const std::set<std::string> grouped = {"watch.tls.suite-added", "watch.tls.suite-removed",
                                                "watch.tls.group-added", "watch.tls.group-removed"};
  for (std::size_t i = 0; i < fs.size();) {
    std::size_t j = i + 1;
    while (grouped.count(fs[i].code) && j < fs.size() && fs[j].code == fs[i].code) ++j;
    if (j - i == 1) {
      print_finding(out, fs[i]);
    } else {
      const bool added = fs[i].code.find("added") != std::string::npos;
      out << "  [" << watch::to_string(fs[i].level) << "] " << fs[i].code << ": " << fs[i].target << ": "
          << (j - i)
          << (fs[i].code.find("suite") != std::string::npos ? " cipher suites" : " key-exchange groups")
          << (added ? " now accepted: " : " no longer accepted: ");
      for (std::size_t k = i; k < j; ++k) out << (k > i ? ", " : "") << (added ? fs[k].after : fs[k].before);
      out << "\n";
    }
    i = j;
  }
}

// The usual port of an account without `port`: 465 for implicit TLS, 587 for STARTTLS, else all three.
std::uint16_t account_port(const plan::account& a) {
  if (a.port) return *a.port;
  if (a.mode == "tls") return 465;
  if (a.mode == "starttls") return 587;
  return 0;
}

// The weakest profile an account lets routing use, and the line of the config that allows it.
watch::route_use account_use(const plan::account& a) {
  // The port it sends to: without `port`, its mode's usual one (docs/config.md), not every port.
  watch::route_use u{"account", a.name, a.host, account_port(a), "strict", ""};
  auto allows = [&](const char* p) { return std::find(a.allow.begin(), a.allow.end(), p) != a.allow.end(); };
  if (a.tls_profile == "legacy" || a.tls_profile == "compat") {
    u.profile = a.tls_profile;
    u.setting = "tls-profile " + a.tls_profile;
  } else if (allows("legacy")) {
    u.profile = "legacy";
    u.setting = "allow legacy";
  } else if (allows("compat")) {
    u.profile = "compat";
    u.setting = "allow compat";
  }
  return u;
}


// Node-exporter reads the textfile at any moment: write a temporary file beside it, then rename.
void write_atomically(const std::string& path, const std::string& text) {
  const std::filesystem::path target(path);
  const auto tmp =
      target.parent_path() / ("." + target.filename().string() + ".tmp." + std::to_string(getpid()));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f)
      throw usage_error{"input", "cannot write --prometheus " + path + ": " + std::strerror(errno),
                        EX_CANTCREAT};
    f << text;
    f.flush();
    if (!f) {
      std::filesystem::remove(tmp);
      throw usage_error{"input", "cannot write --prometheus " + path, EX_IOERR};
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw usage_error{"input", "cannot write --prometheus " + path + ": " + ec.message(), EX_CANTCREAT};
  }
}

int run_history(const watch_args& a) {
  if (!a.targets.empty() || !a.accounts.empty())
    throw usage_error{"usage", "--history HOST takes no other targets or --account", EX_USAGE};
  const std::string path = a.state.empty() ? watch::store::default_path() : a.state;
  std::vector<watch::profile> stored;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    try {
      watch::store db(path);
      stored = db.history(a.history);
    } catch (const std::runtime_error& e) {
      throw usage_error{"watch.state", e.what(), EX_IOERR};
    }
  }
  if (stored.empty())
    throw usage_error{"watch.no-history", "no profiles of " + a.history + " stored in " + path, EX_NOINPUT};
  watch::compare_options o;
  o.check_expiry = false;  // what changed between profiles, not how old the certificate is today
  json out_targets = json::array();
  std::ostream& out = std::cout;
  if (!a.json) out << "history of " << a.history << ": " << stored.size() << " stored profile(s)\n";
  for (std::size_t i = 0; i < stored.size();) {
    std::size_t j = i;
    while (j < stored.size() && stored[j].port == stored[i].port) ++j;
    const std::string target = stored[i].target();
    if (!a.json) out << target << "\n";
    json changes = json::array();
    for (std::size_t k = i; k < j; ++k) {
      std::optional<watch::profile> prev;
      if (k > i) prev = stored[k - 1];
      auto found = watch::compare(prev, stored[k], o);
      changes.push_back({{"time", watch::format_utc(stored[k].time)},
                         {"mode", stored[k].mode},
                         {"findings", findings_array(found)}});
      if (a.json) continue;
      out << " " << watch::format_utc(stored[k].time) << "  " << stored[k].mode;
      if (stored[k].reachable()) {
        out << "  ";
        for (std::size_t v = 0; v < stored[k].versions.size(); ++v)
          out << (v ? " " : "") << stored[k].versions[v];
      }
      out << (found.empty() ? "  no change\n" : "\n");
      print_findings(out, found);
    }
    out_targets.push_back({{"target", target}, {"profiles", j - i}, {"changes", changes}});
    i = j;
  }
  if (a.json) std::cout << json{{"host", a.history}, {"targets", out_targets}}.dump(2) << "\n";
  return 0;
}

int run_watch(const watch_args& a) {
  if (!a.history.empty()) return run_history(a);
  if (a.warn_days < 0 || a.critical_days < 0)
    throw usage_error{"usage", "--warn-days and --critical-days must not be negative", EX_USAGE};
  if (a.critical_days > a.warn_days)
    throw usage_error{"usage", "--critical-days must not exceed --warn-days", EX_USAGE};
  const auto keep = watch::parse_duration(a.keep);
  if (!keep)
    throw usage_error{"usage", "--keep " + a.keep + ": expected a period like 90d, 12h, 2w (s, m, h, d, w)",
                      EX_USAGE};
  if (a.jobs == 0) throw usage_error{"usage", "--jobs must be at least 1", EX_USAGE};
  if (a.timeout < 0) throw usage_error{"usage", "--timeout must be positive", EX_USAGE};
  if (!a.ca_file.empty() && !std::ifstream(a.ca_file))
    throw usage_error{"input", "cannot read --ca-file " + a.ca_file, EX_NOINPUT};

  watch::options o;
  o.keep_seconds = *keep;
  o.state_path = a.state;
  o.compare.warn_days = a.warn_days;
  o.compare.critical_days = a.critical_days;
  for (const auto& t : a.targets) {
    auto [host, port] = split_server(t);
    if (host.empty()) throw usage_error{"usage", "empty host in " + t, EX_USAGE};
    o.probe.targets.push_back({host, port});
  }
  // Accounts: those named, else every account of the config whose host is watched.
  const auto loaded = load_config(a.config, !a.accounts.empty() || !a.config.empty());
  for (const auto& name : a.accounts) {
    const plan::account* acc = loaded.config->find(name);
    if (!acc)
      throw usage_error{"config",
                        "no account '" + name + "' in " + loaded.path + " (postern accounts lists them)",
                        EX_CONFIG};
    if (acc->host.empty()) throw usage_error{"config", "account '" + name + "' has no host", EX_CONFIG};
    o.compare.uses.push_back(account_use(*acc));
    const std::uint16_t port = account_port(*acc);
    const bool listed = std::any_of(
        o.probe.targets.begin(), o.probe.targets.end(),
        [&](const probe::target& t) { return t.host == acc->host && (t.port == port || port == 0); });
    if (!listed) o.probe.targets.push_back({acc->host, port});
  }
  if (o.probe.targets.empty())
    throw usage_error{"usage", "nothing to watch: give HOST[:PORT] or --account NAME", EX_USAGE};
  std::set<std::string> hosts;
  for (const auto& t : o.probe.targets) hosts.insert(t.host);
  if (a.accounts.empty() && loaded.config)
    for (const auto& acc : loaded.config->accounts)
      if (hosts.count(acc.host)) o.compare.uses.push_back(account_use(acc));
  // Remembered routes: read only when the host memory exists (watching creates none).
  const std::string memory_path = a.host_memory.empty() ? plan::host_memory::default_path() : a.host_memory;
  std::error_code ec;
  if (std::filesystem::exists(memory_path, ec)) {
    try {
      plan::host_memory m(memory_path);
      for (const auto& h : hosts)
        for (const auto& r : m.services(h))
          if (r.mode != "plain")
            o.compare.uses.push_back({"host-memory", plan::service_name(r), r.host, r.port, r.profile, ""});
    } catch (const std::runtime_error& e) {
      throw usage_error{"watch.state", e.what(), EX_IOERR};
    }
  }

  o.probe.ca_file = a.ca_file;
  o.probe.tls_name = a.tls_name;
  if (!a.ehlo.empty()) o.probe.ehlo = a.ehlo;
  if (a.timeout > 0) o.probe.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
  o.probe.jobs = a.jobs;
  o.probe.proxy = resolve_proxy(a.proxy, a.proxy_from_env);

  // The textfile's folder is checked before anything is probed or stored: a run whose findings
  // could not be written would store its profile, and the next run would not report the change.
  if (!a.prometheus.empty()) {
    const auto dir = std::filesystem::path(a.prometheus).parent_path();
    const std::string d = dir.empty() ? "." : dir.string();
    if (::access(d.c_str(), W_OK | X_OK) != 0)
      throw usage_error{"input", "cannot write --prometheus " + a.prometheus + ": folder " + d + ": " +
                                     std::strerror(errno),
                        EX_CANTCREAT};
  }

  watch::result r;
  try {
    r = watch::run(o);
  } catch (const std::runtime_error& e) {
    throw usage_error{"watch.state", e.what(), EX_IOERR};
  }
  const auto all = r.all_findings();
  const int status = watch::monitoring_status(all);
  bool unreachable = false;
  for (const auto& t : r.targets) unreachable = unreachable || !t.now.reachable();

  std::ostream& out = std::cout;
  if (a.monitoring) {
    int crit = 0, warn = 0, note = 0;
    for (const auto& f : all)
      (f.level == watch::level::critical ? crit : f.level == watch::level::warning ? warn : note)++;
    const watch::finding* worst = nullptr;
    for (const auto& f : all)
      if (f.level != watch::level::note && (!worst || f.level > worst->level)) worst = &f;
    out << "POSTERN WATCH " << watch::status_name(status) << " - " << r.targets.size() << " target"
        << (r.targets.size() == 1 ? "" : "s");
    if (worst)
      out << ", " << crit << " critical, " << warn << " warning" << (warn == 1 ? "" : "s") << ": "
          << worst->summary;
    else
      out << ", nothing to act on";
    out << " | critical=" << crit << " warning=" << warn << " note=" << note << "\n";
  }
  if (a.json) {
    json targets = json::array();
    for (const auto& t : r.targets) {
      json diffs = json::array();
      if (t.before)
        for (const auto& d : watch::differences(*t.before, t.now))
          diffs.push_back({{"field", d.field}, {"added", d.added}, {"removed", d.removed}});
      targets.push_back({{"target", t.now.target()},
                         {"status", watch::status_name(watch::monitoring_status(t.findings))},
                         {"before", t.before ? profile_json(*t.before) : json(nullptr)},
                         {"after", profile_json(t.now)},
                         {"differences", diffs},
                         {"findings", findings_array(t.findings)}});
    }
    out << json{{"status", watch::status_name(status)},
                {"monitoring_exit_code", status},
                {"checked_at", watch::format_utc(r.targets.empty() ? 0 : r.targets.front().now.time)},
                {"pruned", r.pruned},
                {"targets", targets},
                {"findings", findings_array(all)}}
               .dump(2)
        << "\n";
  } else {
    for (const auto& t : r.targets) {
      out << t.now.target() << " (" << t.now.mode << ") "
          << watch::status_name(watch::monitoring_status(t.findings)) << "\n";
      print_findings(out, t.findings);
    }
  }
  // Written after the findings are shown, so a failure here (a full disk) loses none of them.
  if (!a.prometheus.empty()) {
    std::vector<watch::profile> now;
    for (const auto& t : r.targets) now.push_back(t.now);
    const std::int64_t at = r.targets.empty() ? 0 : r.targets.front().now.time;
    try {
      write_atomically(a.prometheus, watch::render_prometheus(now, all, at));
    } catch (const usage_error& e) {
      std::cerr << "postern: error [" << e.code << "]: " << e.text << "\n";
      if (a.monitoring) return status == 0 ? monitoring_unknown : status;
      return e.exit_code;
    }
  }
  if (a.monitoring) return status;
  return unreachable ? EX_UNAVAILABLE : 0;
}

}  // namespace

command add_watch_command(CLI::App& app) {
  auto wa = std::make_shared<watch_args>();
  auto* cmd = app.add_subcommand("watch",
                                 "probe mail servers, compare with the last run, report what changed "
                                 "and which allowances are no longer needed (docs/watch.md)");
  cmd->add_option("targets", wa->targets, "HOST[:PORT]... (a host alone: ports 465, 587 and 25)");
  cmd->add_option(
      "--account", wa->accounts,
      "account of the config file to check (its allowances; its server is watched too); repeatable");
  cmd->add_option("--config", wa->config, "config file instead of $XDG_CONFIG_HOME/postern/config");
  cmd->add_flag("--json", wa->json, "print one JSON object: findings, both profiles, their differences");
  cmd->add_option("--warn-days", wa->warn_days, "certificate expiring within N days: warning (default 21)");
  cmd->add_option("--critical-days", wa->critical_days, "within N days: critical (default 7)");
  cmd->add_flag("--monitoring", wa->monitoring,
                "monitoring-plugin output and exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN");
  cmd->add_option("--prometheus", wa->prometheus, "also write a node-exporter textfile (written atomically)");
  cmd->add_option("--history", wa->history, "show what changed when for HOST, from the stored profiles");
  cmd->add_option("--keep", wa->keep, "prune stored profiles older than this (default 90d; s m h d w)");
  cmd->add_option("--state", wa->state, "watch state file (default $XDG_STATE_HOME/postern/watch.sqlite)");
  cmd->add_option("--host-memory", wa->host_memory,
                  "host memory file to check (default $XDG_STATE_HOME/postern/hosts.sqlite)");
  cmd->add_option("--ca-file", wa->ca_file, "PEM file of trusted roots (default: the system's)");
  cmd->add_option("--tls-name", wa->tls_name, "name to verify in the certificate and send as SNI");
  cmd->add_option("--timeout", wa->timeout, "seconds for each step of each connection (default 10)");
  cmd->add_option("--jobs", wa->jobs, "connections at once (default 8)");
  cmd->add_option("--ehlo", wa->ehlo, "EHLO name (default localhost)");
  add_proxy_options(*cmd, wa->proxy, wa->proxy_from_env);
  return {cmd, [wa] {
            try {
              return run_watch(*wa);
            } catch (const usage_error& e) {
              if (!wa->monitoring) throw;
              // A check that could not run is UNKNOWN to a monitoring system, whatever the reason.
              std::cout << "POSTERN WATCH UNKNOWN - [" << e.code << "] " << e.text << "\n";
              std::cerr << "postern: error [" << e.code << "]: " << e.text << "\n";
              return monitoring_unknown;
            }
          }};
}

}  // namespace postern::cli
