#pragma once
/**
 * @file
 * DKIM signing (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC 8463), and the keys for it.
 * The signature covers the message exactly as it goes on the wire: line ends normalised to CRLF
 * as DATA and BDAT send them (smtp/data.hpp), before dot-stuffing. No OpenSSL types appear here.
 *
 *   dkim::signing_options o{.domain = "example.org", .selector = "mail", .key_file = "/etc/dkim.pem"};
 *   dkim::result r = dkim::sign(rfc5322_text, o);
 *   if (!r.ok()) std::cerr << r.error->code << ": " << r.error->summary << "\n";
 *   else send(r.message);   // the DKIM-Signature field first, then the message with CRLF line ends
 */
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/dkim/canon.hpp"

namespace postern::dkim {

/** What to sign with, and how. */
struct signing_options {
  std::string domain;           ///< d=: the signing domain (A-labels for an internationalised name)
  std::string selector;         ///< s=: the key is published at SELECTOR._domainkey.DOMAIN
  std::string key_file;         ///< PEM private key (RSA ≥ 1024 bits, or Ed25519); used when key_pem is ""
  std::string key_pem;          ///< the PEM private key itself, instead of key_file
  canonicalization_pair canon;  ///< c=, relaxed/relaxed by default
  /** h=: the fields to sign, as given (repeat a name to oversign it). Empty: those of
      default_header_names() that the message has, with From once more than it occurs. */
  std::vector<std::string> headers;
  /** t=; nullopt: now. */
  std::optional<std::chrono::system_clock::time_point> timestamp;
};

/** A reason not to sign, or a warning about the signature, with its cause code (docs/causes.md). */
struct problem {
  std::string code;     ///< e.g. "dkim.key-unreadable"
  std::string summary;  ///< one line, naming the file or the field
  int exit_code = 0;    ///< sysexits.h value when this stops the send (0 for warnings)
};

/** The outcome of sign(). */
struct result {
  std::optional<problem> error;   ///< why the message was not signed; nullopt when it was
  std::vector<problem> warnings;  ///< e.g. dkim.key-weak: signed, but the key is below 2048 bits
  /** The signed message: the DKIM-Signature field, then the message with CRLF line ends (and a
      final CRLF), ready for DATA or BDAT. Empty on error. */
  std::string message;
  std::string signature;  ///< the DKIM-Signature field alone, with its CRLF
  /** Whether the message was signed. */
  bool ok() const noexcept { return !error; }
};

/**
 * A loaded key and checked options, for signing many messages without reading the key again.
 *
 *   auto s = dkim::signer::load(o);
 *   if (!s.error) for (auto& m : messages) m = s.value->sign(m).message;
 */
class signer {
 public:
  /** Either a signer or the reason there is none (and the warnings about the key). */
  struct loaded {
    std::shared_ptr<const signer> value;  ///< nullptr on error
    std::optional<problem> error;         ///< dkim.key-unreadable, dkim.key-unsupported, ...
    std::vector<problem> warnings;        ///< dkim.key-weak for RSA keys below 2048 bits
  };
  /**
   * Reads and checks the key and the options: dkim.key-unreadable (no such file, not a PEM private
   * key, encrypted), dkim.key-unsupported (neither RSA nor Ed25519), dkim.key-too-small (RSA below
   * 1024 bits), dkim.bad-options (domain, selector or a header name that cannot be used, From not
   * in an explicit header list).
   */
  static loaded load(const signing_options& options);
  /** Signs one message (any line ends); dkim.bad-message when it has no From field. */
  result sign(std::string_view message) const;
  /** "rsa-sha256" or "ed25519-sha256". */
  std::string_view algorithm() const noexcept;

  ~signer();
  signer(const signer&) = delete;
  signer& operator=(const signer&) = delete;

 private:
  struct key;
  signer(signing_options options, std::unique_ptr<key> k);
  signing_options options_;
  std::unique_ptr<key> key_;
};

/** The hook the client flow calls per message: signer::load(options) then sign(message). */
result sign(std::string_view message, const signing_options& options);

/** The key types DKIM signs with. */
enum class key_type { rsa, ed25519 };

/** A new key pair and what to publish for it. */
struct generated_key {
  std::string private_pem;        ///< PKCS#8 PEM, unencrypted
  std::string public_b64;         ///< p=: base64 SubjectPublicKeyInfo (RSA) or the raw 32-octet key (Ed25519)
  key_type type = key_type::rsa;  ///< what was generated
};

/**
 * Generates a key: RSA with @p bits (1024 to 8192; 2048 is what RFC 8301 asks senders for), or
 * Ed25519 (bits ignored). Throws std::invalid_argument for bits out of range, std::runtime_error
 * when OpenSSL fails.
 */
generated_key generate_key(key_type type, unsigned bits = 2048);

/** The key record's text: "v=DKIM1; k=rsa; p=..." (k=ed25519 for Ed25519, RFC 8463). */
std::string key_record(const generated_key& key);

/**
 * The record as a zone-file line, its text cut into quoted strings of at most 255 octets (a TXT
 * record's limit per string; resolvers join them):
 * `SELECTOR._domainkey.DOMAIN. IN TXT "v=DKIM1; k=rsa; p=MIIB..." "...."`
 */
std::string dns_txt_line(std::string_view selector, std::string_view domain, std::string_view record);

}  // namespace postern::dkim
