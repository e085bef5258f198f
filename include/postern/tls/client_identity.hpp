#pragma once
/**
 * @file
 * The client certificate postern presents when a server asks for one (PEM files),
 * and the checks that run on it before any connection. No OpenSSL types here.
 *
 *   tls::client_identity id{"me.pem", "me.key"};
 *   if (auto p = tls::check_client_identity(id)) std::cerr << p->summary << "\n";
 */
#include <optional>
#include <string>

namespace postern::tls {

/** A client certificate and its key. Both empty: no client certificate. */
struct client_identity {
  std::string cert_file;  ///< PEM: the certificate, optionally followed by its chain (and the key)
  std::string key_file;   ///< PEM private key; "" = the key is in cert_file
  /** True when neither file is set: no client certificate is presented. */
  bool empty() const noexcept { return cert_file.empty() && key_file.empty(); }
};

/** What is wrong with a client_identity, found without connecting. */
enum class identity_error {
  key_without_cert,  ///< key_file given, cert_file not
  unreadable,        ///< a file cannot be opened (missing, no permission)
  bad_certificate,   ///< cert_file holds no usable PEM certificate (or one the policy refuses)
  bad_key,           ///< no usable PEM private key (in key_file, or in cert_file when key_file is "")
  key_mismatch,      ///< the key does not belong to the certificate
};

/** The first problem check_client_identity() found, ready to show to the user. */
struct identity_problem {
  identity_error kind = identity_error::bad_certificate;  ///< what is wrong
  std::string file;                                       ///< the file the problem is about
  std::string summary;                                    ///< one line, plain words, naming the file
};

/**
 * Loads @p id as make_client_context would and reports the first problem; nullopt when the
 * certificate and key load and belong together (or @p id is empty).
 */
std::optional<identity_problem> check_client_identity(const client_identity& id);

}  // namespace postern::tls
