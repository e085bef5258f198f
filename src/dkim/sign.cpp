// DKIM signatures (RFC 6376 §5) with OpenSSL 3's EVP interface: rsa-sha256 and ed25519-sha256
// (RFC 8463). The canonical forms come from the pure half (dkim/canon.hpp); this file hashes,
// signs, and lays out the DKIM-Signature field.
#include "postern/dkim/sign.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sysexits.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>

#include "postern/mime/message.hpp"
#include "postern/smtp/data.hpp"

namespace postern::dkim {
namespace {

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

// RFC 8301 §3.2: verifiers must accept 1024 bits and up; senders should use at least 2048.
constexpr int min_rsa_bits = 1024;
constexpr int recommended_rsa_bits = 2048;
constexpr std::size_t max_line = 78;  // RFC 5322 §2.1.1's recommended line length

std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (!e) return "";
  const char* r = ERR_reason_error_string(e);
  return r ? r : "";
}

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed: " + openssl_reason());
  return std::string(reinterpret_cast<const char*>(md.data()), n);
}

// No pass phrase is ever asked for: an encrypted key is reported as unreadable.
int no_passphrase(char*, int, int, void*) { return -1; }

problem key_problem(std::string code, std::string summary, int exit_code) {
  return {std::move(code), std::move(summary), exit_code};
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

// Lays out the DKIM-Signature field: tokens joined by spaces, folded before a token that would
// pass the line length (a fold is FWS, allowed between tags and inside h=, bh= and b=).
class field_writer {
 public:
  explicit field_writer(std::string_view start) : text_(start), column_(start.size()) {}
  void put(std::string_view token, bool space_before = true) {
    const std::size_t need = token.size() + (space_before ? 1 : 0);
    if (column_ + need > max_line && column_ > 1) {
      text_ += "\r\n\t";
      column_ = 1;
    } else if (space_before) {
      text_ += ' ';
      ++column_;
    }
    text_ += token;
    column_ += token.size();
  }
  // b= and the start of the signature stay on one line, so the deleted value begins right
  // after "b=" (RFC 6376 §3.5: the b= value, with the white space around it, is hashed as "").
  void put_b_tag() { put("b=", true); }
  void put_base64(std::string_view b64) {
    std::size_t pos = 0;
    while (pos < b64.size()) {
      if (column_ >= max_line) {
        text_ += "\r\n\t";
        column_ = 1;
      }
      const std::size_t n = std::min(max_line - column_, b64.size() - pos);
      text_.append(b64.substr(pos, n));
      column_ += n;
      pos += n;
    }
  }
  void ensure_room(std::size_t n) {
    if (column_ + n > max_line) {
      text_ += "\r\n\t";
      column_ = 1;
    }
  }
  const std::string& text() const noexcept { return text_; }

 private:
  std::string text_;
  std::size_t column_;
};

}  // namespace

struct signer::key {
  pkey_ptr pkey;
  key_type type = key_type::rsa;
};

signer::signer(signing_options options, std::unique_ptr<key> k)
    : options_(std::move(options)), key_(std::move(k)) {}
signer::~signer() = default;

std::string_view signer::algorithm() const noexcept {
  return key_->type == key_type::ed25519 ? "ed25519-sha256" : "rsa-sha256";
}

