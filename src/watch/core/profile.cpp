// The stored form of a watched profile, and the small text formats around it (UTC times,
// retention periods). Input comes from the state database, which another process may have
// written (or a user may have edited), so parse_profile() checks every type.
#include "postern/watch/profile.hpp"

#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

namespace postern::watch {
namespace {

using json = nlohmann::json;

json cert_json(const cert_facts& c) {
  return {{"subject", c.subject},     {"issuer", c.issuer}, {"not_before", c.not_before},
          {"not_after", c.not_after}, {"sha256", c.sha256}, {"key_sha256", c.key_sha256}};
}

json client_json(const client_facts& c) {
  return {{"family", c.family}, {"ok", c.ok}, {"version", c.version}, {"suite", c.suite}, {"code", c.code}};
}

// Typed reads that report the key that is wrong instead of throwing.
struct reader {
  std::string& error;

  bool fail(const std::string& what) {
    if (error.empty()) error = what;
    return false;
  }
  bool text(const json& o, const char* key, std::string& out) {
    auto it = o.find(key);
    if (it == o.end()) return true;  // absent: the default
    if (!it->is_string()) return fail(std::string("'") + key + "' is not a string");
    out = it->get<std::string>();
    return true;
  }
  bool flag(const json& o, const char* key, bool& out) {
    auto it = o.find(key);
    if (it == o.end()) return true;
    if (!it->is_boolean()) return fail(std::string("'") + key + "' is not true or false");
    out = it->get<bool>();
    return true;
  }
  bool texts(const json& o, const char* key, std::vector<std::string>& out) {
    auto it = o.find(key);
    if (it == o.end()) return true;
    if (!it->is_array()) return fail(std::string("'") + key + "' is not a list");
    for (const auto& v : *it) {
      if (!v.is_string()) return fail(std::string("'") + key + "' holds a value that is not a string");
      out.push_back(v.get<std::string>());
    }
    return true;
  }
};

}  // namespace

std::string profile::target() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

const client_facts* profile::client(std::string_view family) const {
  for (const auto& c : clients)
    if (c.family == family) return &c;
  return nullptr;
}

std::string to_json(const profile& p) {
  json chain = json::array();
  for (const auto& c : p.chain) chain.push_back(cert_json(c));
  json clients = json::array();
  for (const auto& c : p.clients) clients.push_back(client_json(c));
  json j = {{"host", p.host},
            {"port", p.port},
            {"time", p.time},
            {"mode", p.mode},
            {"error_code", p.error_code},
            {"versions", p.versions},
            {"suites", p.suites},
            {"groups", p.groups},
            {"starttls", p.starttls},
            {"auth", p.auth},
            {"chain", chain},
            {"chain_verifies", p.chain_verifies},
            {"chain_problem", p.chain_problem},
            {"clients", clients},
            {"causes", p.causes}};
  return j.dump();
}

std::optional<profile> parse_profile(std::string_view text, std::string& error) {
  error.clear();
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    error = "not JSON";
    return std::nullopt;
  }
  if (!j.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  reader r{error};
  profile p;
  auto port = j.find("port");
  if (port == j.end() || !port->is_number_unsigned() || port->get<std::uint64_t>() > 65535) {
    error = "'port' is missing or not a port number";
    return std::nullopt;
  }
  p.port = static_cast<std::uint16_t>(port->get<std::uint64_t>());
  auto time = j.find("time");
  if (time == j.end() || !time->is_number_integer()) {
    error = "'time' is missing or not a whole number";
    return std::nullopt;
  }
  p.time = time->get<std::int64_t>();
  bool ok = r.text(j, "host", p.host) && r.text(j, "mode", p.mode) && r.text(j, "error_code", p.error_code) &&
            r.texts(j, "versions", p.versions) && r.texts(j, "suites", p.suites) &&
            r.texts(j, "groups", p.groups) && r.texts(j, "causes", p.causes) &&
            r.flag(j, "starttls", p.starttls) && r.flag(j, "auth", p.auth) &&
            r.flag(j, "chain_verifies", p.chain_verifies) && r.text(j, "chain_problem", p.chain_problem);
  if (ok && p.host.empty()) ok = r.fail("'host' is missing");
  if (ok && p.mode != "tls" && p.mode != "starttls" && p.mode != "plain" && p.mode != "closed")
    ok = r.fail("'mode' is not tls, starttls, plain or closed");
  if (auto it = j.find("chain"); ok && it != j.end()) {
    if (!it->is_array()) ok = r.fail("'chain' is not a list");
    for (std::size_t i = 0; ok && i < it->size(); ++i) {
      const auto& c = (*it)[i];
      if (!c.is_object()) {
        ok = r.fail("'chain' holds a value that is not an object");
        break;
      }
      cert_facts f;
      ok = r.text(c, "subject", f.subject) && r.text(c, "issuer", f.issuer) &&
           r.text(c, "not_before", f.not_before) && r.text(c, "not_after", f.not_after) &&
           r.text(c, "sha256", f.sha256) && r.text(c, "key_sha256", f.key_sha256);
      p.chain.push_back(std::move(f));
    }
  }
  if (auto it = j.find("clients"); ok && it != j.end()) {
    if (!it->is_array()) ok = r.fail("'clients' is not a list");
    for (std::size_t i = 0; ok && i < it->size(); ++i) {
      const auto& c = (*it)[i];
      if (!c.is_object()) {
        ok = r.fail("'clients' holds a value that is not an object");
        break;
      }
      client_facts f;
      ok = r.text(c, "family", f.family) && r.flag(c, "ok", f.ok) && r.text(c, "version", f.version) &&
           r.text(c, "suite", f.suite) && r.text(c, "code", f.code);
      p.clients.push_back(std::move(f));
    }
  }
  if (!ok) return std::nullopt;
  return p;
}

std::optional<std::int64_t> parse_utc(std::string_view s) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ, the form the probe writes.
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s[19] != 'Z')
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t len) -> int {
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
    return std::nullopt;
  static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > month_days[mo - 1] + (mo == 2 && leap ? 1 : 0)) return std::nullopt;
  // Days from the civil date (H. Hinnant's algorithm): no timegm, no time zone.
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = yy / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return days * 86400 + h * 3600 + mi * 60 + se;
}

std::string format_utc(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::int64_t> parse_duration(std::string_view text) {
  constexpr std::int64_t limit = 100LL * 366 * 86400;
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > limit) return std::nullopt;
      ++i;
    }
    if (i == start || i == text.size()) return std::nullopt;  // a number needs a unit after it
    std::int64_t unit = 0;
    switch (text[i]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return std::nullopt;
    }
    ++i;
    total += n * unit;  // n <= limit and unit <= a week: no overflow
    if (total > limit) return std::nullopt;
  }
  if (total == 0) return std::nullopt;
  return total;
}

}  // namespace postern::watch
