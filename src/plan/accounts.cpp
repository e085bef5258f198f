// The accounts file (docs/config.md): a small line-based format close to msmtp's, parsed
// without I/O so that every error can name its line.
#include "postern/plan/accounts.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "postern/net/proxy.hpp"

namespace postern::plan {
namespace {

constexpr std::array<std::string_view, 29> known_keys{
    "defaults", "account", "default", "host", "port", "mode", "tls-profile", "allow", "user",
    "password-command", "password-file", "auth", "from", "tls-name", "ca-file", "ports", "ehlo", "timeout",
    "client-cert", "client-key", "proxy",
    // DKIM signing (docs/dkim.md)
    "dkim-domain", "dkim-selector", "dkim-key", "dkim-canon", "dkim-headers",
    // the durable queue (docs/queue.md)
    "queue", "queue-location", "bounce-to"};

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A '#' at the start of the line or after white space starts a comment, unless it is inside
// double quotes.
std::string_view strip_comment(std::string_view line) {
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '#' && !quoted && (i == 0 || is_space(line[i - 1]))) {
      return line.substr(0, i);
    }
  }
  return line;
}

// "…" around the whole value is removed (with \" and \\ inside); anything else stays as written.
std::string unquote(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
  std::string out;
  for (std::size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) {
      out += v[++i];
    } else if (v[i] == '"') {
      return std::string(v);  // several quoted pieces: the value is meant literally
    } else {
      out += v[i];
    }
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "a,b c" -> {"a", "b", "c"}
std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  std::string item;
  for (const char c : s) {
    if (c == ',' || is_space(c)) {
      if (!item.empty()) out.push_back(std::move(item));
      item.clear();
    } else {
      item += c;
    }
  }
  if (!item.empty()) out.push_back(std::move(item));
  return out;
}

class parser {
 public:
  std::optional<config> run(std::string_view text, std::string& error) {
    std::size_t pos = 0;
    while (pos <= text.size()) {
      ++line_;
      const auto lf = text.find('\n', pos);
      const std::string_view raw =
          text.substr(pos, lf == std::string_view::npos ? text.size() - pos : lf - pos);
      pos = lf == std::string_view::npos ? text.size() + 1 : lf + 1;
      const std::string_view l = trim(strip_comment(raw));
      if (l.empty()) continue;
      std::size_t split = 0;
      while (split < l.size() && !is_space(l[split])) ++split;
      if (!line(l.substr(0, split), trim(l.substr(split)))) {
        error = "line " + std::to_string(line_) + ": " + error_;
        return std::nullopt;
      }
    }
    for (const auto& a : cfg_.accounts)
      if (a.host.empty()) {
        error = "line " + std::to_string(a.line) + ": account '" + a.name + "' has no host";
        return std::nullopt;
      }
    if (!cfg_.default_account.empty() && !cfg_.find(cfg_.default_account)) {
      error = "line " + std::to_string(default_line_) + ": default account '" + cfg_.default_account +
              "' is not defined";
      return std::nullopt;
    }
    return std::move(cfg_);
  }

 private:
  bool fail(std::string what) {
    error_ = std::move(what);
    return false;
  }

