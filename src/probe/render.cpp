// The probe report as JSON (docs/probe.md), as human tables, and as one HTML page.
#include <nlohmann/json.hpp>
#include <sstream>

#include "postern/diagnose/json.hpp"
#include "postern/probe/probe.hpp"

namespace postern::probe {
namespace {

using json = nlohmann::json;

json null_or(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::string hex4(std::uint16_t v) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string s = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xf];
  return s;
}

json target_json(const target_report& t) {
  json versions = json::array();
  for (const auto& v : t.versions) versions.push_back({{"version", v.version}, {"accepted", v.accepted}});
  json suites = json::array();
  for (const auto& s : t.suites)
    suites.push_back({{"name", s.name},
                      {"code", hex4(s.code)},
                      {"version", s.version},
                      {"kx", s.kx},
                      {"bits", s.bits},
                      {"order", s.order}});
  json groups = json::array();
  for (const auto& g : t.groups) groups.push_back({{"name", g.name}, {"version", g.version}});
  json chain = json::array();
  for (const auto& c : t.chain)
    chain.push_back({{"subject", c.subject},
                     {"issuer", c.issuer},
                     {"sans", c.sans},
                     {"not_before", c.not_before},
                     {"not_after", c.not_after},
                     {"key_type", c.key_type},
                     {"key_bits", c.key_bits},
                     {"signature_algorithm", c.signature_algorithm}});
  json clients = json::array();
  for (const auto& c : t.clients)
    clients.push_back({{"family", c.family},
                       {"ok", c.ok},
                       {"version", null_or(c.version)},
                       {"suite", null_or(c.suite)},
                       {"code", null_or(c.code)},
                       {"detail", c.detail}});
  return {{"host", t.host},
          {"port", t.port},
          {"mode", to_string(t.mode)},
          {"error", null_or(t.error_code)},
          {"banner", t.banner ? json(*t.banner) : json(nullptr)},
          {"ehlo_before_tls", t.ehlo_before_tls},
          {"ehlo_after_tls", t.ehlo_after_tls},
          {"auth_before_tls", t.auth_before_tls},
          {"versions", versions},
          {"suites", suites},
          {"server_preference", t.server_preference},
          {"groups", groups},
          {"chain", chain},
          {"chain_verifies", t.chain_verifies},
          {"chain_problem", t.chain_problem ? json(*t.chain_problem) : json(nullptr)},
          {"client_cert_required", t.client_cert_required},
          {"clients", clients},
          {"findings", diagnose::findings_json(t.findings)},
          {"hellos_sent", t.hellos_sent},
          {"connections", t.connections},
          {"round_trips", t.round_trips},
          {"elapsed_ms", t.elapsed_ms}};
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

/** One line on the state of a target, for the text header and the HTML verdict. */
std::string verdict(const target_report& t) {
  if (t.mode == port_mode::closed) return "unreachable (" + t.error_code + ")";
  if (t.mode == port_mode::plain) return "plain SMTP only: no TLS offered";
  int ok = 0;
  bool strict = false;
  for (const auto& c : t.clients) {
    ok += c.ok;
    if (c.family == "postern-strict") strict = c.ok;
  }
  int errors = 0;
  for (const auto& f : t.findings) errors += f.severity == diagnose::severity::error;
  std::string s = std::to_string(ok) + " of " + std::to_string(t.clients.size()) + " client families connect";
  if (strict && errors == 0) return "good: " + s;
  if (ok == 0) return "broken: no client family connects";
  return "needs attention: " + s;
}

std::string html_escape(std::string_view in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control bytes from a hostile banner would only garble the page.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          out += "&#xFFFD;";
        else
          out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_json(const report& r) {
  json targets = json::array();
  for (const auto& t : r.targets) targets.push_back(target_json(t));
  return json{{"targets", targets}}.dump(2, ' ', false, json::error_handler_t::replace);
}

std::string render_text(const report& r, bool utf8) {
  std::ostringstream out;
  const char* yes = utf8 ? "✓" : "ok";
  const char* no = utf8 ? "✗" : "--";
  for (const auto& t : r.targets) {
    out << t.host << ":" << t.port << "  " << to_string(t.mode) << "  — " << verdict(t) << "  ("
        << t.elapsed_ms << " ms, " << t.hellos_sent << " hellos, " << t.connections << " connections, "
        << t.round_trips << " round trips)\n";
    if (t.banner) out << "  banner     " << *t.banner << "\n";
    if (!t.ehlo_before_tls.empty()) out << "  EHLO       " << join(t.ehlo_before_tls, " ") << "\n";
    if (!t.ehlo_after_tls.empty()) out << "  EHLO (TLS) " << join(t.ehlo_after_tls, " ") << "\n";
    if (t.mode == port_mode::tls || t.mode == port_mode::starttls) {
      out << "  versions  ";
      for (const auto& v : t.versions) out << " " << v.version << " " << (v.accepted ? yes : no);
      out << "\n  suites (" << (t.server_preference ? "server" : "client") << " order)\n";
      for (const auto& s : t.suites)
        out << "    " << s.version << "  " << s.order << ". " << s.name << "  " << s.kx << " " << s.bits
            << "\n";
      if (!t.groups.empty()) {
        out << "  groups    ";
        for (const auto& g : t.groups) out << " " << g.name << "(" << g.version.substr(3) << ")";
        out << "\n";
      }
      out << "  chain      " << (t.chain_verifies ? "verifies" : "does not verify")
          << (t.chain_problem ? " [" + *t.chain_problem + "]" : "") << "\n";
      for (std::size_t i = 0; i < t.chain.size(); ++i) {
        const auto& c = t.chain[i];
        out << "    " << i << " " << c.subject << "  " << c.key_type << " " << c.key_bits << "  "
            << c.signature_algorithm << "\n      issuer " << c.issuer << "\n      valid " << c.not_before
            << " .. " << c.not_after << "\n";
        if (!c.sans.empty()) out << "      names " << join(c.sans, ", ") << "\n";
      }
      out << "  clients\n";
      for (const auto& c : t.clients) {
        out << "    " << (c.ok ? yes : no) << " " << c.family;
        for (std::size_t pad = c.family.size(); pad < 15; ++pad) out << ' ';
        if (c.ok)
          out << c.version << " " << c.suite;
        else
          out << "[" << c.code << "] " << c.detail;
        out << "\n";
      }
    }
    for (const auto& f : t.findings) {
      out << "  [" << f.code << "] (" << diagnose::to_string(f.severity) << ") " << f.summary << "\n";
      for (const auto& e : f.evidence) out << "      - " << e << "\n";
      for (const auto& m : f.remedies)
        out << "      fix: " << (m.command.empty() ? m.security_note : m.command) << "\n";
    }
    out << "\n";
  }
  return out.str();
}

std::string render_html(const report& r) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>postern "
       "probe</title>\n<style>\n"
       "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:."
       "5em 0 "
       "1.5em}td,th{border:1px solid #ccc;padding:.25em "
       ".6em;text-align:left;font-size:.92em}th{background:#f2f2f2}"
       ".ok{color:#176b2c;font-weight:bold}.no{color:#a61b1b;font-weight:bold}.verdict{font-size:1.2em;"
       "padding:.5em;"
       "background:#f6f6f6;border-left:4px solid "
       "#888}code{font-family:ui-monospace,monospace}\n</style></head>"
       "<body>\n<h1>postern probe</h1>\n";
  for (std::size_t n = 0; n < r.targets.size(); ++n) {
    const auto& t = r.targets[n];
    // The first target's tables keep the plain ids; ids must stay unique on the page.
    const std::string sfx = n == 0 ? "" : "-" + std::to_string(n + 1);
    const std::string where = html_escape(t.host) + ":" + std::to_string(t.port);
    h << "<section>\n<h2>" << where << " <small>(" << to_string(t.mode) << ")</small></h2>\n";
    h << "<p class=\"verdict\">" << html_escape(verdict(t)) << "</p>\n";
    if (t.banner) h << "<p>Banner: <code>" << html_escape(*t.banner) << "</code></p>\n";
    if (!t.ehlo_before_tls.empty())
      h << "<p>EHLO before TLS: <code>" << html_escape(join(t.ehlo_before_tls, " ")) << "</code></p>\n";
    if (!t.ehlo_after_tls.empty())
      h << "<p>EHLO after TLS: <code>" << html_escape(join(t.ehlo_after_tls, " ")) << "</code></p>\n";
    h << "<h3>Client compatibility</h3>\n<table id=\"clients" << sfx
      << "\"><tr><th>client</th><th>result</th><th>version</th>"
         "<th>suite or cause</th></tr>\n";
    for (const auto& c : t.clients) {
      h << "<tr><td>" << html_escape(c.family) << "</td><td class=\""
        << (c.ok ? "ok\">&#10003;" : "no\">&#10007;") << "</td><td>" << html_escape(c.version)
        << "</td><td><code>" << html_escape(c.ok ? c.suite : c.code) << "</code>"
        << (c.ok ? "" : " " + html_escape(c.detail)) << "</td></tr>\n";
    }
    h << "</table>\n<h3>Versions</h3>\n<p>";
    for (const auto& v : t.versions)
      h << html_escape(v.version) << " <span class=\"" << (v.accepted ? "ok\">&#10003;" : "no\">&#10007;")
        << "</span> &nbsp; ";
    h << "</p>\n<h3>Cipher suites (" << (t.server_preference ? "server" : "client") << " order)</h3>\n"
      << "<table id=\"suites" << sfx
      << "\"><tr><th>version</th><th>#</th><th>suite</th><th>code</th><th>kx</th><th>bits</th>"
         "</tr>\n";
    for (const auto& s : t.suites)
      h << "<tr><td>" << html_escape(s.version) << "</td><td>" << s.order << "</td><td><code>"
        << html_escape(s.name) << "</code></td><td>" << hex4(s.code) << "</td><td>" << html_escape(s.kx)
        << "</td><td>" << s.bits << "</td></tr>\n";
    h << "</table>\n";
    if (!t.groups.empty()) {
      h << "<p>Groups: ";
      for (const auto& g : t.groups)
        h << "<code>" << html_escape(g.name) << "</code> (" << html_escape(g.version) << ") ";
      h << "</p>\n";
    }
    h << "<h3>Certificate chain: " << (t.chain_verifies ? "verifies" : "does not verify")
      << (t.chain_problem ? " <code>" + html_escape(*t.chain_problem) + "</code>" : "") << "</h3>\n"
      << "<table id=\"chain" << sfx
      << "\"><tr><th>#</th><th>subject</th><th>issuer</th><th>names</th><th>valid</th><th>key</th>"
         "<th>signature</th></tr>\n";
    for (std::size_t i = 0; i < t.chain.size(); ++i) {
      const auto& c = t.chain[i];
      h << "<tr><td>" << i << "</td><td>" << html_escape(c.subject) << "</td><td>" << html_escape(c.issuer)
        << "</td><td>" << html_escape(join(c.sans, ", ")) << "</td><td>" << html_escape(c.not_before)
        << " &ndash; " << html_escape(c.not_after) << "</td><td>" << html_escape(c.key_type) << " "
        << c.key_bits << "</td><td>" << html_escape(c.signature_algorithm) << "</td></tr>\n";
    }
    h << "</table>\n<h3>Findings</h3>\n<ul id=\"findings" << sfx << "\">\n";
    for (const auto& f : t.findings) {
      h << "<li><code>" << html_escape(f.code) << "</code> (" << diagnose::to_string(f.severity) << ") "
        << html_escape(f.summary);
      if (!f.evidence.empty()) {
        h << "<ul>";
        for (const auto& e : f.evidence) h << "<li>" << html_escape(e) << "</li>";
        h << "</ul>";
      }
      h << "</li>\n";
    }
    if (t.findings.empty()) h << "<li>none</li>\n";
    h << "</ul>\n<p><small>" << t.elapsed_ms << " ms, " << t.hellos_sent
      << " ClientHellos</small></p>\n</section>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace postern::probe
