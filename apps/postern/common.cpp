#include "common.hpp"

#include <iostream>
#include <iterator>
#include <sstream>

#include "postern/diagnose/json.hpp"

namespace postern::cli {

std::string read_stream(std::istream& in) {
  // Block reads: istreambuf_iterator went byte by byte (2 % of a bulk run's CPU).
  std::string s;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) s.append(buf, static_cast<std::size_t>(in.gcount()));
  return s;
}

std::string first_line(std::string s) {
  auto end = s.find_first_of("\r\n");
  if (end != std::string::npos) s.resize(end);
  return s;
}

// The secret never comes from argv: a file, the environment, or a command's output.
std::pair<std::string, std::uint16_t> split_server(const std::string& s) {
  // [v6]:port, host:port, host, v6 literal without port
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) throw usage_error{"usage", "bad --server " + s, EX_USAGE};
    std::string host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') throw usage_error{"usage", "bad --server " + s, EX_USAGE};
      return {host, static_cast<std::uint16_t>(std::stoul(s.substr(close + 2)))};
    }
    return {host, 0};
  }
  auto colon = s.rfind(':');
  if (colon == std::string::npos || s.find(':') != colon) return {s, 0};
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1 || port == 0 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw usage_error{"usage", "bad port in --server " + s, EX_USAGE};
  }
  return {s.substr(0, colon), static_cast<std::uint16_t>(port)};
}

std::vector<std::uint16_t> parse_ports(const std::string& list) {
  std::vector<std::uint16_t> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      unsigned long p = std::stoul(item, &used);
      if (used != item.size() || p == 0 || p > 65535) throw std::out_of_range("port");
      out.push_back(static_cast<std::uint16_t>(p));
    } catch (const std::exception&) {
      throw usage_error{"usage", "bad port '" + item + "' in --ports " + list, EX_USAGE};
    }
  }
  if (out.empty()) throw usage_error{"usage", "--ports needs at least one port", EX_USAGE};
  return out;
}

void add_proxy_options(CLI::App& cmd, std::string& url, bool& from_env) {
  cmd.add_option("--proxy", url,
                 "connect through this proxy: socks5://[USER:PASSWORD@]HOST[:PORT] or "
                 "http://[USER:PASSWORD@]HOST:PORT (docs/proxy.md)");
  cmd.add_flag("--proxy-from-env", from_env, "use the proxy in all_proxy / ALL_PROXY (ignored without this)");
}

std::optional<net::proxy> resolve_proxy(const std::string& url, bool from_env) {
  std::string error;
  if (!url.empty()) {
    auto p = net::parse_proxy(url, error);
    if (!p) throw usage_error{"usage", "--proxy: " + error, EX_USAGE};
    return p;
  }
  if (!from_env) return std::nullopt;
  std::string variable;
  auto p = net::proxy_from_environment(error, variable);
  if (!p && !error.empty()) throw usage_error{"config", error, EX_CONFIG};
  return p;
}

json findings_json(const std::vector<diagnose::finding>& findings) {
  return diagnose::findings_json(findings);
}

void print_findings(std::ostream& out, const std::vector<diagnose::finding>& findings, bool brief) {
  for (const auto& f : findings) {
    out << "[" << f.code << "] " << f.summary << "\n";
    if (!brief)
      for (const auto& e : f.evidence) out << "    evidence: " << e << "\n";
    std::size_t n = 0;
    for (const auto& r : f.remedies) {
      if (brief && n == 3) break;
      out << "    " << ++n << ". " << r.action << ": " << (r.command.empty() ? r.security_note : r.command)
          << "\n";
      if (!r.command.empty() && !r.security_note.empty()) out << "       note: " << r.security_note << "\n";
    }
  }
}

void print_transcript_event(const smtp::transcript_event& e) {
  const char* tag = e.from == smtp::transcript_event::who::client   ? "> "
                    : e.from == smtp::transcript_event::who::server ? "< "
                                                                    : "* ";
  std::cerr << tag << e.text << "\n";
}

}  // namespace postern::cli
