// Raw ClientHello encoding (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2). Written by hand rather than by a
// TLS library so that the probe can offer any code point, including suites nobody implements.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "postern/probe/wire.hpp"

namespace postern::probe::wire {
namespace {

constexpr std::uint8_t handshake_record = 22;
constexpr std::uint8_t client_hello_type = 1;
constexpr std::size_t max_record_payload = 16384;

void put8(std::string& out, std::size_t v) { out.push_back(static_cast<char>(v & 0xff)); }
void put16(std::string& out, std::size_t v) {
  put8(out, v >> 8);
  put8(out, v);
}
void put24(std::string& out, std::size_t v) {
  put8(out, v >> 16);
  put16(out, v);
}

/** Appends @p body with a 1- or 2-byte length prefix, refusing what the prefix cannot express. */
void put_vector(std::string& out, std::string_view body, int prefix_bytes, const char* what) {
  const std::size_t max = prefix_bytes == 1 ? 0xff : 0xffff;
  if (body.size() > max) throw std::invalid_argument(std::string("client hello: ") + what + " too long");
  if (prefix_bytes == 1)
    put8(out, body.size());
  else
    put16(out, body.size());
  out.append(body);
}

void put_extension(std::string& out, std::uint16_t type, std::string_view data) {
  put16(out, type);
  put_vector(out, data, 2, "extension");
}

std::string u16_list(const std::vector<std::uint16_t>& values) {
  std::string s;
  for (auto v : values) put16(s, v);
  return s;
}

bool is_ipv4_literal(std::string_view h) {
  int parts = 0;
  std::size_t digits = 0;
  for (char c : h) {
    if (c >= '0' && c <= '9') {
      if (++digits > 3) return false;
    } else if (c == '.') {
      if (digits == 0) return false;
      ++parts;
      digits = 0;
    } else {
      return false;
    }
  }
  return digits > 0 && parts == 3;
}

// SNI must not carry an address (RFC 6066 §3); IPv6 literals are the only names with ':'.
bool is_ip_literal(std::string_view h) {
  return is_ipv4_literal(h) || h.find(':') != std::string_view::npos || (!h.empty() && h.front() == '[');
}

std::string from_hex(std::string_view hex) {
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  return out;
}

// Base points, uncompressed (0x04 || X || Y), as `openssl ecparam -param_enc explicit` prints them.
constexpr std::string_view p256_generator =
    "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162"
    "bce33576b315ececbb6406837bf51f5";
constexpr std::string_view p384_generator =
    "04aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7"
    "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f";
constexpr std::string_view p521_generator =
    "0400c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa"
    "8de3348b3c1856a429bf97e7e31c2e5bd66011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e"
    "662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650";

std::string build_extensions(const hello_params& p) {
  std::string ext;
  // Order matters to intolerant servers: empty extensions go first, because some
  // implementations reject a hello whose last extension is empty.
  if (!p.server_name.empty() && !is_ip_literal(p.server_name)) {
    std::string_view host = p.server_name;
    if (host.back() == '.') host.remove_suffix(1);  // RFC 6066: no trailing dot
    if (host.size() > 255) throw std::invalid_argument("client hello: server name too long");
    std::string entry;
    put8(entry, 0);  // host_name
    put_vector(entry, host, 2, "server name");
    std::string list;
    put_vector(list, entry, 2, "server name list");
    put_extension(ext, extension::server_name, list);
  }
  if (p.extended_master_secret) put_extension(ext, extension::extended_master_secret, {});
  if (p.session_ticket) put_extension(ext, extension::session_ticket, {});
  if (p.renegotiation_info) put_extension(ext, extension::renegotiation_info, std::string_view("\0", 1));
  if (p.ec_point_formats) put_extension(ext, extension::ec_point_formats, std::string_view("\x01\x00", 2));
  if (!p.supported_groups.empty()) {
    std::string list;
    put_vector(list, u16_list(p.supported_groups), 2, "supported_groups");
    put_extension(ext, extension::supported_groups, list);
  }
  if (!p.supported_versions.empty()) {
    std::string list;
    put_vector(list, u16_list(p.supported_versions), 1, "supported_versions");
    put_extension(ext, extension::supported_versions, list);
    // TLS 1.3 servers may insist on it before they resume; real clients always send it.
    if (p.psk_key_exchange_modes)
      put_extension(ext, extension::psk_key_exchange_modes, std::string_view("\x01\x01", 2));
  }
  if (p.send_key_share || !p.key_shares.empty()) {
    std::string shares;
    for (const auto& ks : p.key_shares) {
      if (ks.key_exchange.empty()) throw std::invalid_argument("client hello: empty key share");
      put16(shares, ks.group);
      put_vector(shares, ks.key_exchange, 2, "key share");
    }
    std::string list;
    put_vector(list, shares, 2, "key_share");
    put_extension(ext, extension::key_share, list);
  }
  if (!p.signature_algorithms.empty()) {
    std::string list;
    put_vector(list, u16_list(p.signature_algorithms), 2, "signature_algorithms");
    put_extension(ext, extension::signature_algorithms, list);
  }
  return ext;
}

}  // namespace

std::optional<std::string> sample_key_share(std::uint16_t g) {
  switch (g) {
    case group::x25519: {
      std::string u(32, '\0');
      u[0] = 9;  // the base point, little-endian
      return u;
    }
    case group::x448: {
      std::string u(56, '\0');
      u[0] = 5;
      return u;
    }
    case group::secp256r1:
      return from_hex(p256_generator);
    case group::secp384r1:
      return from_hex(p384_generator);
    case group::secp521r1:
      return from_hex(p521_generator);
    case group::ffdhe2048:
    case group::ffdhe3072:
    case group::ffdhe4096:
    case group::ffdhe6144:
    case group::ffdhe8192: {
      // The generator g = 2, left-padded to the prime's length (RFC 8446 §4.2.8.1).
      std::string y(find_named_group(g)->bits / 8, '\0');
      y.back() = 2;
      return y;
    }
    default:
      return std::nullopt;
  }
}

std::string build_client_hello(const hello_params& p) {
  if (p.cipher_suites.empty()) throw std::invalid_argument("client hello: no cipher suites");
  if (p.session_id.size() > 32) throw std::invalid_argument("client hello: session id over 32 bytes");

  std::string body;
  put16(body, p.legacy_version);
  body.append(reinterpret_cast<const char*>(p.random.data()), p.random.size());
  put_vector(body, p.session_id, 1, "session id");
  std::vector<std::uint16_t> suites = p.cipher_suites;
  if (p.renegotiation_scsv) suites.push_back(empty_renegotiation_info_scsv);
  if (p.fallback_scsv) suites.push_back(fallback_scsv);
  put_vector(body, u16_list(suites), 2, "cipher suites");
  body.append("\x01\x00", 2);  // compression_methods: null only (CRIME)

  std::string ext = build_extensions(p);
  if (!ext.empty() && p.padding) {
    // F5 BIG-IP hangs on hellos of 256..511 bytes (handshake header included); grow them to
    // 512 or more with RFC 7685 padding, as browsers and OpenSSL do.
    const std::size_t len = 4 + body.size() + 2 + ext.size();
    if (len >= 256 && len < 512) {
      std::size_t pad = 512 - len;
      pad = pad >= 4 + 1 ? pad - 4 : 1;
      put_extension(ext, extension::padding, std::string(pad, '\0'));
    }
  }
  if (!ext.empty()) put_vector(body, ext, 2, "extensions");

  if (4 + body.size() > max_record_payload)
    throw std::invalid_argument("client hello: over one record (16384 bytes)");
  std::string record;
  record.reserve(9 + body.size());
  put8(record, handshake_record);
  put16(record, p.record_version);
  put16(record, 4 + body.size());
  put8(record, client_hello_type);
  put24(record, body.size());
  record.append(body);
  return record;
}

}  // namespace postern::probe::wire
