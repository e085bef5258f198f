#pragma once
/**
 * @file
 * TLS policies as data (no OpenSSL types here): protocol versions, suites,
 * groups, signature schemes, verification. The named profiles of DESIGN.md are
 * part of postern's interface. A policy prints as text and parses back.
 *
 *   const auto& p = postern::tls::profile("strict");   // nullptr if unknown
 *   std::cout << p->to_text();
 */
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::tls {

/** A TLS protocol version, oldest first (so versions compare with <). */
enum class version {
  tls1_0,  ///< TLS 1.0 (RFC 2246), deprecated (RFC 8996)
  tls1_1,  ///< TLS 1.1 (RFC 4346), deprecated (RFC 8996)
  tls1_2,  ///< TLS 1.2 (RFC 5246)
  tls1_3,  ///< TLS 1.3 (RFC 8446)
};
/** "TLSv1.2" style name, as OpenSSL and most tools print it (TLS 1.0 is "TLSv1.0"). */
const char* to_string(version v) noexcept;
/** Accepts "TLSv1.2", "tlsv1.2", "tls1.2", "TLS 1.2", "1.2" (any case), and OpenSSL's "TLSv1". */
std::optional<version> parse_version(std::string_view s) noexcept;

/** Everything postern allows in a TLS handshake; the named profiles are instances. */
struct policy {
  std::string name;                            ///< "strict", "compat", "legacy", or a user name
  version min_version = version::tls1_2;       ///< oldest version offered
  version max_version = version::tls1_3;       ///< newest version offered
  std::vector<std::string> tls13_suites;       ///< IANA names, preference order
  std::vector<std::string> tls12_suites;       ///< IANA names for TLS ≤ 1.2, preference order
  std::vector<std::string> groups;             ///< IANA names: x25519, secp256r1, secp384r1, ffdhe2048…
  std::vector<std::string> signature_schemes;  ///< IANA names: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256…
  int min_dh_bits = 2048;                      ///< smallest finite-field DHE group accepted
  int min_rsa_bits = 2048;                     ///< smallest server RSA key accepted
  std::string security_note;                   ///< what using this profile gives up; "" for strict

  /** Stable "key: value" text, one setting per line, lists comma-separated. */
  std::string to_text() const;
  /** Parses to_text() output; nullopt with @p error set on a bad line. */
  static std::optional<policy> from_text(std::string_view text, std::string* error = nullptr);
  /** Every setting equal (the name included). */
  friend bool operator==(const policy&, const policy&) = default;
};

/** The named profile ("strict", "compat", "legacy"), or nullptr. */
const policy* profile(std::string_view name) noexcept;
/** Names of the built-in profiles, strongest first. */
std::vector<std::string> profile_names();

}  // namespace postern::tls
