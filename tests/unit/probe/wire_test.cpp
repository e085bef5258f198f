// Tests of the probe wire codec: registries, ClientHello encoding, and the server flight reader,
// against synthetic flights and against an in-process OpenSSL server over memory BIOs.
#include "postern/probe/wire.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::probe::wire {
namespace {

using namespace std::string_view_literals;

// ---------------------------------------------------------------------------------------------
// Helpers: an independent ClientHello parser, synthetic server flights, event rendering
// ---------------------------------------------------------------------------------------------

/** A ClientHello taken apart, written independently of the builder so that it checks it. */
struct parsed_hello {
  bool ok = false;
  std::uint16_t record_version = 0;
  std::uint16_t legacy_version = 0;
  std::size_t handshake_length = 0;  ///< handshake message length, header included
  std::string random;
  std::string session_id;
  std::vector<std::uint16_t> suites;
  std::string compression;
  bool has_extensions_block = false;
  std::vector<std::uint16_t> extension_order;
  std::map<std::uint16_t, std::string> extensions;
};

std::uint32_t be(std::string_view s, std::size_t at, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = v << 8 | static_cast<std::uint8_t>(s[at + i]);
  return v;
}

parsed_hello parse_client_hello(std::string_view rec) {
  parsed_hello h;
  if (rec.size() < 9 || rec[0] != 22) return h;
  h.record_version = static_cast<std::uint16_t>(be(rec, 1, 2));
  if (be(rec, 3, 2) != rec.size() - 5 || rec[5] != 1) return h;
  const std::size_t body_len = be(rec, 6, 3);
  if (body_len != rec.size() - 9) return h;
  h.handshake_length = body_len + 4;
  std::string_view b = rec.substr(9);
  std::size_t p = 0;
  auto need = [&](std::size_t n) { return p + n <= b.size(); };
  if (!need(35)) return h;
  h.legacy_version = static_cast<std::uint16_t>(be(b, 0, 2));
  h.random = std::string(b.substr(2, 32));
  p = 34;
  const std::size_t sid = be(b, p, 1);
  p += 1;
  if (!need(sid)) return h;
  h.session_id = std::string(b.substr(p, sid));
  p += sid;
  if (!need(2)) return h;
  const std::size_t cs = be(b, p, 2);
  p += 2;
  if (!need(cs) || cs % 2) return h;
  for (std::size_t i = 0; i < cs; i += 2) h.suites.push_back(static_cast<std::uint16_t>(be(b, p + i, 2)));
  p += cs;
  if (!need(1)) return h;
  const std::size_t cm = be(b, p, 1);
  p += 1;
  if (!need(cm)) return h;
  h.compression = std::string(b.substr(p, cm));
  p += cm;
  if (p == b.size()) {
    h.ok = true;
    return h;
  }
  if (!need(2)) return h;
  const std::size_t el = be(b, p, 2);
  p += 2;
  if (p + el != b.size()) return h;
  h.has_extensions_block = true;
  while (p < b.size()) {
    if (!need(4)) return h;
    const auto type = static_cast<std::uint16_t>(be(b, p, 2));
    const std::size_t len = be(b, p + 2, 2);
    p += 4;
    if (!need(len) || h.extensions.count(type)) return h;
    h.extensions[type] = std::string(b.substr(p, len));
    h.extension_order.push_back(type);
    p += len;
  }
  h.ok = true;
  return h;
}

// --- synthetic server flights -------------------------------------------------------------

std::string u8s(std::size_t v) { return std::string(1, static_cast<char>(v & 0xff)); }
std::string u16s(std::size_t v) { return u8s(v >> 8) + u8s(v); }
std::string u24s(std::size_t v) { return u8s(v >> 16) + u16s(v); }

std::string record(std::uint8_t type, std::string_view payload, std::uint16_t ver = 0x0303) {
  return u8s(type) + u16s(ver) + u16s(payload.size()) + std::string(payload);
}
std::string handshake(std::uint8_t type, std::string_view body) {
  return u8s(type) + u24s(body.size()) + std::string(body);
}
std::string ext(std::uint16_t type, std::string_view data) {
  return u16s(type) + u16s(data.size()) + std::string(data);
}

/** ServerHello body; @p exts is the already-encoded extension list (omitted when @p with_ext_block is false).
 */
std::string server_hello_body(std::uint16_t version, std::uint16_t suite, std::string_view exts = {},
                              bool with_ext_block = true, std::string random = std::string(32, '\x11')) {
  std::string b = u16s(version) + random + u8s(0) + u16s(suite) + u8s(0);
  if (with_ext_block) b += u16s(exts.size()) + std::string(exts);
  return b;
}

// --- rendering events ---------------------------------------------------------------------

std::string hex4(std::uint32_t v) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (int shift = 12; shift >= 0; shift -= 4) s.push_back(d[(v >> shift) & 15]);
  return s;
}

std::string describe(const server_event& ev) {
  struct visitor {
    std::string operator()(const server_hello& h) const {
      std::string s = "hello v=" + hex4(h.version) + " cs=" + hex4(h.cipher_suite);
      if (h.selected_group) s += " group=" + hex4(*h.selected_group);
      if (h.hello_retry_request) s += " hrr";
      s += " ext=";
      for (auto e : h.extensions) s += hex4(e) + ",";
      return s;
    }
    std::string operator()(const certificate_chain& c) const {
      std::string s = "certs n=" + std::to_string(c.certificates.size());
      for (const auto& der : c.certificates) s += " " + std::to_string(der.size());
      return s;
    }
    std::string operator()(const server_key_exchange& k) const {
      std::string s = "ske kind=" + std::to_string(static_cast<int>(k.kind));
      if (k.named_curve) s += " curve=" + hex4(*k.named_curve);
      if (k.prime_bits) s += " bits=" + std::to_string(k.prime_bits);
      if (k.signature_scheme) s += " sig=" + hex4(*k.signature_scheme);
      return s;
    }
    std::string operator()(const certificate_request&) const { return "certificate_request"; }
    std::string operator()(const server_hello_done&) const { return "done"; }
    std::string operator()(const alert& a) const {
      return "alert " + std::to_string(a.level) + "/" + std::to_string(static_cast<int>(a.description));
    }
    std::string operator()(const error& e) const {
      return "error " + std::string(to_string(e.reason)) + ": " + e.detail;
    }
  };
  return std::visit(visitor{}, ev);
}

std::vector<std::string> describe_all(const std::vector<server_event>& evs) {
  std::vector<std::string> out;
  for (const auto& e : evs) out.push_back(describe(e));
  return out;
}