signer::loaded signer::load(const signing_options& o) {
  loaded out;
  if (!valid_domain(o.domain)) {
    out.error =
        key_problem("dkim.bad-options",
                    "DKIM domain '" + o.domain + "' is not a domain name (d=; A-labels for IDNs)", EX_USAGE);
    return out;
  }
  if (!valid_domain(o.selector)) {
    out.error = key_problem(
        "dkim.bad-options",
        "DKIM selector '" + o.selector + "' is not a DNS name (letters, digits, '-', '.')", EX_USAGE);
    return out;
  }
  if (!o.headers.empty()) {
    for (const auto& h : o.headers)
      if (!valid_field_name(h)) {
        out.error = key_problem("dkim.bad-options",
                                "'" + h + "' is not a header field name (DKIM header list)", EX_USAGE);
        return out;
      }
    if (std::none_of(o.headers.begin(), o.headers.end(),
                     [](const std::string& h) { return iequals(h, "From"); })) {
      out.error =
          key_problem("dkim.bad-options", "the DKIM header list must include From (RFC 6376 §5.4)", EX_USAGE);
      return out;
    }
  }

  std::string pem = o.key_pem;
  const std::string where = o.key_pem.empty() ? "DKIM key " + o.key_file : "the DKIM key given";
  if (pem.empty()) {
    if (o.key_file.empty()) {
      out.error = key_problem("dkim.key-unreadable", "no DKIM key given (a PEM private key file)", EX_USAGE);
      return out;
    }
    std::ifstream f(o.key_file, std::ios::binary);
    if (!f) {
      out.error = key_problem("dkim.key-unreadable", "cannot read " + where, EX_NOINPUT);
      return out;
    }
    pem.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  pkey_ptr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  if (!pkey) {
    const std::string reason = openssl_reason();
    const bool encrypted = pem.find("ENCRYPTED") != std::string::npos;
    out.error = key_problem("dkim.key-unreadable",
                            where +
                                (encrypted ? " is encrypted (postern needs it without a pass phrase)"
                                           : " is not a PEM private key") +
                                (reason.empty() || encrypted ? "" : " (" + reason + ")"),
                            EX_NOINPUT);
    return out;
  }
  auto k = std::make_unique<key>();
  if (EVP_PKEY_is_a(pkey.get(), "ED25519")) {
    k->type = key_type::ed25519;
  } else if (EVP_PKEY_is_a(pkey.get(), "RSA")) {
    k->type = key_type::rsa;
    const int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < min_rsa_bits) {
      out.error = key_problem("dkim.key-too-small",
                              where + " is RSA with " + std::to_string(bits) +
                                  " bits; DKIM verifiers ignore keys below 1024 bits (RFC 8301), use 2048",
                              EX_CONFIG);
      return out;
    }
    if (bits < recommended_rsa_bits)
      out.warnings.push_back(key_problem("dkim.key-weak",
                                         where + " is RSA with " + std::to_string(bits) +
                                             " bits; RFC 8301 asks for at least 2048 (postern dkim keygen)",
                                         0));
  } else {
    const char* type = EVP_PKEY_get0_type_name(pkey.get());
    out.error = key_problem("dkim.key-unsupported",
                            where + " is a " + std::string(type ? type : "unknown") +
                                " key; DKIM signs with RSA (rsa-sha256) or Ed25519 (ed25519-sha256)",
                            EX_CONFIG);
    return out;
  }
  k->pkey = std::move(pkey);
  out.value = std::shared_ptr<const signer>(new signer(o, std::move(k)));
  return out;
}

