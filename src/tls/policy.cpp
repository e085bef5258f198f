// The named TLS profiles of DESIGN.md, and the text form of a policy.
#include "postern/tls/policy.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace postern::tls {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  s = trim(s);
  if (s.empty()) return out;
  while (true) {
    const auto comma = s.find(',');
    const auto item = trim(s.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// rustls' default provider, in its order: the reference for "strict".
const std::vector<std::string> strict_tls13_suites = {
    "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_CHACHA20_POLY1305_SHA256",
};
const std::vector<std::string> strict_tls12_suites = {
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",       "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",         "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
};
const std::vector<std::string> strict_groups = {"x25519", "secp256r1", "secp384r1"};
const std::vector<std::string> strict_signature_schemes = {
    "ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "ed25519",
    "rsa_pss_rsae_sha256",    "rsa_pss_rsae_sha384",    "rsa_pss_rsae_sha512",
    "rsa_pkcs1_sha256",       "rsa_pkcs1_sha384",       "rsa_pkcs1_sha512",
};

// compat: forward-secret key exchange first (ECDHE, then DHE), AEAD before CBC-SHA-2 before
// CBC-SHA-1; RSA key exchange last, in the same cipher order.
const std::vector<std::string> compat_tls12_suites = {
    // forward secret, AEAD
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    // forward secret, CBC with SHA-256/384
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    // forward secret, CBC with SHA-1
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    // RSA key exchange (no forward secrecy)
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
};
const std::vector<std::string> compat_groups = {"x25519",    "secp256r1", "secp384r1", "secp521r1",
                                                "ffdhe2048", "ffdhe3072", "ffdhe4096"};

std::vector<std::string> compat_signature_schemes() {
  auto v = strict_signature_schemes;
  v.emplace_back("ecdsa_secp521r1_sha512");
  v.emplace_back("rsa_pkcs1_sha1");
  v.emplace_back("ecdsa_sha1");
  return v;
}

std::array<policy, 3> make_profiles() {
  policy strict;
  strict.name = "strict";
  strict.min_version = version::tls1_2;
  strict.max_version = version::tls1_3;
  strict.tls13_suites = strict_tls13_suites;
  strict.tls12_suites = strict_tls12_suites;
  strict.groups = strict_groups;
  strict.signature_schemes = strict_signature_schemes;
  strict.min_dh_bits = 2048;
  strict.min_rsa_bits = 2048;

  policy compat = strict;
  compat.name = "compat";
  compat.tls12_suites = compat_tls12_suites;
  compat.groups = compat_groups;
  compat.signature_schemes = compat_signature_schemes();
  compat.security_note =
      "may use RSA key exchange (no forward secrecy: a later leak of the server's key decrypts "
      "recorded sessions), finite-field DHE, CBC ciphers and SHA-1 MACs, and accepts handshake "
      "signatures made with SHA-1 (rsa_pkcs1_sha1, ecdsa_sha1)";

  policy legacy = compat;
  legacy.name = "legacy";
  legacy.min_version = version::tls1_0;
  legacy.min_dh_bits = 1024;
  legacy.security_note =
      "INSECURE LAST RESORT: allows TLS 1.0 and 1.1 (deprecated by RFC 8996; MD5/SHA-1 based "
      "handshake), 1024-bit DHE (within reach of well-funded attackers), RSA key exchange (no "
      "forward secrecy), CBC ciphers, SHA-1 MACs and SHA-1 handshake signatures";

  return {std::move(strict), std::move(compat), std::move(legacy)};
}

const std::array<policy, 3>& profiles() {
  static const std::array<policy, 3> all = make_profiles();
  return all;
}

struct version_name {
  version v;
  const char* name;
};
constexpr std::array<version_name, 4> version_names = {{
    {version::tls1_0, "TLSv1.0"},
    {version::tls1_1, "TLSv1.1"},
    {version::tls1_2, "TLSv1.2"},
    {version::tls1_3, "TLSv1.3"},
}};

}  // namespace

const char* to_string(version v) noexcept {
  for (const auto& n : version_names)
    if (n.v == v) return n.name;
  return "TLS?";
}

std::optional<version> parse_version(std::string_view s) noexcept {
  s = trim(s);
  // Accept "TLSv1.2", "tlsv1.2", "tls1.2", "TLS 1.2", "1.2"; OpenSSL prints TLS 1.0 as "TLSv1".
  if (s.size() >= 3 && iequals(s.substr(0, 3), "tls")) {
    s.remove_prefix(3);
    if (!s.empty() && (s.front() == 'v' || s.front() == 'V' || s.front() == ' ' || s.front() == '_'))
      s.remove_prefix(1);
    if (s == "1") return version::tls1_0;
  }
  if (s == "1.0" || s == "1_0") return version::tls1_0;
  if (s == "1.1" || s == "1_1") return version::tls1_1;
  if (s == "1.2" || s == "1_2") return version::tls1_2;
  if (s == "1.3" || s == "1_3") return version::tls1_3;
  return std::nullopt;
}

std::string policy::to_text() const {
  std::string out;
  auto line = [&out](std::string_view key, std::string_view value) {
    out += key;
    out += ':';
    if (!value.empty()) {
      out += ' ';
      out += value;
    }
    out += '\n';
  };
  line("name", name);
  line("min_version", to_string(min_version));
  line("max_version", to_string(max_version));
  line("tls13_suites", join(tls13_suites));
  line("tls12_suites", join(tls12_suites));
  line("groups", join(groups));
  line("signature_schemes", join(signature_schemes));
  line("min_dh_bits", std::to_string(min_dh_bits));
  line("min_rsa_bits", std::to_string(min_rsa_bits));
  line("security_note", security_note);
  return out;
}

std::optional<policy> policy::from_text(std::string_view text, std::string* error) {
  policy p;
  int line_no = 0;
  auto fail = [&](const std::string& why) -> std::optional<policy> {
    if (error) *error = "line " + std::to_string(line_no) + ": " + why;
    return std::nullopt;
  };
  auto parse_int = [](std::string_view v, int& out) {
    if (v.empty()) return false;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc{} && ptr == v.data() + v.size() && out >= 0;
  };
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const auto l = trim(raw);
    if (l.empty() || l.front() == '#') continue;
    const auto colon = l.find(':');
    if (colon == std::string_view::npos)
      return fail("expected \"key: value\", got \"" + std::string(l) + "\"");
    const auto key = trim(l.substr(0, colon));
    const auto value = trim(l.substr(colon + 1));
    if (key == "name") {
      p.name = std::string(value);
    } else if (key == "min_version" || key == "max_version") {
      const auto v = parse_version(value);
      if (!v) return fail("unknown TLS version \"" + std::string(value) + "\"");
      (key == "min_version" ? p.min_version : p.max_version) = *v;
    } else if (key == "tls13_suites") {
      p.tls13_suites = split_list(value);
    } else if (key == "tls12_suites") {
      p.tls12_suites = split_list(value);
    } else if (key == "groups") {
      p.groups = split_list(value);
    } else if (key == "signature_schemes") {
      p.signature_schemes = split_list(value);
    } else if (key == "min_dh_bits") {
      if (!parse_int(value, p.min_dh_bits))
        return fail("min_dh_bits needs a number, got \"" + std::string(value) + "\"");
    } else if (key == "min_rsa_bits") {
      if (!parse_int(value, p.min_rsa_bits))
        return fail("min_rsa_bits needs a number, got \"" + std::string(value) + "\"");
    } else if (key == "security_note") {
      p.security_note = std::string(value);
    } else {
      return fail("unknown setting \"" + std::string(key) + "\"");
    }
  }
  if (p.min_version > p.max_version) {
    line_no = 0;
    if (error)
      *error = std::string("min_version ") + to_string(p.min_version) + " is above max_version " +
               to_string(p.max_version);
    return std::nullopt;
  }
  return p;
}

const policy* profile(std::string_view name) noexcept {
  for (const auto& p : profiles())
    if (p.name == name) return &p;
  return nullptr;
}

std::vector<std::string> profile_names() {
  std::vector<std::string> out;
  for (const auto& p : profiles()) out.push_back(p.name);
  return out;
}

}  // namespace postern::tls