/** Feeds @p bytes in pieces of @p chunk bytes (finish() at the end when @p closed). */
std::vector<std::string> read_chunked(std::string_view bytes, std::size_t chunk, bool closed = false) {
  server_reader r;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    r.feed(bytes.substr(i, chunk));
    while (auto ev = r.next()) out.push_back(describe(*ev));
  }
  if (closed) r.finish();
  while (auto ev = r.next()) out.push_back(describe(*ev));
  return out;
}

/** Feeds @p bytes in two pieces split at @p at. */
std::vector<std::string> read_split(std::string_view bytes, std::size_t at, bool closed = false) {
  server_reader r;
  r.feed(bytes.substr(0, at));
  r.feed(bytes.substr(at));
  if (closed) r.finish();
  std::vector<std::string> out;
  while (auto ev = r.next()) out.push_back(describe(*ev));
  return out;
}

std::array<std::uint8_t, 32> fixed_random() {
  std::array<std::uint8_t, 32> r{};
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return r;
}

const std::vector<std::uint16_t> tls13_sigalgs = {0x0403, 0x0804, 0x0805, 0x0806, 0x0503, 0x0603,
                                                  0x0807, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203};

hello_params tls12_hello(std::vector<std::uint16_t> suites) {
  hello_params p;
  p.random = fixed_random();
  p.cipher_suites = std::move(suites);
  p.server_name = "mail.example";
  p.supported_groups = {group::x25519, group::secp256r1, group::secp384r1, group::ffdhe2048};
  p.signature_algorithms = tls13_sigalgs;
  return p;
}

hello_params tls13_hello(std::uint16_t share_group = group::x25519) {
  hello_params p = tls12_hello({0x1301, 0x1302, 0x1303});
  p.session_id = std::string(32, '\x5a');
  p.supported_versions = {version::tls1_3};
  p.supported_groups = {share_group};
  p.key_shares = {{share_group, *sample_key_share(share_group)}};
  return p;
}

// =============================================================================================
// Registry
// =============================================================================================

TEST(WireRegistry, SortedUniqueAndLargeEnough) {
  const auto suites = cipher_suites();
  EXPECT_GE(suites.size(), 300u);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < suites.size(); ++i) {
    if (i) {
      EXPECT_LT(suites[i - 1].code, suites[i].code) << suites[i].name;
    }
    EXPECT_TRUE(names.insert(suites[i].name).second) << suites[i].name;
    EXPECT_EQ(find_cipher_suite(suites[i].code), &suites[i]);
    EXPECT_EQ(find_cipher_suite(suites[i].name), &suites[i]);
  }
}

