// SASL client mechanisms for SMTP AUTH. libgsasl does PLAIN, LOGIN, CRAM-MD5 and SCRAM-SHA-256;
// XOAUTH2 is not in libgsasl and is simple enough to write here.
#include "postern/auth/sasl_client.hpp"

#include <gsasl.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "postern/smtp/error.hpp"

namespace postern::auth {
namespace {

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// One library context per process. It holds no callback and no credentials (those live in
// each session's properties), so sharing it between threads is safe; the static's
// initialisation is thread-safe.
Gsasl* gsasl_context() {
  struct holder {
    Gsasl* ctx = nullptr;
    holder() {
      if (gsasl_init(&ctx) != GSASL_OK) ctx = nullptr;
    }
    ~holder() {
      if (ctx != nullptr) gsasl_done(ctx);
    }
    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;
  };
  static holder h;
  return h.ctx;
}

// Minimal base64 for XOAUTH2 (the mime library is not a dependency of auth).
std::string base64(std::string_view in) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? alphabet[v & 63] : '=';
  }
  return out;
}

// Overwrites secrets before their memory is released.
void wipe(std::string& s) {
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

class gsasl_mechanism final : public smtp::sasl_mechanism {
 public:
  // Takes ownership of an already started session whose properties are set.
  gsasl_mechanism(std::string name, Gsasl_session* session, bool client_first)
      : name_(std::move(name)), session_(session), client_first_(client_first) {}
  ~gsasl_mechanism() override { gsasl_finish(session_); }
  gsasl_mechanism(const gsasl_mechanism&) = delete;
  gsasl_mechanism& operator=(const gsasl_mechanism&) = delete;

  std::string name() const override { return name_; }

  std::optional<std::string> initial_response(std::error_code& ec) override {
    ec.clear();
    // LOGIN and CRAM-MD5 wait for the server's first challenge (LOGIN's "Username:", CRAM's nonce).
    if (!client_first_) return std::nullopt;
    std::string out = run_step("", ec);
    if (ec) return std::nullopt;
    // RFC 4954 §4: an empty initial response is sent as "=".
    return out.empty() ? std::string("=") : out;
  }

  std::string step(std::string_view challenge_b64, std::error_code& ec) override {
    ec.clear();
    return run_step(challenge_b64, ec);
  }

 private:
  std::string run_step(std::string_view challenge_b64, std::error_code& ec) {
    if (done_) {
      // The exchange already completed on our side; a further challenge is not one we can answer.
      ec = smtp::errc::auth_failed;
      return {};
    }
    const std::string input(challenge_b64);
    char* output = nullptr;
    const int rc = gsasl_step64(session_, input.c_str(), &output);
    std::string out = output != nullptr ? output : "";
    if (output != nullptr) {
      std::fill(output, output + out.size(), '\0');
      gsasl_free(output);
    }
    if (rc == GSASL_OK) {
      done_ = true;
      return out;
    }
    if (rc == GSASL_NEEDS_MORE) return out;
    // Bad base64, a malformed challenge, or (SCRAM) a server signature that does not prove
    // the server knows the password: all mean this authentication cannot succeed.
    ec = smtp::errc::auth_failed;
    return {};
  }

  std::string name_;
  Gsasl_session* session_;
  bool client_first_;
  bool done_ = false;
};

// RFC-less but widely deployed (Google, Microsoft): a single client message with a bearer token.
class xoauth2_mechanism final : public smtp::sasl_mechanism {
 public:
  explicit xoauth2_mechanism(const credentials& c) : user_(c.user), token_(c.secret) {}
  ~xoauth2_mechanism() override {
    wipe(user_);
    wipe(token_);
  }
  xoauth2_mechanism(const xoauth2_mechanism&) = delete;
  xoauth2_mechanism& operator=(const xoauth2_mechanism&) = delete;

  std::string name() const override { return "XOAUTH2"; }

  std::optional<std::string> initial_response(std::error_code& ec) override {
    ec.clear();
    // \x01 separates the fields; inside a value it would let a caller forge other fields.
    if (user_.find('\x01') != std::string::npos || token_.find('\x01') != std::string::npos) {
      ec = smtp::errc::invalid_argument;
      return std::nullopt;
    }
    std::string raw = "user=" + user_ + "\x01" + "auth=Bearer " + token_ + "\x01\x01";
    std::string out = base64(raw);
    wipe(raw);
    return out;
  }

  std::string step(std::string_view /*challenge_b64*/, std::error_code& ec) override {
    // A 334 after our token carries a base64 JSON error; the protocol wants an empty reply,
    // after which the server ends the exchange with 535.
    ec.clear();
    return {};
  }

 private:
  std::string user_;
  std::string token_;
};

// RFC 4422 appendix A: the credentials are the TLS client certificate; the one message is the
// authorization identity (empty: derive it from the certificate), sent as "=" when empty.
class external_mechanism final : public smtp::sasl_mechanism {
 public:
  explicit external_mechanism(std::string authzid) : authzid_(std::move(authzid)) {}
  std::string name() const override { return "EXTERNAL"; }
  std::optional<std::string> initial_response(std::error_code& ec) override {
    ec.clear();
    return authzid_.empty() ? std::string("=") : base64(authzid_);
  }
  std::string step(std::string_view /*challenge_b64*/, std::error_code& ec) override {
    // A server that ignored the initial response asks again with an empty 334.
    ec.clear();
    if (answered_) {
      ec = smtp::errc::auth_failed;
      return {};
    }
    answered_ = true;
    return authzid_.empty() ? std::string() : base64(authzid_);
  }

 private:
  std::string authzid_;
  bool answered_ = false;
};

bool is_supported(std::string_view upper) {
  const auto& s = supported_mechanisms();
  return std::find(s.begin(), s.end(), upper) != s.end();
}

}  // namespace

