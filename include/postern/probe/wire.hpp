#pragma once
/**
 * @file
 * The probe's TLS wire codec: IANA registries, a raw ClientHello builder and an incremental
 * reader for the server's first flight. Sans-I/O and standard library only, so that it can be
 * fuzzed and can speak suites that no TLS library implements any more.
 *
 * The scan method it serves: send a ClientHello listing many suites, read the ServerHello (or
 * the alert) without finishing the handshake, drop the chosen suite and ask again. The same
 * reader also yields the key-exchange group, the clear-text certificate chain (TLS <= 1.2) and
 * the ServerKeyExchange parameters.
 */
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace postern::probe::wire {

// ---------------------------------------------------------------------------------------------
// Protocol versions
// ---------------------------------------------------------------------------------------------

/** Wire values of the protocol versions (ProtocolVersion, RFC 8446 §4.1.2). */
namespace version {
inline constexpr std::uint16_t ssl3 = 0x0300;    ///< SSL 3.0 (RFC 6101)
inline constexpr std::uint16_t tls1_0 = 0x0301;  ///< TLS 1.0
inline constexpr std::uint16_t tls1_1 = 0x0302;  ///< TLS 1.1
inline constexpr std::uint16_t tls1_2 = 0x0303;  ///< TLS 1.2
inline constexpr std::uint16_t tls1_3 = 0x0304;  ///< TLS 1.3 (only in supported_versions)
}  // namespace version

/**
 * Human name of a protocol version, for reports.
 * @return "TLSv1.2" style; "0x7F17" style hex for values it does not know (drafts, GREASE).
 *
 *   version_name(0x0303) == "TLSv1.2"
 */
std::string version_name(std::uint16_t v);

// ---------------------------------------------------------------------------------------------
// Cipher suite registry
// ---------------------------------------------------------------------------------------------

/** How the premaster secret is agreed. `any`: TLS 1.3, where the suite does not say. */
enum class key_exchange : std::uint8_t {
  null,       ///< TLS_NULL_WITH_NULL_NULL only
  any,        ///< TLS 1.3 suites
  rsa,        ///< RSA key transport (no forward secrecy); with export_grade a temporary 512-bit key
  dh,         ///< static DH from the certificate (DH_RSA, DH_DSS)
  dhe,        ///< ephemeral finite-field DH
  ecdh,       ///< static ECDH from the certificate (ECDH_RSA, ECDH_ECDSA)
  ecdhe,      ///< ephemeral elliptic-curve DH
  dh_anon,    ///< unauthenticated ephemeral DH
  ecdh_anon,  ///< unauthenticated ephemeral ECDH
  psk,        ///< pre-shared key only (RFC 4279)
  dhe_psk,    ///< ephemeral DH plus a pre-shared key
  rsa_psk,    ///< RSA key transport plus a pre-shared key
  ecdhe_psk,  ///< ephemeral ECDH plus a pre-shared key (RFC 5489)
  srp,        ///< Secure Remote Password (RFC 5054)
  krb5,       ///< Kerberos (RFC 2712)
};

/** What authenticates the server. `any`: TLS 1.3 (decided by the certificate). */
enum class authentication : std::uint8_t {
  null,   ///< TLS_NULL_WITH_NULL_NULL only
  any,    ///< TLS 1.3 suites
  rsa,    ///< RSA certificate
  dss,    ///< DSA certificate
  ecdsa,  ///< ECDSA certificate
  anon,   ///< none: anyone in the middle can impersonate the server
  psk,    ///< the pre-shared key
  srp,    ///< the SRP verifier
  krb5,   ///< a Kerberos ticket
};

/** Bulk cipher; the key size is cipher_suite_info::bits. */
enum class bulk_cipher : std::uint8_t {
  null,                ///< no encryption
  rc4,                 ///< RC4 stream cipher (prohibited, RFC 7465)
  rc2_cbc,             ///< RC2 in CBC mode (export)
  des_cbc,             ///< single DES in CBC mode
  triple_des_ede_cbc,  ///< 3DES EDE in CBC mode (Sweet32)
  idea_cbc,            ///< IDEA in CBC mode
  seed_cbc,            ///< SEED in CBC mode
  aes_cbc,             ///< AES in CBC mode
  aes_gcm,             ///< AES-GCM (AEAD)
  aes_ccm,             ///< AES-CCM (AEAD)
  aes_ccm_8,           ///< AES-CCM with an 8-byte tag (AEAD)
  camellia_cbc,        ///< Camellia in CBC mode
  camellia_gcm,        ///< Camellia-GCM (AEAD)
  aria_cbc,            ///< ARIA in CBC mode
  aria_gcm,            ///< ARIA-GCM (AEAD)
  chacha20_poly1305,   ///< ChaCha20-Poly1305 (AEAD)
  sm4_gcm,             ///< SM4-GCM (AEAD)
  sm4_ccm,             ///< SM4-CCM (AEAD)
};

/** Record MAC; `aead` when the cipher authenticates itself. */
enum class mac_algorithm : std::uint8_t {
  null,    ///< no MAC
  aead,    ///< the AEAD cipher authenticates
  md5,     ///< HMAC-MD5
  sha1,    ///< HMAC-SHA1
  sha256,  ///< HMAC-SHA256
  sha384,  ///< HMAC-SHA384
  sm3,     ///< HMAC-SM3
};

/** One registry entry. Names are the IANA names (a few withdrawn drafts keep their draft names). */
struct cipher_suite_info {
  std::uint16_t code = 0;                      ///< the two-byte code point, e.g. 0xc02f
  std::string_view name;                       ///< IANA name, e.g. "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  key_exchange kx = key_exchange::null;        ///< how the keys are agreed
  authentication auth = authentication::null;  ///< what authenticates the server
  bulk_cipher cipher = bulk_cipher::null;      ///< the record cipher
  mac_algorithm mac = mac_algorithm::null;     ///< the record MAC (aead for AEAD ciphers)
  /// Effective symmetric strength in bits, as OpenSSL and sslscan report it (3DES: 112, export: 40/56).
  std::uint16_t bits = 0;
  /// Lowest version that can negotiate it: 0x0300 for SSLv3-era suites, 0x0303 for AEAD and
  /// SHA-256/384 MAC suites, 0x0304 for TLS 1.3 suites (which no older version can negotiate).
  std::uint16_t min_version = version::ssl3;
  bool export_grade = false;  ///< 40/56-bit export suites (FREAK, Logjam)

  bool aead() const noexcept { return mac == mac_algorithm::aead; }  ///< an AEAD suite (GCM, CCM, ChaCha20)
  bool tls13() const noexcept { return min_version == version::tls1_3; }  ///< a TLS 1.3 suite
  /** True when a compromised long-term key does not expose past sessions. TLS 1.3 always is. */
  bool forward_secret() const noexcept;
  /** True when a server speaking @p v may select this suite (TLS 1.3 suites only in 1.3, others only below).
   */
  bool usable_with(std::uint16_t v) const noexcept;
};

/**
 * Every suite the registry knows, sorted by code (about 350: all TLS 1.3 suites and the
 * TLS 1.0-1.2 suites a real server may still accept, including export, NULL, anon, KRB5, PSK,
 * SRP, the withdrawn EXPORT1024 drafts and the pre-RFC ChaCha20 code points 0xCC13-0xCC15).
 *
 *   for (const auto& s : cipher_suites()) if (s.usable_with(version::tls1_2)) offer(s.code);
 */
std::span<const cipher_suite_info> cipher_suites() noexcept;

/**
 * Looks a suite up by its code.
 * @return the entry, or nullptr for codes the registry does not know (GREASE, private use).
 *
 *   find_cipher_suite(0xc02f)->name == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
 */
const cipher_suite_info* find_cipher_suite(std::uint16_t code) noexcept;

/**
 * Looks a suite up by its IANA name (exact, case-sensitive: the names are identifiers).
 * @return the entry, or nullptr.
 *
 *   find_cipher_suite("TLS_RSA_WITH_AES_128_GCM_SHA256")->code == 0x009c
 */
const cipher_suite_info* find_cipher_suite(std::string_view name) noexcept;

/**
 * The IANA name, or "0xC0FF" style hex for unknown codes (so reports never lose a value).
 *
 *   cipher_suite_name(0x009c) == "TLS_RSA_WITH_AES_128_GCM_SHA256"
 */
std::string cipher_suite_name(std::uint16_t code);

/** Signalling suite values (RFC 5746, RFC 7507): not real suites, so not in the registry. */
inline constexpr std::uint16_t empty_renegotiation_info_scsv =
    0x00ff;                                             ///< TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746)
inline constexpr std::uint16_t fallback_scsv = 0x5600;  ///< TLS_FALLBACK_SCSV (RFC 7507)

// ---------------------------------------------------------------------------------------------
// Named groups and signature schemes
// ---------------------------------------------------------------------------------------------

/** The kind of a key-exchange group. */
enum class group_kind : std::uint8_t {
  ec_prime,    ///< secp*, brainpool*: Weierstrass curves over prime fields
  ec_binary,   ///< sect*: curves over GF(2^m), deprecated
  montgomery,  ///< x25519, x448
  ffdhe,       ///< RFC 7919 finite-field groups
  hybrid_pq,   ///< classical + post-quantum KEM hybrids
  other,       ///< explicit-curve placeholders
};

/** One entry of the TLS Supported Groups registry. */
struct named_group_info {
  std::uint16_t code = 0;               ///< the two-byte code point
  std::string_view name;                ///< IANA name, e.g. "x25519", "secp256r1", "ffdhe2048"
  group_kind kind = group_kind::other;  ///< curve family or finite field
  std::uint16_t bits = 0;               ///< field/prime size in bits (for hybrids: the classical part)
};

/** Group codes the builder and tests use by name. */
namespace group {
inline constexpr std::uint16_t secp256r1 = 0x0017;        ///< NIST P-256
inline constexpr std::uint16_t secp384r1 = 0x0018;        ///< NIST P-384
inline constexpr std::uint16_t secp521r1 = 0x0019;        ///< NIST P-521
inline constexpr std::uint16_t x25519 = 0x001d;           ///< X25519 (RFC 7748)
inline constexpr std::uint16_t x448 = 0x001e;             ///< X448 (RFC 7748)
inline constexpr std::uint16_t ffdhe2048 = 0x0100;        ///< RFC 7919 2048-bit group
inline constexpr std::uint16_t ffdhe3072 = 0x0101;        ///< RFC 7919 3072-bit group
inline constexpr std::uint16_t ffdhe4096 = 0x0102;        ///< RFC 7919 4096-bit group
inline constexpr std::uint16_t ffdhe6144 = 0x0103;        ///< RFC 7919 6144-bit group
inline constexpr std::uint16_t ffdhe8192 = 0x0104;        ///< RFC 7919 8192-bit group
inline constexpr std::uint16_t x25519_mlkem768 = 0x11ec;  ///< X25519MLKEM768 hybrid (post-quantum)
}  // namespace group

/**
 * Every known group, sorted by code: the sect, secp and brainpool curves, x25519, x448,
 * ffdhe2048..8192, and the post-quantum hybrids servers have started to answer with.
 *
 *   for (const auto& g : named_groups()) if (g.kind == group_kind::ffdhe) offer(g.code);
 */
std::span<const named_group_info> named_groups() noexcept;
/**
 * @return the group with @p code, or nullptr.
 *
 *   find_named_group(group::x25519)->bits == 255
 */
const named_group_info* find_named_group(std::uint16_t code) noexcept;
/**
 * @return the group named @p name (IANA spelling, case-sensitive), or nullptr.
 *
 *   find_named_group("secp384r1")->code == group::secp384r1
 */
const named_group_info* find_named_group(std::string_view name) noexcept;
/**
 * The IANA name, or "0x1234" style hex.
 *
 *   named_group_name(0x001d) == "x25519"
 */
std::string named_group_name(std::uint16_t code);

/** One signature scheme (RFC 8446 §4.2.3), including the TLS 1.2 hash/signature pairs. */
struct signature_scheme_info {
  std::uint16_t code = 0;       ///< the two-byte code point (TLS 1.2: hash << 8 | signature)
  std::string_view name;        ///< IANA name; TLS 1.2-only pairs without one are named like OpenSSL does
  bool sha1_or_weaker = false;  ///< MD5, SHA-1 or SHA-224 based: the `tls.sigalg.sha1-only` family
};

/**
 * Every known signature scheme, sorted by code.
 *
 *   for (const auto& s : signature_schemes()) if (!s.sha1_or_weaker) offer(s.code);
 */
std::span<const signature_scheme_info> signature_schemes() noexcept;
/**
 * @return the scheme with @p code, or nullptr.
 *
 *   find_signature_scheme(0x0201)->sha1_or_weaker == true
 */
const signature_scheme_info* find_signature_scheme(std::uint16_t code) noexcept;
/**
 * @return the scheme named @p name, or nullptr.
 *
 *   find_signature_scheme("ed25519")->code == 0x0807
 */
const signature_scheme_info* find_signature_scheme(std::string_view name) noexcept;
/**
 * The name, or "0x0A0A" style hex.
 *
 *   signature_scheme_name(0x0804) == "rsa_pss_rsae_sha256"
 */
std::string signature_scheme_name(std::uint16_t code);

// ---------------------------------------------------------------------------------------------
// ClientHello builder
// ---------------------------------------------------------------------------------------------

/** One KeyShareEntry (RFC 8446 §4.2.8). */
struct key_share_entry {
  std::uint16_t group = 0;   ///< the named group (see namespace group)
  std::string key_exchange;  ///< raw public value
};

/**
 * A syntactically valid public value for @p group, for ClientHellos that are never finished:
 * the group's generator (x25519 u=9, x448 u=5, the NIST curves' base point uncompressed,
 * ffdhe: the value 2 padded to the prime size). Fixed rather than random because a strict
 * server validates the point and must not reject the probe for a malformed share.
 * @return the value, or std::nullopt for groups it has none for (binary curves, hybrids).
 *
 *   hello.key_shares.push_back({group::x25519, *sample_key_share(group::x25519)});
 */
std::optional<std::string> sample_key_share(std::uint16_t group);

/** Everything a probe ClientHello says. Defaults give a plain TLS 1.2 hello. */
struct hello_params {
  std::uint16_t record_version = version::tls1_0;  ///< 0x0301 is what servers tolerate best
  std::uint16_t legacy_version = version::tls1_2;  ///< ClientHello.client_version; 0x0303 for TLS 1.3
  std::array<std::uint8_t, 32> random{};           ///< from the caller, so tests are deterministic
  std::string session_id;                          ///< 0..32 bytes; 32 for TLS 1.3 middlebox compatibility
  std::vector<std::uint16_t> cipher_suites;        ///< in the order offered; at most ~8000
  bool renegotiation_scsv = true;                  ///< appends TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00ff)
  bool fallback_scsv = false;  ///< appends TLS_FALLBACK_SCSV (0x5600), for downgrade checks

  /// SNI host name; omitted when empty or an IP literal (RFC 6066 §3 forbids literals).
  std::string server_name;
  std::vector<std::uint16_t> supported_versions;    ///< empty: no supported_versions extension
  std::vector<std::uint16_t> supported_groups;      ///< empty: no supported_groups extension
  std::vector<std::uint16_t> signature_algorithms;  ///< empty: no signature_algorithms extension
  /// key_share (TLS 1.3). An empty list with `send_key_share` makes the server answer with a
  /// HelloRetryRequest naming its preferred group.
  std::vector<key_share_entry> key_shares;
  bool send_key_share = false;         ///< send the extension even when key_shares is empty
  bool ec_point_formats = true;        ///< "uncompressed" only; some TLS 1.2 ECC servers require it
  bool renegotiation_info = false;     ///< the extension form (the SCSV is usually enough)
  bool extended_master_secret = true;  ///< RFC 7627
  bool session_ticket = true;          ///< empty SessionTicket extension: some servers expect it
  bool psk_key_exchange_modes = true;  ///< psk_dhe_ke, sent with supported_versions (TLS 1.3 clients do)
  bool padding = true;                 ///< RFC 7685 padding past 512 bytes, see build_client_hello
};

/**
 * Builds one TLS record holding a ClientHello.
 *
 * With `padding`, a hello whose handshake message would be 256..511 bytes long gets a padding
 * extension that pushes it to 512 bytes or more: some F5 load balancers hang on hellos of that
 * size. A hello that ends up with no extensions omits the extensions block entirely, as SSLv3
 * servers expect.
 *
 * @param p what to offer; p.cipher_suites must not be empty
 * @return the record bytes (5-byte header + handshake message)
 * @throws std::invalid_argument when the hello cannot be encoded: no suites, a session id over
 *         32 bytes, a name or share too long, or a record payload over 16384 bytes
 *
 *   hello_params p;  p.cipher_suites = {0xc02f, 0x009c};  p.server_name = "mail.example";
 *   std::string record = build_client_hello(p);   // write it to the socket
 */
std::string build_client_hello(const hello_params& p);

// ---------------------------------------------------------------------------------------------
// Server flight reader
// ---------------------------------------------------------------------------------------------

/** Extension codes the reader interprets. */
namespace extension {
inline constexpr std::uint16_t server_name = 0;              ///< SNI (RFC 6066)
inline constexpr std::uint16_t status_request = 5;           ///< OCSP stapling (RFC 6066)
inline constexpr std::uint16_t supported_groups = 10;        ///< RFC 8422 / RFC 8446
inline constexpr std::uint16_t ec_point_formats = 11;        ///< RFC 8422
inline constexpr std::uint16_t signature_algorithms = 13;    ///< RFC 8446 §4.2.3
inline constexpr std::uint16_t alpn = 16;                    ///< RFC 7301
inline constexpr std::uint16_t padding = 21;                 ///< RFC 7685
inline constexpr std::uint16_t encrypt_then_mac = 22;        ///< RFC 7366
inline constexpr std::uint16_t extended_master_secret = 23;  ///< RFC 7627
inline constexpr std::uint16_t session_ticket = 35;          ///< RFC 5077
inline constexpr std::uint16_t supported_versions = 43;      ///< RFC 8446 §4.2.1
inline constexpr std::uint16_t psk_key_exchange_modes = 45;  ///< RFC 8446 §4.2.9
inline constexpr std::uint16_t key_share = 51;               ///< RFC 8446 §4.2.8
inline constexpr std::uint16_t renegotiation_info = 0xff01;  ///< RFC 5746
}  // namespace extension

/** RFC 8446 §4.1.3 downgrade sentinel in ServerHello.random. */
enum class downgrade_marker : std::uint8_t {
  none,             ///< no sentinel
  tls1_2,           ///< `DOWNGRD\x01`: a TLS 1.3 server negotiated TLS 1.2
  tls1_1_or_below,  ///< `DOWNGRD\x00`: a TLS 1.3 server negotiated TLS 1.1 or below
};

/** The ServerHello (or HelloRetryRequest). */
struct server_hello {
  std::uint16_t legacy_version = 0;  ///< ServerHello.server_version as sent
  std::uint16_t version = 0;         ///< negotiated: supported_versions when present, else legacy_version
  std::uint16_t cipher_suite = 0;    ///< the suite the server chose
  std::uint8_t compression = 0;      ///< compression method (0: none)
  std::array<std::uint8_t, 32> random{};                ///< ServerHello.random
  std::string session_id;                               ///< legacy_session_id echo, raw bytes
  std::optional<std::uint16_t> selected_group;          ///< from key_share (TLS 1.3 and HRR)
  std::vector<std::uint16_t> extensions;                ///< extension types in the order received
  bool hello_retry_request = false;                     ///< random was the RFC 8446 HRR value
  downgrade_marker downgrade = downgrade_marker::none;  ///< the sentinel found in random, if any

  bool has_extension(std::uint16_t type) const noexcept;  ///< @p type is among extensions
};

/** The Certificate message of TLS <= 1.2 (TLS 1.3 sends it encrypted). */
struct certificate_chain {
  std::vector<std::string> certificates;  ///< DER, leaf first, as sent
};

/** What the ServerKeyExchange carried. */
enum class server_params_kind : std::uint8_t {
  ecdhe,       ///< named_curve (or curve_type for explicit curves)
  dhe,         ///< prime_bits
  rsa_export,  ///< prime_bits holds the temporary RSA modulus size
  srp,         ///< prime_bits holds the SRP N size
  psk_hint,    ///< only a PSK identity hint
  unknown,     ///< the suite is not in the registry: not interpreted
};

/** ServerKeyExchange (TLS <= 1.2). */
struct server_key_exchange {
  server_params_kind kind = server_params_kind::unknown;  ///< which parameters it carried
  std::uint8_t curve_type = 0;                            ///< ECParameters.curve_type: 3 named, 1/2 explicit
  std::optional<std::uint16_t> named_curve;               ///< ecdhe with curve_type 3
  std::uint32_t prime_bits = 0;  ///< dhe / rsa_export / srp: significant bits of p, modulus or N
  std::optional<std::uint16_t> signature_scheme;  ///< TLS 1.2 signed parameters: the scheme the server used
  std::size_t length = 0;                         ///< body length in bytes
};

/** CertificateRequest: the server asks for a client certificate (`tls.client-cert-required`). */
struct certificate_request {};

/** ServerHelloDone: the TLS <= 1.2 clear-text flight is complete. */
struct server_hello_done {};

/** Alert descriptions (RFC 8446 §6 plus the TLS 1.0-1.2 ones). Other values may arrive. */
enum class alert_description : std::uint8_t {
  close_notify = 0,
  unexpected_message = 10,
  bad_record_mac = 20,
  decryption_failed = 21,
  record_overflow = 22,
  decompression_failure = 30,
  handshake_failure = 40,
  no_certificate = 41,
  bad_certificate = 42,
  unsupported_certificate = 43,
  certificate_revoked = 44,
  certificate_expired = 45,
  certificate_unknown = 46,
  illegal_parameter = 47,
  unknown_ca = 48,
  access_denied = 49,
  decode_error = 50,
  decrypt_error = 51,
  export_restriction = 60,
  protocol_version = 70,
  insufficient_security = 71,
  internal_error = 80,
  inappropriate_fallback = 86,
  user_canceled = 90,
  no_renegotiation = 100,
  missing_extension = 109,
  unsupported_extension = 110,
  unrecognized_name = 112,
  bad_certificate_status_response = 113,
  unknown_psk_identity = 115,
  certificate_required = 116,
  no_application_protocol = 120,
};

/**
 * Name of an alert description.
 * @return "handshake_failure" style; "alert_NNN" for values it does not know.
 *
 *   alert_name(alert_description::handshake_failure) == "handshake_failure"
 */
std::string alert_name(alert_description d);

/** An alert record. A fatal alert or close_notify ends the flight. */
struct alert {
  std::uint8_t level = 0;  ///< 1 warning, 2 fatal (other values are passed through)
  alert_description description = alert_description::close_notify;  ///< what the alert says
  bool fatal() const noexcept { return level == 2; }                ///< level is 2 (fatal)
};

/** Why the reader gave up. */
enum class reader_error : std::uint8_t {
  plaintext_reply,   ///< the peer spoke text first (e.g. "220 " SMTP greeting): detail has the line, escaped
  sslv2_reply,       ///< an SSLv2 SERVER-HELLO
  not_tls,           ///< neither TLS records nor text: detail has the first bytes in hex
  bad_record,        ///< unknown content type, wrong record version, or an empty alert
  record_too_large,  ///< a record over 2^14 + 2048 bytes
  handshake_too_large,  ///< a handshake message over reader_limits::max_handshake_message
  flight_too_large,     ///< more than reader_limits::max_flight bytes before the flight ended
  bad_handshake,        ///< a handshake message whose lengths do not add up
  unexpected_message,   ///< a handshake message out of place (e.g. Certificate before ServerHello)
  too_many_warnings,    ///< more warning alerts than reader_limits::max_warning_alerts
  truncated,            ///< the peer closed mid-record or mid-message
  closed,               ///< the peer closed without sending a byte
};

/**
 * Stable name of a reader error, for JSON output and logs.
 *
 *   to_string(reader_error::plaintext_reply) == "plaintext_reply"
 */
std::string_view to_string(reader_error e) noexcept;

/** The reader stopped. After an error no more events follow. */
struct error {
  reader_error reason = reader_error::bad_record;  ///< why
  std::string detail;  ///< printable evidence (escaped text, hex bytes, or which length failed)
};

/** One thing the server said. */
using server_event = std::variant<server_hello, certificate_chain, server_key_exchange, certificate_request,
                                  server_hello_done, alert, error>;

/** Bounds that a hostile server cannot push past. */
struct reader_limits {
  std::size_t max_flight = 256 * 1024;             ///< clear-text bytes read before the flight must end
  std::size_t max_handshake_message = 128 * 1024;  ///< one handshake message (a certificate chain)
  std::size_t max_plaintext_line = 512;            ///< bytes of a text reply kept as evidence
  std::size_t max_warning_alerts = 8;              ///< warning alerts tolerated before giving up
};

/**
 * Incremental reader of the server's answer to a ClientHello. Feed bytes as they arrive, split
 * anywhere; take events with next(). It stops (done() becomes true) at the first point where
 * the server has nothing more to say in clear text without the client's next message:
 * ServerHelloDone, a TLS 1.3 ServerHello or HelloRetryRequest, a ChangeCipherSpec in TLS <= 1.2
 * (resumption), a fatal alert or close_notify, or an error. Bytes fed after that are ignored.
 *
 * Memory stays below one record plus one handshake message plus the events not yet taken, and
 * the whole flight is bounded by reader_limits::max_flight.
 *
 *   server_reader r;
 *   r.feed(bytes_from_socket);
 *   while (auto ev = r.next())
 *     if (auto* hello = std::get_if<server_hello>(&*ev)) accepted(hello->cipher_suite);
 */
class server_reader {
 public:
  /** A reader that enforces @p limits. */
  explicit server_reader(reader_limits limits = {});

  /**
   * Consumes @p bytes (all of them; they are copied as needed). No-op once done().
   *
   *   r.feed(std::string_view(buf, n));  // any split: one byte or many records
   */
  void feed(std::string_view bytes);

  /**
   * Tells the reader the peer closed the connection. Reports `closed` if nothing arrived,
   * `truncated` if a record or message was cut, the text line if a text reply was pending.
   */
  void finish();

  /**
   * @return the next event in arrival order, or std::nullopt if none is ready.
   *
   *   while (auto ev = r.next()) handle(*ev);
   */
  std::optional<server_event> next();

  /** True when no more events will come from more input (events may still wait in next()). */
  bool done() const noexcept { return done_; }

  /** Bytes held in partial records and messages (for tests of the memory bound). */
  std::size_t buffered() const noexcept;

 private:
  enum class phase : std::uint8_t { sniff, text, sslv2, records };

  void on_record(std::uint8_t type, std::string_view payload);
  void on_handshake_bytes(std::string_view payload);
  void on_handshake_message(std::uint8_t type, std::string_view body);
  void on_server_hello(std::string_view body);
  void on_certificate(std::string_view body);
  void on_server_key_exchange(std::string_view body);
  void on_alert_bytes(std::string_view payload);
  void fail(reader_error reason, std::string detail);
  void emit(server_event ev);
  void finish_text();

  reader_limits limits_;
  phase phase_ = phase::sniff;
  bool done_ = false;
  bool saw_any_ = false;
  bool saw_server_hello_ = false;
  std::uint16_t version_ = 0;  ///< negotiated, once the ServerHello is read
  std::uint16_t cipher_suite_ = 0;
  std::size_t flight_bytes_ = 0;
  std::size_t warnings_ = 0;
  std::string record_;     ///< partial record (header included), or the text/SSLv2 prefix
  std::string handshake_;  ///< handshake bytes not yet forming a whole message
  std::string alert_;      ///< an alert split across records
  std::deque<server_event> events_;
};

/**
 * Reads a complete capture in one call: feeds @p bytes, then finish() when @p closed.
 *
 *   auto events = read_server_flight(captured, true);
 */
std::vector<server_event> read_server_flight(std::string_view bytes, bool closed = false,
                                             reader_limits limits = {});

/**
 * Escapes bytes for evidence: printable ASCII as is, `\r` `\n` `\t` `\\` named, the rest as `\xNN`.
 *
 *   escape_bytes("220 hi\r\n") == "220 hi\\r\\n"
 */
std::string escape_bytes(std::string_view bytes);

}  // namespace postern::probe::wire