TEST(WireRegistry, KnownEntries) {
  const auto* rsa = find_cipher_suite(0x009c);
  ASSERT_NE(rsa, nullptr);
  EXPECT_EQ(rsa->name, "TLS_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(rsa->kx, key_exchange::rsa);
  EXPECT_EQ(rsa->auth, authentication::rsa);
  EXPECT_EQ(rsa->cipher, bulk_cipher::aes_gcm);
  EXPECT_TRUE(rsa->aead());
  EXPECT_FALSE(rsa->forward_secret());
  EXPECT_EQ(rsa->bits, 128);
  EXPECT_EQ(rsa->min_version, version::tls1_2);

  const auto* ecdhe = find_cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  ASSERT_NE(ecdhe, nullptr);
  EXPECT_EQ(ecdhe->code, 0xc02f);
  EXPECT_EQ(ecdhe->kx, key_exchange::ecdhe);
  EXPECT_TRUE(ecdhe->forward_secret());
  EXPECT_TRUE(ecdhe->usable_with(version::tls1_2));
  EXPECT_FALSE(ecdhe->usable_with(version::tls1_1));
  EXPECT_FALSE(ecdhe->usable_with(version::tls1_3));

  const auto* des3 = find_cipher_suite(0x000a);
  ASSERT_NE(des3, nullptr);
  EXPECT_EQ(des3->name, "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
  EXPECT_EQ(des3->bits, 112);
  EXPECT_EQ(des3->mac, mac_algorithm::sha1);
  EXPECT_TRUE(des3->usable_with(version::ssl3));

  const auto* exp = find_cipher_suite(0x0003);
  ASSERT_NE(exp, nullptr);
  EXPECT_TRUE(exp->export_grade);
  EXPECT_EQ(exp->bits, 40);

  const auto* anon = find_cipher_suite("TLS_ECDH_anon_WITH_AES_128_CBC_SHA");
  ASSERT_NE(anon, nullptr);
  EXPECT_EQ(anon->kx, key_exchange::ecdh_anon);
  EXPECT_EQ(anon->auth, authentication::anon);

  for (std::uint16_t c = 0x1301; c <= 0x1305; ++c) {
    const auto* s = find_cipher_suite(c);
    ASSERT_NE(s, nullptr) << c;
    EXPECT_TRUE(s->tls13());
    EXPECT_EQ(s->kx, key_exchange::any);
    EXPECT_TRUE(s->usable_with(version::tls1_3));
    EXPECT_FALSE(s->usable_with(version::tls1_2));
  }
  EXPECT_EQ(find_cipher_suite(0x1301)->name, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(find_cipher_suite(0x1303)->cipher, bulk_cipher::chacha20_poly1305);
  EXPECT_EQ(find_cipher_suite(0xcca8)->name, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(find_cipher_suite(0xc0a0)->cipher, bulk_cipher::aes_ccm_8);
  EXPECT_EQ(find_cipher_suite(0x0096)->cipher, bulk_cipher::seed_cbc);
  EXPECT_EQ(find_cipher_suite(0xc050)->cipher, bulk_cipher::aria_gcm);
  EXPECT_EQ(find_cipher_suite(0x0041)->cipher, bulk_cipher::camellia_cbc);
  EXPECT_EQ(find_cipher_suite(0x0007)->cipher, bulk_cipher::idea_cbc);
}

TEST(WireRegistry, UnknownCodesKeepTheirValue) {
  EXPECT_EQ(find_cipher_suite(0x0a0a), nullptr);  // GREASE
  EXPECT_EQ(find_cipher_suite("TLS_NO_SUCH_SUITE"), nullptr);
  EXPECT_EQ(cipher_suite_name(0xc0ff), "0xC0FF");
  EXPECT_EQ(cipher_suite_name(0x009d), "TLS_RSA_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(find_cipher_suite(empty_renegotiation_info_scsv), nullptr);
}

TEST(WireRegistry, GroupsAndSignatureSchemes) {
  for (auto table : {named_groups()}) {
    for (std::size_t i = 1; i < table.size(); ++i) EXPECT_LT(table[i - 1].code, table[i].code);
  }
  for (std::size_t i = 1; i < signature_schemes().size(); ++i)
    EXPECT_LT(signature_schemes()[i - 1].code, signature_schemes()[i].code);
  EXPECT_EQ(named_group_name(0x001d), "x25519");
  EXPECT_EQ(named_group_name(0x001e), "x448");
  EXPECT_EQ(named_group_name(0x0017), "secp256r1");
  EXPECT_EQ(named_group_name(0x0018), "secp384r1");
  EXPECT_EQ(named_group_name(0x0019), "secp521r1");
  EXPECT_EQ(named_group_name(0x001a), "brainpoolP256r1");
  for (std::uint16_t g = 0x0100; g <= 0x0104; ++g) EXPECT_EQ(find_named_group(g)->kind, group_kind::ffdhe);
  EXPECT_EQ(find_named_group("ffdhe8192")->bits, 8192);
  EXPECT_EQ(find_named_group("X25519MLKEM768")->code, group::x25519_mlkem768);
  EXPECT_EQ(named_group_name(0x2a2a), "0x2A2A");
  EXPECT_EQ(signature_scheme_name(0x0804), "rsa_pss_rsae_sha256");
  EXPECT_EQ(signature_scheme_name(0x0403), "ecdsa_secp256r1_sha256");
  EXPECT_EQ(find_signature_scheme("ed25519")->code, 0x0807);
  EXPECT_TRUE(find_signature_scheme(0x0201)->sha1_or_weaker);
  EXPECT_FALSE(find_signature_scheme(0x0401)->sha1_or_weaker);
  EXPECT_EQ(version_name(0x0303), "TLSv1.2");
  EXPECT_EQ(version_name(0x7f1c), "0x7F1C");
}

// =============================================================================================
// ClientHello builder
// =============================================================================================

TEST(WireClientHello, Tls12LayoutParsesBack) {
  hello_params p = tls12_hello({0xc02f, 0x009c});
  const std::string rec = build_client_hello(p);
  const parsed_hello h = parse_client_hello(rec);
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.record_version, 0x0301);
  EXPECT_EQ(h.legacy_version, 0x0303);
  EXPECT_EQ(h.random, std::string(reinterpret_cast<const char*>(p.random.data()), 32));
  EXPECT_TRUE(h.session_id.empty());
  EXPECT_EQ(h.suites, (std::vector<std::uint16_t>{0xc02f, 0x009c, 0x00ff}));
  EXPECT_EQ(h.compression, std::string("\0", 1));
  // SNI: list<2> { type 0, name<2> }
  EXPECT_EQ(h.extensions.at(extension::server_name), std::string("\x00\x0f\x00\x00\x0cmail.example", 17));
  EXPECT_EQ(h.extensions.at(extension::ec_point_formats), std::string("\x01\x00", 2));
  EXPECT_EQ(h.extensions.at(extension::supported_groups),
            std::string("\x00\x08\x00\x1d\x00\x17\x00\x18\x01\x00", 10));
  EXPECT_TRUE(h.extensions.count(extension::extended_master_secret));
  EXPECT_TRUE(h.extensions.count(extension::session_ticket));
  EXPECT_FALSE(h.extensions.count(extension::supported_versions));
  EXPECT_FALSE(h.extensions.count(extension::key_share));
  const std::string& sig = h.extensions.at(extension::signature_algorithms);
  EXPECT_EQ(be(sig, 0, 2), tls13_sigalgs.size() * 2);
  // The last extension is never empty (some servers reject that).
  EXPECT_FALSE(h.extensions.at(h.extension_order.back()).empty());
}

TEST(WireClientHello, Tls13CarriesVersionsAndKeyShares) {
  hello_params p = tls13_hello();
  p.key_shares.push_back({group::secp256r1, *sample_key_share(group::secp256r1)});
  const parsed_hello h = parse_client_hello(build_client_hello(p));
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.session_id.size(), 32u);
  EXPECT_EQ(h.extensions.at(extension::supported_versions), std::string("\x02\x03\x04", 3));
  EXPECT_EQ(h.extensions.at(extension::psk_key_exchange_modes), std::string("\x01\x01", 2));
  const std::string& ks = h.extensions.at(extension::key_share);
  ASSERT_EQ(be(ks, 0, 2), ks.size() - 2);
  EXPECT_EQ(be(ks, 2, 2), group::x25519);
  EXPECT_EQ(be(ks, 4, 2), 32u);
  EXPECT_EQ(be(ks, 38, 2), group::secp256r1);
  EXPECT_EQ(be(ks, 40, 2), 65u);
  EXPECT_EQ(ks.size(), 2u + 4 + 32 + 4 + 65);
}

TEST(WireClientHello, EmptyKeyShareListOnRequest) {
  hello_params p = tls13_hello();
  p.key_shares.clear();
  EXPECT_FALSE(parse_client_hello(build_client_hello(p)).extensions.count(extension::key_share));
  p.send_key_share = true;
  EXPECT_EQ(parse_client_hello(build_client_hello(p)).extensions.at(extension::key_share),
            std::string("\0\0", 2));
}

TEST(WireClientHello, SniOmittedForAddressesAndTrailingDotDropped) {
  for (const char* host : {"192.0.2.1", "2001:db8::1", "[2001:db8::1]", "::1"}) {
    hello_params p = tls12_hello({0x009c});
    p.server_name = host;
    EXPECT_FALSE(parse_client_hello(build_client_hello(p)).extensions.count(extension::server_name)) << host;
  }
  hello_params p = tls12_hello({0x009c});
  p.server_name = "mx1.example.";
  EXPECT_EQ(parse_client_hello(build_client_hello(p)).extensions.at(extension::server_name).substr(5),
            "mx1.example");
  p.server_name = "1.2.3.example";  // digits and dots, but a name
  EXPECT_TRUE(parse_client_hello(build_client_hello(p)).extensions.count(extension::server_name));
}

TEST(WireClientHello, PaddingLiftsHellosOutOfTheF5Range) {
  // Grow the suite list through the whole 256..511 band and check no hello lands in it.
  std::vector<std::uint16_t> suites;
  for (const auto& s : cipher_suites()) {
    suites.push_back(s.code);
    hello_params p = tls12_hello(suites);
    const parsed_hello h = parse_client_hello(build_client_hello(p));
    ASSERT_TRUE(h.ok);
    EXPECT_TRUE(h.handshake_length < 256 || h.handshake_length >= 512) << h.handshake_length;
    if (h.extensions.count(extension::padding)) {
      EXPECT_EQ(h.extension_order.back(), extension::padding);
      EXPECT_LE(h.handshake_length, 512u + 5);
    }
    p.padding = false;
    const parsed_hello unpadded = parse_client_hello(build_client_hello(p));
    EXPECT_FALSE(unpadded.extensions.count(extension::padding));
  }
}

TEST(WireClientHello, NoExtensionsBlockWhenNothingToSay) {
  hello_params p;
  p.record_version = p.legacy_version = version::ssl3;
  p.cipher_suites = {0x000a, 0x0005};
  p.renegotiation_scsv = false;
  p.ec_point_formats = p.extended_master_secret = p.session_ticket = false;
  const std::string rec = build_client_hello(p);
  const parsed_hello h = parse_client_hello(rec);
  ASSERT_TRUE(h.ok);
  EXPECT_FALSE(h.has_extensions_block);
  EXPECT_EQ(h.record_version, 0x0300);
  EXPECT_EQ(rec.size(), 5u + 4 + 2 + 32 + 1 + 2 + 4 + 2);
}

TEST(WireClientHello, ScsvsAndLimits) {
  hello_params p = tls12_hello({0x009c});
  p.fallback_scsv = true;
  EXPECT_EQ(parse_client_hello(build_client_hello(p)).suites,
            (std::vector<std::uint16_t>{0x009c, 0x00ff, 0x5600}));

  std::vector<std::uint16_t> all;
  for (const auto& s : cipher_suites()) all.push_back(s.code);
  p.cipher_suites = all;
  const std::string big = build_client_hello(p);
  EXPECT_LT(big.size(), 16384u);
  EXPECT_EQ(parse_client_hello(big).suites.size(), all.size() + 2);

  p.cipher_suites.assign(8200, 0x009c);
  EXPECT_THROW(build_client_hello(p), std::invalid_argument);
  p.cipher_suites.clear();
  EXPECT_THROW(build_client_hello(p), std::invalid_argument);
  p.cipher_suites = {0x009c};
  p.session_id = std::string(33, 'x');
  EXPECT_THROW(build_client_hello(p), std::invalid_argument);
}

TEST(WireClientHello, SampleKeySharesHaveTheGroupsSizes) {
  EXPECT_EQ(sample_key_share(group::x25519)->size(), 32u);
  EXPECT_EQ(sample_key_share(group::x448)->size(), 56u);
  EXPECT_EQ(sample_key_share(group::secp256r1)->size(), 65u);
  EXPECT_EQ(sample_key_share(group::secp384r1)->size(), 97u);
  EXPECT_EQ(sample_key_share(group::secp521r1)->size(), 133u);
  EXPECT_EQ(sample_key_share(group::ffdhe2048)->size(), 256u);
  EXPECT_EQ(sample_key_share(group::ffdhe8192)->size(), 1024u);
  EXPECT_FALSE(sample_key_share(0x0001).has_value());
}

TEST(WireClientHello, SampleEcPointsAreOnTheirCurves) {
  for (auto [g, nid] :
       {std::pair{group::secp256r1, NID_X9_62_prime256v1}, std::pair{group::secp384r1, NID_secp384r1},
        std::pair{group::secp521r1, NID_secp521r1}}) {
    const std::string pt = *sample_key_share(g);
    EC_GROUP* eg = EC_GROUP_new_by_curve_name(nid);
    EC_POINT* p = EC_POINT_new(eg);
    ASSERT_EQ(
        EC_POINT_oct2point(eg, p, reinterpret_cast<const unsigned char*>(pt.data()), pt.size(), nullptr), 1);
    EXPECT_EQ(EC_POINT_is_on_curve(eg, p, nullptr), 1);
    EXPECT_EQ(EC_POINT_cmp(eg, p, EC_GROUP_get0_generator(eg), nullptr), 0);
    EC_POINT_free(p);
    EC_GROUP_free(eg);
  }
}

// =============================================================================================
// Server reader: synthetic flights
// =============================================================================================

std::string sample_cert_message() {
  const std::string a(300, 'A'), b(120, 'B');
  return handshake(11, u24s(3 + a.size() + 3 + b.size()) + u24s(a.size()) + a + u24s(b.size()) + b);
}

// ServerHello + Certificate + ECDHE ServerKeyExchange + ServerHelloDone, all in one record.
std::string synthetic_tls12_flight() {
  const std::string sh =
      handshake(2, server_hello_body(0x0303, 0xc02f, ext(0xff01, std::string("\0", 1)) + ext(23, "")));
  const std::string point(65, '\x04');
  const std::string ske =
      handshake(12, u8s(3) + u16s(0x0017) + u8s(point.size()) + point + u16s(0x0804) + u16s(4) + "sign");
  return record(22, sh + sample_cert_message() + ske + handshake(14, ""));
}

TEST(WireReader, Tls12FlightInOneRecord) {
  const auto got = describe_all(read_server_flight(synthetic_tls12_flight()));
  EXPECT_EQ(got, (std::vector<std::string>{"hello v=0303 cs=c02f ext=ff01,0017,", "certs n=2 300 120",
                                           "ske kind=0 curve=0017 sig=0804", "done"}));
}

TEST(WireReader, ServerHelloFieldsAndChainBytes) {
  server_reader r;
  r.feed(synthetic_tls12_flight());
  EXPECT_TRUE(r.done());
  auto ev = r.next();
  ASSERT_TRUE(ev);
  const auto& h = std::get<server_hello>(*ev);
  EXPECT_EQ(h.legacy_version, 0x0303);
  EXPECT_EQ(h.random,
            (std::array<std::uint8_t, 32>{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                          0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                          0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}));
  EXPECT_TRUE(h.has_extension(extension::renegotiation_info));
  EXPECT_FALSE(h.has_extension(extension::key_share));
  EXPECT_FALSE(h.hello_retry_request);
  EXPECT_EQ(h.downgrade, downgrade_marker::none);
  ev = r.next();
  const auto& chain = std::get<certificate_chain>(*ev);
  EXPECT_EQ(chain.certificates.at(0), std::string(300, 'A'));
  EXPECT_EQ(chain.certificates.at(1), std::string(120, 'B'));
}

TEST(WireReader, EveryChunkSizeAndSplitPointGivesTheSameEvents) {
  // One message per record too, so that messages also straddle record boundaries.
  const std::string one = synthetic_tls12_flight();
  std::string many;
  const std::string_view hs = std::string_view(one).substr(5);
  for (std::size_t i = 0; i < hs.size(); i += 37) many += record(22, hs.substr(i, 37));
  for (const std::string& flight : {one, many}) {
    const auto whole = read_chunked(flight, flight.size());
    ASSERT_EQ(whole.size(), 4u);
    for (std::size_t chunk = 1; chunk <= 64; ++chunk) EXPECT_EQ(read_chunked(flight, chunk), whole) << chunk;
    for (std::size_t at = 0; at <= flight.size(); ++at) EXPECT_EQ(read_split(flight, at), whole) << at;
  }
}

TEST(WireReader, Tls13ServerHelloStopsAtEncryption) {
  const std::string exts = ext(43, u16s(0x0304)) + ext(51, u16s(0x001d) + u16s(32) + std::string(32, 'k'));
  std::string flight = record(22, handshake(2, server_hello_body(0x0303, 0x1302, exts)));
  flight += record(20, "\x01");                 // middlebox-compatibility CCS
  flight += record(23, std::string(100, 'E'));  // EncryptedExtensions etc.
  server_reader r;
  r.feed(flight);
  EXPECT_TRUE(r.done());
  auto ev = r.next();
  const auto& h = std::get<server_hello>(*ev);
  EXPECT_EQ(h.version, 0x0304);
  EXPECT_EQ(h.legacy_version, 0x0303);
  EXPECT_EQ(h.selected_group, std::optional<std::uint16_t>(0x001d));
  EXPECT_FALSE(r.next());
  r.feed("more bytes are ignored");
  EXPECT_FALSE(r.next());
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(WireReader, HelloRetryRequest) {
  const std::string hrr_random(
      "\xCF\x21\xAD\x74\xE5\x9A\x61\x11\xBE\x1D\x8C\x02\x1E\x65\xB8\x91"
      "\xC2\xA2\x11\x16\x7A\xBB\x8C\x5E\x07\x9E\x09\xE2\xC8\xA8\x33\x9C",
      32);
  const std::string exts = ext(43, u16s(0x0304)) + ext(51, u16s(0x0017));
  const auto got =
      read_server_flight(record(22, handshake(2, server_hello_body(0x0303, 0x1301, exts, true, hrr_random))));
  ASSERT_EQ(got.size(), 1u);
  const auto& h = std::get<server_hello>(got[0]);
  EXPECT_TRUE(h.hello_retry_request);
  EXPECT_EQ(h.selected_group, std::optional<std::uint16_t>(0x0017));
}

TEST(WireReader, DowngradeSentinel) {
  std::string random(24, 'r');
  random += std::string("DOWNGRD\x01", 8);
  auto got =
      read_server_flight(record(22, handshake(2, server_hello_body(0x0303, 0x009c, "", false, random))));
  EXPECT_EQ(std::get<server_hello>(got.at(0)).downgrade, downgrade_marker::tls1_2);
  EXPECT_TRUE(std::get<server_hello>(got.at(0)).extensions.empty());
  random.back() = '\0';
  got = read_server_flight(record(22, handshake(2, server_hello_body(0x0302, 0x002f, "", false, random))));
  EXPECT_EQ(std::get<server_hello>(got.at(0)).downgrade, downgrade_marker::tls1_1_or_below);
  EXPECT_EQ(std::get<server_hello>(got.at(0)).version, 0x0302);
}

TEST(WireReader, DheAndRsaExportKeyExchange) {
  std::string p(256, '\xff');  // a 2048-bit prime-sized value
  std::string ske = u16s(p.size()) + p + u16s(1) + "\x02" + u16s(2) + "yy" + u16s(0x0401) + u16s(1) + "s";
  auto got = describe_all(
      read_server_flight(record(22, handshake(2, server_hello_body(0x0303, 0x009e)) + handshake(12, ske))));
  EXPECT_EQ(got.at(1), "ske kind=1 bits=2048 sig=0401");

  // 1020-bit prime with a leading zero byte: significant bits are counted.
  std::string q = std::string(1, '\0') + std::string(1, '\x0f') + std::string(127, '\xff');
  ske = u16s(q.size()) + q + u16s(1) + "\x02" + u16s(1) + "y" + u16s(1) + "s";  // TLS 1.0: no scheme
  got = describe_all(
      read_server_flight(record(22, handshake(2, server_hello_body(0x0301, 0x0033)) + handshake(12, ske))));
  EXPECT_EQ(got.at(1), "ske kind=1 bits=1020");

  const std::string mod(64, '\xc3');
  ske = u16s(mod.size()) + mod + u16s(3) + std::string("\x01\x00\x01"sv) + u16s(1) + "s";
  got = describe_all(
      read_server_flight(record(22, handshake(2, server_hello_body(0x0300, 0x0003)) + handshake(12, ske))));
  EXPECT_EQ(got.at(1), "ske kind=2 bits=512");

  // Unknown suite: reported, not interpreted.
  got = describe_all(
      read_server_flight(record(22, handshake(2, server_hello_body(0x0303, 0xeeee)) + handshake(12, "xyz"))));
  EXPECT_EQ(got.at(1), "ske kind=5");
  // Short parameters are an error.
  got = describe_all(read_server_flight(
      record(22, handshake(2, server_hello_body(0x0303, 0xc02f)) + handshake(12, "\x03"))));
  EXPECT_EQ(got.at(1), "error bad_handshake: ServerKeyExchange parameters");
}

TEST(WireReader, AlertsIncludingSplitAndWarnings) {
  EXPECT_EQ(describe_all(read_server_flight(record(21, "\x02\x28"))),
            (std::vector<std::string>{"alert 2/40"}));
  // One alert split over two records.
  EXPECT_EQ(describe_all(read_server_flight(record(21, "\x02") + record(21, "\x46"))),
            (std::vector<std::string>{"alert 2/70"}));
  // A warning does not end the flight; the ServerHello after it is read.
  const auto got = describe_all(read_server_flight(
      record(21, "\x01\x70") + record(22, handshake(2, server_hello_body(0x0303, 0x009c)))));
  EXPECT_EQ(got.at(0), "alert 1/112");
  EXPECT_EQ(got.at(1).substr(0, 20), "hello v=0303 cs=009c");
  // close_notify ends it.
  server_reader r;
  r.feed(record(21, std::string("\x01\x00", 2)));
  EXPECT_TRUE(r.done());
  // Endless warnings are bounded.
  std::string warnings;
  for (int i = 0; i < 20; ++i) warnings += "\x01\x70";
  const auto many = describe_all(read_server_flight(record(21, warnings)));
  EXPECT_EQ(many.size(), 9u + 1);
  EXPECT_EQ(many.back(), "error too_many_warnings: 9 warning alerts");
  EXPECT_EQ(alert_name(alert_description::handshake_failure), "handshake_failure");
  EXPECT_EQ(alert_name(static_cast<alert_description>(199)), "alert_199");
}

TEST(WireReader, PlaintextSmtpGreeting) {
  const std::string greeting = "220 smtp.example ESMTP\r\n";
  const auto got = read_server_flight(greeting);
  ASSERT_EQ(got.size(), 1u);
  const auto& e = std::get<error>(got[0]);
  EXPECT_EQ(e.reason, reader_error::plaintext_reply);
  EXPECT_EQ(e.detail, "220 smtp.example ESMTP");
  for (std::size_t chunk = 1; chunk < greeting.size(); ++chunk)
    EXPECT_EQ(read_chunked(greeting, chunk),
              (std::vector<std::string>{"error plaintext_reply: 220 smtp.example ESMTP"}));
  // Without a line end the line is reported when the peer closes.
  EXPECT_EQ(describe_all(read_server_flight("220 partial", true)),
            (std::vector<std::string>{"error plaintext_reply: 220 partial"}));
  EXPECT_TRUE(read_server_flight("220 partial", false).empty());
  // Control bytes are escaped, and the line is bounded.
  EXPECT_EQ(std::get<error>(read_server_flight("554 no\x01 way\n").at(0)).detail, "554 no\\x01 way");
  const auto longline = read_server_flight("220 " + std::string(5000, 'x'));
  EXPECT_EQ(std::get<error>(longline.at(0)).detail.size(), 512u);
}

TEST(WireReader, NotTlsAndSslv2) {
  EXPECT_EQ(std::get<error>(read_server_flight(std::string("\x00\x01\x02", 3)).at(0)).reason,
            reader_error::not_tls);
  EXPECT_EQ(std::get<error>(read_server_flight("\x16\x48TTP").at(0)).reason, reader_error::not_tls);
  EXPECT_EQ(std::get<error>(read_server_flight("\x80\x2e\x04\x00\x01"sv).at(0)).reason,
            reader_error::sslv2_reply);
  EXPECT_EQ(std::get<error>(read_server_flight("\x80\x2e\x05").at(0)).reason, reader_error::not_tls);
}

TEST(WireReader, BoundsAndMalformedInput) {
  auto first_error = [](std::string_view bytes, bool closed = false, reader_limits l = {}) {
    for (auto& ev : read_server_flight(bytes, closed, l))
      if (auto* e = std::get_if<error>(&ev)) return e->reason;
    return reader_error::closed;  // sentinel: "no error"; `closed` is tested separately
  };
  EXPECT_EQ(first_error("\x16\x03\x03\xff\xff"), reader_error::record_too_large);
  EXPECT_EQ(first_error("\x16\x03\x03\x00\x04\x02\xff\xff\xff"sv), reader_error::handshake_too_large);
  EXPECT_EQ(first_error(record(22, handshake(11, u24s(0)))), reader_error::unexpected_message);
  EXPECT_EQ(first_error(record(22, handshake(2, "short"))), reader_error::bad_handshake);
  EXPECT_EQ(first_error(record(22, handshake(2, server_hello_body(0x0303, 0x009c) + "x"))),
            reader_error::bad_handshake);
  EXPECT_EQ(first_error(record(22, handshake(2, server_hello_body(0x0303, 0x009c, ext(43, "\x03"))))),
            reader_error::bad_handshake);
  EXPECT_EQ(first_error(record(21, "")), reader_error::bad_record);
  EXPECT_EQ(first_error(record(23, "data")), reader_error::unexpected_message);
  EXPECT_EQ(first_error(record(22, handshake(2, server_hello_body(0x0303, 0x009c))) +
                        std::string("\x63\x03\x03\x00\x01", 5)),
            reader_error::bad_record);
  EXPECT_EQ(first_error(record(22, handshake(2, server_hello_body(0x0303, 0x009c)) + handshake(14, "x"))),
            reader_error::bad_handshake);
  EXPECT_EQ(first_error(record(
                22, handshake(2, server_hello_body(0x0303, 0x009c)) + handshake(11, u24s(5) + u24s(9)))),
            reader_error::bad_handshake);
  // Truncation and silence are told apart.
  EXPECT_EQ(first_error("\x16\x03\x03\x00\x30\x02"sv, true), reader_error::truncated);
  EXPECT_EQ(first_error(record(22, "\x02\x00"sv), true), reader_error::truncated);
  EXPECT_EQ(first_error(record(22, handshake(2, server_hello_body(0x0303, 0x009c))), true),
            reader_error::truncated);
  server_reader silent;
  silent.finish();
  EXPECT_EQ(std::get<error>(*silent.next()).reason, reader_error::closed);
  // The flight bound.
  reader_limits small;
  small.max_flight = 1000;
  std::string hello_requests;
  for (int i = 0; i < 200; ++i) hello_requests += record(22, handshake(0, ""));
  EXPECT_EQ(first_error(hello_requests, false, small), reader_error::flight_too_large);
}

TEST(WireReader, RandomInputStaysBounded) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(rng() % 600, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    if (round % 2) bytes.insert(0, std::string("\x16\x03\x03", 3));  // mostly records
    if (round % 4 == 1) bytes.insert(3, u16s(bytes.size() - 3) + handshake(2, "").substr(0, 1));
    server_reader r;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      const std::size_t n = 1 + rng() % 40;
      r.feed(std::string_view(bytes).substr(pos, n));
      pos += n;
      EXPECT_LE(r.buffered(), 16384u + 2048 + 5 + 200000);
      while (r.next()) {
      }
    }
    r.finish();
    while (r.next()) {
    }
    EXPECT_TRUE(r.done());
  }
}

TEST(WireReader, EscapeBytes) {
  EXPECT_EQ(escape_bytes(std::string("a\r\n\t\\\x7f\x00z", 8)), "a\\r\\n\\t\\\\\\x7f\\x00z");
}

// =============================================================================================
// Against an in-process OpenSSL server (memory BIOs): the hello is accepted and the reader
// understands the real answer.
// =============================================================================================

struct openssl_identity {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string der;
};

// One RSA-2048 self-signed certificate for the whole run: key generation is the slow part.
const openssl_identity& identity() {
  static const openssl_identity id = [] {
    openssl_identity i;
    i.key = EVP_RSA_gen(2048);
    i.cert = X509_new();
    X509_set_version(i.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(i.cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(i.cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(i.cert), 86400);
    X509_NAME* name = X509_get_subject_name(i.cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("mail.example"), -1, -1, 0);
    X509_set_issuer_name(i.cert, name);
    X509_set_pubkey(i.cert, i.key);
    X509_sign(i.cert, i.key, EVP_sha256());
    unsigned char* out = nullptr;
    const int n = i2d_X509(i.cert, &out);
    i.der.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    return i;
  }();
  return id;
}

struct ctx_deleter {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_deleter>;

struct server_options {
  int min_version = TLS1_VERSION;
  int max_version = TLS1_3_VERSION;
  const char* cipher_list = nullptr;  // TLS <= 1.2
  const char* groups = nullptr;
  bool server_preference = false;
  bool dh_auto = false;
};

ctx_ptr make_server(const server_options& o) {
  ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), o.min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), o.max_version);
  if (o.cipher_list) {
    EXPECT_EQ(SSL_CTX_set_cipher_list(ctx.get(), o.cipher_list), 1);
  }
  if (o.groups) {
    EXPECT_EQ(SSL_CTX_set1_groups_list(ctx.get(), o.groups), 1);
  }
  if (o.server_preference) SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (o.dh_auto) SSL_CTX_set_dh_auto(ctx.get(), 1);
  SSL_CTX_use_certificate(ctx.get(), identity().cert);
  SSL_CTX_use_PrivateKey(ctx.get(), identity().key);
  return ctx;
}

struct exchange {
  std::string flight;       ///< everything the server wrote
  std::string server_name;  ///< SNI as OpenSSL understood it
};

/** Hands @p client_hello to a fresh server SSL and collects what it answers. */
exchange serve(SSL_CTX* ctx, std::string_view client_hello) {
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_write(in, client_hello.data(), static_cast<int>(client_hello.size()));
  SSL_set_bio(ssl, in, out);
  SSL_set_accept_state(ssl);
  SSL_do_handshake(ssl);  // stops wanting the client's next flight, or fails with an alert
  exchange ex;
  char buf[4096];
  for (int n; (n = BIO_read(out, buf, sizeof buf)) > 0;) ex.flight.append(buf, static_cast<std::size_t>(n));
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) ex.server_name = sni;
  SSL_free(ssl);
  ERR_clear_error();
  return ex;
}

TEST(WireOpenSsl, RsaKeyExchangeSuiteChosenFromTwo) {
  auto ctx = make_server({.max_version = TLS1_2_VERSION, .cipher_list = "AES128-GCM-SHA256"});
  const exchange ex = serve(ctx.get(), build_client_hello(tls12_hello({0xc02f, 0x009c})));
  EXPECT_EQ(ex.server_name, "mail.example");
  const auto events = read_server_flight(ex.flight);
  ASSERT_EQ(events.size(), 3u) << ::testing::PrintToString(describe_all(events));
  const auto& h = std::get<server_hello>(events[0]);
  EXPECT_EQ(h.cipher_suite, 0x009c);
  EXPECT_EQ(h.version, 0x0303);
  EXPECT_TRUE(h.has_extension(extension::renegotiation_info));
  EXPECT_TRUE(h.has_extension(extension::extended_master_secret));
  const auto& chain = std::get<certificate_chain>(events[1]);
  ASSERT_EQ(chain.certificates.size(), 1u);
  EXPECT_EQ(chain.certificates[0], identity().der);
  EXPECT_TRUE(std::holds_alternative<server_hello_done>(events[2]));
}

TEST(WireOpenSsl, NoSharedSuiteIsHandshakeFailure) {
  auto ctx = make_server({.max_version = TLS1_2_VERSION, .cipher_list = "AES128-GCM-SHA256"});
  const exchange ex = serve(ctx.get(), build_client_hello(tls12_hello({0xc02f, 0xc030, 0xcca8, 0xc013})));
  const auto events = read_server_flight(ex.flight);
  ASSERT_EQ(events.size(), 1u);
  const auto& a = std::get<alert>(events[0]);
  EXPECT_TRUE(a.fatal());
  EXPECT_EQ(a.description, alert_description::handshake_failure);
}

TEST(WireOpenSsl, Tls13X25519) {
  auto ctx = make_server({});
  const exchange ex = serve(ctx.get(), build_client_hello(tls13_hello()));
  const auto events = read_server_flight(ex.flight);
  ASSERT_EQ(events.size(), 1u) << ::testing::PrintToString(describe_all(events));
  const auto& h = std::get<server_hello>(events[0]);
  EXPECT_EQ(h.version, 0x0304);
  EXPECT_EQ(h.legacy_version, 0x0303);
  EXPECT_EQ(h.selected_group, std::optional<std::uint16_t>(group::x25519));
  EXPECT_EQ(h.cipher_suite, 0x1301);  // OpenSSL follows the client's order by default
  EXPECT_EQ(h.session_id, std::string(32, '\x5a'));
  EXPECT_FALSE(h.hello_retry_request);
}

TEST(WireOpenSsl, Tls13SampleSharesOfEveryGroupAreAccepted) {
  for (std::uint16_t g :
       {group::secp256r1, group::secp384r1, group::secp521r1, group::x448, group::ffdhe2048}) {
    auto ctx = make_server({.groups = "x25519:secp256r1:secp384r1:secp521r1:x448:ffdhe2048"});
    const auto events = read_server_flight(serve(ctx.get(), build_client_hello(tls13_hello(g))).flight);
    ASSERT_EQ(events.size(), 1u) << named_group_name(g) << ::testing::PrintToString(describe_all(events));
    const auto* h = std::get_if<server_hello>(&events[0]);
    ASSERT_NE(h, nullptr) << named_group_name(g) << " " << describe(events[0]);
    EXPECT_EQ(h->selected_group, std::optional<std::uint16_t>(g));
    EXPECT_FALSE(h->hello_retry_request);
  }
}

TEST(WireOpenSsl, Tls13WithoutShareGetsHelloRetryRequest) {
  auto ctx = make_server({});
  hello_params p = tls13_hello();
  p.supported_groups = {group::secp384r1, group::x25519};
  p.key_shares.clear();
  p.send_key_share = true;
  const auto events = read_server_flight(serve(ctx.get(), build_client_hello(p)).flight);
  ASSERT_GE(events.size(), 1u);
  const auto& h = std::get<server_hello>(events[0]);
  EXPECT_TRUE(h.hello_retry_request);
  EXPECT_EQ(h.version, 0x0304);
  ASSERT_TRUE(h.selected_group);
  EXPECT_TRUE(*h.selected_group == group::secp384r1 || *h.selected_group == group::x25519);
}

TEST(WireOpenSsl, EcdheCurveAndSignatureScheme) {
  auto ctx = make_server({.max_version = TLS1_2_VERSION});
  for (std::uint16_t g : {group::x25519, group::secp256r1, group::secp384r1}) {
    hello_params p = tls12_hello({0xc02f});
    p.supported_groups = {g};
    const auto events = read_server_flight(serve(ctx.get(), build_client_hello(p)).flight);
    ASSERT_EQ(events.size(), 4u) << ::testing::PrintToString(describe_all(events));
    EXPECT_EQ(std::get<server_hello>(events[0]).cipher_suite, 0xc02f);
    const auto& ske = std::get<server_key_exchange>(events[2]);
    EXPECT_EQ(ske.kind, server_params_kind::ecdhe);
    EXPECT_EQ(ske.curve_type, 3);
    EXPECT_EQ(ske.named_curve, std::optional<std::uint16_t>(g));
    ASSERT_TRUE(ske.signature_scheme);
    EXPECT_NE(find_signature_scheme(*ske.signature_scheme), nullptr);
    EXPECT_TRUE(std::holds_alternative<server_hello_done>(events[3]));
  }
  // Only SHA-1 offered: the server signs with it, and the reader says so.
  hello_params p = tls12_hello({0xc02f});
  p.signature_algorithms = {0x0201};
  const auto events =
      read_server_flight(serve(make_server({.max_version = TLS1_2_VERSION,
                                            .cipher_list = "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"})
                                   .get(),
                               build_client_hello(p))
                             .flight);
  ASSERT_EQ(events.size(), 4u) << ::testing::PrintToString(describe_all(events));
  EXPECT_EQ(std::get<server_key_exchange>(events[2]).signature_scheme, std::optional<std::uint16_t>(0x0201));
}

TEST(WireOpenSsl, DhePrimeSize) {
  auto ctx = make_server(
      {.max_version = TLS1_2_VERSION, .cipher_list = "DHE-RSA-AES128-GCM-SHA256", .dh_auto = true});
  const auto events = read_server_flight(serve(ctx.get(), build_client_hello(tls12_hello({0x009e}))).flight);
  ASSERT_EQ(events.size(), 4u) << ::testing::PrintToString(describe_all(events));
  const auto& ske = std::get<server_key_exchange>(events[2]);
  EXPECT_EQ(ske.kind, server_params_kind::dhe);
  EXPECT_EQ(ske.prime_bits, 2048u);
}

TEST(WireOpenSsl, OldVersionHelloToTls13OnlyServer) {
  auto ctx = make_server({.min_version = TLS1_3_VERSION});
  const auto events =
      read_server_flight(serve(ctx.get(), build_client_hello(tls12_hello({0xc02f, 0x009c}))).flight);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<alert>(events[0]).description, alert_description::protocol_version);
}