const std::vector<std::string>& supported_mechanisms() {
  // SCRAM never reveals the password and authenticates the server; CRAM-MD5 does not reveal it
  // either; PLAIN and LOGIN rely entirely on TLS. XOAUTH2 needs a token, not a password.
  // EXTERNAL needs no secret but a TLS client certificate.
  static const std::vector<std::string> names = {"SCRAM-SHA-256", "CRAM-MD5", "PLAIN",
                                                 "LOGIN",         "XOAUTH2",  "EXTERNAL"};
  return names;
}

std::optional<std::string> choose(const std::vector<std::string>& offered,
                                  std::optional<std::string_view> forced) {
  if (forced) {
    std::string f = to_upper(*forced);
    if (!is_supported(f)) return std::nullopt;
    return f;
  }
  for (const auto& candidate : supported_mechanisms()) {
    // Offering XOAUTH2 says nothing about whether our secret is a token or a password; EXTERNAL
    // uses the client certificate, which only an explicit choice may turn into an identity.
    if (candidate == "XOAUTH2" || candidate == "EXTERNAL") continue;
    for (const auto& o : offered)
      if (to_upper(o) == candidate) return candidate;
  }
  return std::nullopt;
}

std::unique_ptr<smtp::sasl_mechanism> make_mechanism(std::string_view mechanism, const credentials& c,
                                                     std::error_code& ec) {
  ec.clear();
  const std::string name = to_upper(mechanism);
  if (!is_supported(name)) {
    ec = smtp::errc::auth_mech_unsupported;
    return nullptr;
  }
  if (name == "XOAUTH2") return std::make_unique<xoauth2_mechanism>(c);
  if (name == "EXTERNAL") return std::make_unique<external_mechanism>(c.user);

  Gsasl* ctx = gsasl_context();
  if (ctx == nullptr || gsasl_client_support_p(ctx, name.c_str()) == 0) {
    ec = smtp::errc::auth_mech_unsupported;
    return nullptr;
  }
  Gsasl_session* session = nullptr;
  if (gsasl_client_start(ctx, name.c_str(), &session) != GSASL_OK) {
    ec = smtp::errc::auth_mech_unsupported;
    return nullptr;
  }
  // Wrap at once so the session is finished on every path below.
  const bool client_first = name == "PLAIN" || name == "SCRAM-SHA-256";
  auto mech = std::make_unique<gsasl_mechanism>(name, session, client_first);
  // Properties set up front: the client then never needs the (shared) context's callback.
  if (gsasl_property_set(session, GSASL_AUTHID, c.user.c_str()) != GSASL_OK ||
      gsasl_property_set(session, GSASL_PASSWORD, c.secret.c_str()) != GSASL_OK) {
    ec = smtp::errc::auth_failed;
    return nullptr;
  }
  return mech;
}

}  // namespace postern::auth