  bool line(std::string_view key, std::string_view raw_value) {
    const std::string value = unquote(raw_value);
    const std::string k(key);
    if (key == "defaults") {
      if (!raw_value.empty()) return fail("'defaults' takes no value");
      current_ = &defaults_;
      allow_set_ = false;
      return true;
    }
    if (key == "account") {
      if (value.empty()) return fail("'account' needs a name");
      if (value.find_first_of(" \t") != std::string::npos)
        return fail("account name '" + value + "' has white space");
      if (const auto* other = cfg_.find(value))
        return fail("account '" + value + "' is already defined on line " + std::to_string(other->line));
      account a = defaults_;
      a.name = value;
      a.line = line_;
      cfg_.accounts.push_back(std::move(a));
      current_ = &cfg_.accounts.back();
      allow_set_ = false;
      return true;
    }
    if (key == "default") {
      if (value.empty()) return fail("'default' needs an account name");
      cfg_.default_account = value;
      default_line_ = line_;
      return true;
    }
    if (std::find(known_keys.begin(), known_keys.end(), key) == known_keys.end()) {
      std::string msg = "unknown key '" + k + "'";
      for (const auto known : known_keys)
        if (edit_distance(key, known) <= 2) {
          msg += " (did you mean '" + std::string(known) + "'?)";
          break;
        }
      return fail(msg);
    }
    if (!current_) return fail("'" + k + "' before any 'account NAME' or 'defaults' line");
    if (value.empty()) return fail("'" + k + "' needs a value");
    account& a = *current_;
    if (key == "host") {
      if (value.find_first_of(" \t") != std::string::npos)
        return fail("host '" + value + "' has white space");
      a.host = value;
    } else if (key == "port") {
      a.port = parse_port(value);
      if (!a.port) return fail("bad port '" + value + "' (a number from 1 to 65535)");
    } else if (key == "mode") {
      if (value != "tls" && value != "starttls" && value != "plain" && value != "auto")
        return fail("unknown mode '" + value + "' (tls, starttls, plain or auto)");
      a.mode = value;
    } else if (key == "tls-profile") {
      if (value != "strict" && value != "compat" && value != "legacy")
        return fail("unknown tls-profile '" + value + "' (strict, compat or legacy)");
      a.tls_profile = value;
    } else if (key == "allow") {
      // The first `allow` of a block replaces what `defaults` gave; more lines add to it.
      if (!allow_set_) a.allow.clear();
      allow_set_ = true;
      for (auto& p : split_list(value)) {
        if (p != "compat" && p != "legacy") return fail("allow '" + p + "': only compat or legacy");
        if (std::find(a.allow.begin(), a.allow.end(), p) == a.allow.end()) a.allow.push_back(std::move(p));
      }
    } else if (key == "ports") {
      std::string list;
      for (const auto& p : split_list(value)) {
        if (!parse_port(p)) return fail("bad port '" + p + "' in ports (numbers from 1 to 65535)");
        list += (list.empty() ? "" : ",") + p;
      }
      if (list.empty()) return fail("'ports' needs a value");
      a.ports = list;
    } else if (key == "timeout") {
      char* end = nullptr;
      const double t = std::strtod(value.c_str(), &end);
      if (end != value.c_str() + value.size() || !(t > 0) || t > 86400)
        return fail("bad timeout '" + value + "' (seconds, more than 0)");
      a.timeout = t;
    } else if (key == "user") {
      a.user = value;
    } else if (key == "password-command") {
      a.password_command = value;
    } else if (key == "password-file") {
      a.password_file = value;
    } else if (key == "auth") {
      a.auth = value;
    } else if (key == "from") {
      a.from = value;
    } else if (key == "tls-name") {
      a.tls_name = value;
    } else if (key == "ca-file") {
      a.ca_file = value;
    } else if (key == "client-cert") {
      a.client_cert = value;
    } else if (key == "client-key") {
      a.client_key = value;
    } else if (key == "ehlo") {
      a.ehlo = value;
    } else if (key == "dkim-domain") {
      a.dkim_domain = value;
    } else if (key == "dkim-selector") {
      a.dkim_selector = value;
    } else if (key == "dkim-key") {
      a.dkim_key = value;
    } else if (key == "dkim-canon") {
      static constexpr std::array<std::string_view, 6> canons{
          "relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed", "relaxed", "simple"};
      if (std::find(canons.begin(), canons.end(), value) == canons.end())
        return fail("unknown dkim-canon '" + value +
                    "' (relaxed/relaxed, simple/simple, relaxed/simple or simple/relaxed)");
      a.dkim_canon = value;
    } else if (key == "dkim-headers") {
      a.dkim_headers = value;
    } else if (key == "queue") {
      if (value != "on-failure" && value != "always" && value != "never")
        return fail("queue takes on-failure, always or never, not '" + value + "'");
      a.queue = value;
    } else if (key == "queue-location") {
      a.queue_location = value;
    } else if (key == "bounce-to") {
      a.bounce_to = value;
    } else if (key == "proxy") {
      // "none" undoes a proxy that `defaults` set.
      std::string why;
      if (value != "none" && !net::parse_proxy(value, why)) return fail(why);
      a.proxy = value == "none" ? std::string() : value;
    }
    return true;
  }

  config cfg_;
  account defaults_;
  account* current_ = nullptr;  // cfg_.accounts.back() or &defaults_; push_back happens only when it is reset
  bool allow_set_ = false;
  std::size_t line_ = 0, default_line_ = 0;
  std::string error_;
};

}  // namespace

const account* config::find(std::string_view name) const {
  for (const auto& a : accounts)
    if (a.name == name) return &a;
  return nullptr;
}

const account* config::default_one() const {
  return find(default_account.empty() ? std::string_view("default") : std::string_view(default_account));
}

std::optional<config> parse_config(std::string_view text, std::string& error) {
  return parser{}.run(text, error);
}

std::string default_config_path() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg == '/')
    return std::string(xdg) + "/postern/config";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.config/postern/config";
  return {};
}

}  // namespace postern::plan