// The probe's method in miniature: offer, read the choice, drop it, ask again.
std::vector<std::uint16_t> enumerate_suites(SSL_CTX* ctx, std::vector<std::uint16_t> offer) {
  std::vector<std::uint16_t> accepted;
  while (!offer.empty()) {
    const auto events = read_server_flight(serve(ctx, build_client_hello(tls12_hello(offer))).flight);
    const auto* h = events.empty() ? nullptr : std::get_if<server_hello>(&events[0]);
    if (!h) break;
    accepted.push_back(h->cipher_suite);
    offer.erase(std::remove(offer.begin(), offer.end(), h->cipher_suite), offer.end());
  }
  return accepted;
}

TEST(WireOpenSsl, EnumerationFindsServerPreferenceOrder) {
  auto ctx = make_server(
      {.max_version = TLS1_2_VERSION,
       .cipher_list = "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256",
       .server_preference = true,
       .dh_auto = true});
  std::vector<std::uint16_t> everything;
  for (const auto& s : cipher_suites())
    if (s.usable_with(version::tls1_2)) everything.push_back(s.code);
  EXPECT_GT(everything.size(), 250u);
  EXPECT_EQ(enumerate_suites(ctx.get(), everything),
            (std::vector<std::uint16_t>{0x002f, 0xc030, 0x009d, 0x009e}));
}