result signer::sign(std::string_view message) const {
  result r;
  // The bytes DATA and BDAT put on the wire: CRLF line ends and a final CRLF, before dot-stuffing.
  std::string wire = smtp::decode_data(smtp::encode_data(message));
  const message_parts parts = split_message(wire);
  if (count_headers(parts.headers, "From") == 0) {
    r.error = problem{"dkim.bad-message",
                      "the message has no From field, which DKIM must sign (RFC 6376 §5.4)", EX_DATAERR};
    return r;
  }
  const std::vector<std::string> h = options_.headers.empty()
                                         ? signed_header_list(parts.headers, default_header_names(), {"From"})
                                         : options_.headers;

  const std::string body_hash =
      mime::base64_encode(sha256(canonicalize_body(parts.body, options_.canon.body)));
  const auto when = options_.timestamp.value_or(std::chrono::system_clock::now());
  const auto t = std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();

  field_writer f("DKIM-Signature:");
  f.put("v=1;");
  f.put("a=" + std::string(algorithm()) + ";");
  f.put("c=" + to_string(options_.canon) + ";");
  f.put("d=" + options_.domain + ";");
  f.put("s=" + options_.selector + ";");
  f.put("t=" + std::to_string(t) + ";");
  for (std::size_t i = 0; i < h.size(); ++i)
    f.put((i == 0 ? "h=" : "") + h[i] + (i + 1 == h.size() ? ";" : ":"), i == 0);
  f.put("bh=" + body_hash + ";");
  f.ensure_room(12);
  f.put_b_tag();
  const std::string unsigned_field = f.text();

  // The header hash input (§3.7): the selected fields, then this field with b= empty and no CRLF.
  std::string input;
  for (const auto& field : select_headers(parts.headers, h))
    input += canonicalize_header(field.raw, options_.canon.header);
  std::string self = canonicalize_header(unsigned_field, options_.canon.header);
  self.resize(self.size() - 2);
  input += self;

  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string digest;
  std::string_view to_sign = input;
  const EVP_MD* md = EVP_sha256();
  if (key_->type == key_type::ed25519) {
    // RFC 8463 §3: Ed25519 (pure, no prehash mode of its own) signs the SHA-256 of the input.
    digest = sha256(input);
    to_sign = digest;
    md = nullptr;
  }
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(to_sign.data()),
                     to_sign.size()) != 1)
    throw std::runtime_error("DKIM signing failed: " + openssl_reason());
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size()) != 1)
    throw std::runtime_error("DKIM signing failed: " + openssl_reason());
  sig.resize(len);

  f.put_base64(mime::base64_encode(sig));
  r.signature = f.text() + "\r\n";
  r.message.reserve(r.signature.size() + wire.size());
  r.message = r.signature;
  r.message += wire;
  return r;
}

result sign(std::string_view message, const signing_options& options) {
  auto s = signer::load(options);
  if (!s.value) {
    result r;
    r.error = s.error;
    r.warnings = std::move(s.warnings);
    return r;
  }
  result r = s.value->sign(message);
  r.warnings.insert(r.warnings.begin(), s.warnings.begin(), s.warnings.end());
  return r;
}

generated_key generate_key(key_type type, unsigned bits) {
  if (type == key_type::rsa && (bits < 1024 || bits > 8192))
    throw std::invalid_argument("RSA keys for DKIM have 1024 to 8192 bits, not " + std::to_string(bits));
  pkey_ptr pkey(type == key_type::rsa
                    ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits))
                    : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) throw std::runtime_error("key generation failed: " + openssl_reason());
  generated_key out;
  out.type = type;
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("cannot write the key: " + openssl_reason());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  out.private_pem.assign(data, static_cast<std::size_t>(n));
  std::string pub;
  if (type == key_type::ed25519) {
    std::size_t len = 0;
    EVP_PKEY_get_raw_public_key(pkey.get(), nullptr, &len);
    pub.resize(len);
    if (EVP_PKEY_get_raw_public_key(pkey.get(), reinterpret_cast<unsigned char*>(pub.data()), &len) != 1)
      throw std::runtime_error("cannot read the public key: " + openssl_reason());
  } else {
    const int len = i2d_PUBKEY(pkey.get(), nullptr);
    if (len <= 0) throw std::runtime_error("cannot encode the public key: " + openssl_reason());
    pub.resize(static_cast<std::size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(pub.data());
    i2d_PUBKEY(pkey.get(), &p);
  }
  out.public_b64 = mime::base64_encode(pub);
  return out;
}

std::string key_record(const generated_key& key) {
  return std::string("v=DKIM1; k=") + (key.type == key_type::ed25519 ? "ed25519" : "rsa") +
         "; p=" + key.public_b64;
}

std::string dns_txt_line(std::string_view selector, std::string_view domain, std::string_view record) {
  std::string out = std::string(selector) + "._domainkey." + std::string(domain) + ". IN TXT";
  constexpr std::size_t max_string = 255;  // RFC 1035 §3.3: one character-string
  for (std::size_t pos = 0; pos < record.size(); pos += max_string)
    out += " \"" + std::string(record.substr(pos, max_string)) + "\"";
  return out;
}

}  // namespace postern::dkim
