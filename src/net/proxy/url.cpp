// Proxy URLs (docs/proxy.md): socks5://, socks5h://, http://, with optional credentials.
#include <cstdlib>

#include "postern/net/proxy.hpp"

namespace postern::net {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool bad_host_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == '[' || c == ']';
}

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::string proxy::to_string() const {
  std::string out = type == kind::socks5 ? "socks5://" : "http://";
  if (has_credentials()) out += user + ":***@";
  return out + bracketed(host) + ":" + std::to_string(port);
}

std::string proxy::describe() const {
  return std::string(type == kind::socks5 ? "SOCKS5 proxy " : "HTTP proxy ") + bracketed(host) + ":" +
         std::to_string(port);
}

std::optional<proxy> parse_proxy(std::string_view url, std::string& error) {
  const auto fail = [&](std::string why) -> std::optional<proxy> {
    error = "bad proxy URL: " + why +
            " (socks5://[USER:PASSWORD@]HOST[:PORT] or "
            "http://[USER:PASSWORD@]HOST:PORT)";
    return std::nullopt;
  };
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return fail("no scheme");
  const std::string scheme = lower(url.substr(0, sep));
  proxy p;
  if (scheme == "socks5" || scheme == "socks5h") {
    p.type = proxy::kind::socks5;
  } else if (scheme == "http") {
    p.type = proxy::kind::http;
  } else if (scheme == "https") {
    return fail("TLS to the proxy itself (https://) is not supported; use http://");
  } else if (scheme == "socks4" || scheme == "socks4a") {
    return fail("SOCKS4 is not supported; use socks5://");
  } else {
    return fail("unknown scheme '" + std::string(url.substr(0, sep)) + "'");
  }
  std::string_view rest = url.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) return fail("a proxy URL has no path");

  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view info = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = info.find(':');
    if (colon == std::string_view::npos) return fail("a user needs a password: USER:PASSWORD@");
    if (!percent_decode(info.substr(0, colon), p.user) || !percent_decode(info.substr(colon + 1), p.password))
      return fail("bad %-escape in the user name or password");
    if (p.user.empty() || p.password.empty()) return fail("empty user name or password");
    if (p.type == proxy::kind::socks5 && (p.user.size() > 255 || p.password.size() > 255))
      return fail("SOCKS5 user names and passwords are at most 255 bytes");
    if (p.type == proxy::kind::http && p.user.find(':') != std::string::npos)
      return fail("an HTTP proxy user name cannot contain ':'");
    for (const std::string* s : {&p.user, &p.password})
      for (const char c : *s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          return fail("control characters in the user name or password");
  }

  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("no ']' after the IPv6 address");
    p.host = std::string(rest.substr(1, close - 1));
    if (p.host.find(':') == std::string::npos) return fail("[...] is for IPv6 addresses");
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("junk after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("empty port");
    }
    for (const char c : p.host)
      if (hex_value(c) < 0 && c != ':' && c != '.') return fail("bad IPv6 address");
  } else {
    const auto colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos)
      return fail("an IPv6 address goes in brackets: [::1]:1080");
    p.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return fail("empty port");
    }
    for (const char c : p.host)
      if (bad_host_char(c)) return fail("bad character in the host name");
  }
  if (p.host.empty()) return fail("no host");
  if (p.host.size() > 253) return fail("host name too long");
  if (port_text.empty()) {
    if (p.type == proxy::kind::http) return fail("an HTTP proxy needs a port");
    p.port = 1080;
  } else {
    unsigned long v = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9' || v > 65535) return fail("bad port '" + std::string(port_text) + "'");
      v = v * 10 + static_cast<unsigned long>(c - '0');
    }
    if (v == 0 || v > 65535) return fail("bad port '" + std::string(port_text) + "'");
    p.port = static_cast<std::uint16_t>(v);
  }
  return p;
}

std::optional<proxy> proxy_from_environment(std::string& error, std::string& variable) {
  // curl's order: the lower-case name first.
  for (const char* name : {"all_proxy", "ALL_PROXY"}) {
    const char* v = std::getenv(name);
    if (!v || !*v) continue;
    variable = name;
    auto p = parse_proxy(v, error);
    if (!p) error = std::string(name) + ": " + error;
    return p;
  }
  return std::nullopt;
}

}  // namespace postern::net