TEST(WireOpenSsl, RealFlightsSurviveEverySplit) {
  auto tls12 = make_server({.max_version = TLS1_2_VERSION});
  auto tls13 = make_server({});
  const std::vector<std::string> flights = {
      serve(tls12.get(), build_client_hello(tls12_hello({0xc02f}))).flight,
      serve(tls13.get(), build_client_hello(tls13_hello())).flight,
  };
  for (const auto& flight : flights) {
    const auto whole = read_chunked(flight, flight.size());
    ASSERT_FALSE(whole.empty());
    EXPECT_EQ(whole.front().substr(0, 5), "hello");
    EXPECT_EQ(read_chunked(flight, 1), whole);
    for (std::size_t at = 0; at <= flight.size(); ++at) ASSERT_EQ(read_split(flight, at), whole) << at;
    // Cut anywhere and closed: never a crash, and an error (not a silent success) unless the
    // clear-text part was already complete.
    for (std::size_t cut = 0; cut < flight.size(); cut += 7) {
      const auto got = read_chunked(std::string_view(flight).substr(0, cut), 13, true);
      ASSERT_FALSE(got.empty());
    }
  }
}

TEST(WireOpenSsl, RegistryAgreesWithOpenSsl) {
  ctx_ptr ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_security_level(ctx.get(), 0);
  ASSERT_EQ(SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0"), 1);
  SSL* ssl = SSL_new(ctx.get());
  STACK_OF(SSL_CIPHER)* list = SSL_get_ciphers(ssl);
  int checked = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    const auto code = static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(c));
    const auto* s = find_cipher_suite(code);
    ASSERT_NE(s, nullptr) << SSL_CIPHER_get_name(c);
    EXPECT_EQ(s->name, SSL_CIPHER_standard_name(c));
    EXPECT_EQ(s->bits, SSL_CIPHER_get_bits(c, nullptr)) << s->name;
    EXPECT_EQ(s->aead(), SSL_CIPHER_is_aead(c) == 1) << s->name;
    EXPECT_EQ(s->tls13(), std::string_view(SSL_CIPHER_get_version(c)) == "TLSv1.3") << s->name;
    ++checked;
  }
  SSL_free(ssl);
  EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace postern::probe::wire
