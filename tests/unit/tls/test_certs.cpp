#include "test_certs.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace postern::tls::test {

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    ERR_print_errors_fp(stderr);
    throw std::runtime_error(what);
  }
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

long next_serial() {
  static long serial = 1000;
  return ++serial;
}

}  // namespace

pkey_ptr make_rsa_key(int bits) {
  pkey_ptr key{EVP_RSA_gen(static_cast<unsigned int>(bits))};
  check(key != nullptr, "EVP_RSA_gen");
  return key;
}

pkey_ptr make_ec_key() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

x509_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  x509_ptr cert{X509_new()};
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), next_serial());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_offset);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after_offset);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("postern tests"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (spec.is_ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), signer, NID_ext_key_usage, spec.extended_key_usage);
    std::string san;
    for (const auto& d : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (const auto& i : spec.ip_names) san += (san.empty() ? "IP:" : ",IP:") + i;
    if (!san.empty()) add_ext(cert.get(), signer, NID_subject_alt_name, san);
    if (!spec.ca_issuers_url.empty())
      add_ext(cert.get(), signer, NID_info_access, "caIssuers;URI:" + spec.ca_issuers_url);
  }
  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

pki::pki() : root_key(make_rsa_key()), inter_key(make_rsa_key()), leaf_key(make_rsa_key()) {
  root = make_cert({.common_name = "postern test root", .is_ca = true}, root_key.get(), nullptr, nullptr);
  inter = make_cert({.common_name = "postern test intermediate", .is_ca = true}, inter_key.get(), root.get(),
                    root_key.get());
}

x509_ptr pki::leaf(const std::vector<std::string>& names, bool by_intermediate, long not_after_offset,
                   long not_before_offset) {
  cert_spec spec;
  spec.common_name = names.empty() ? "localhost" : names.front();
  spec.dns_names = names;
  spec.not_after_offset = not_after_offset;
  spec.not_before_offset = not_before_offset;
  if (by_intermediate) spec.ca_issuers_url = "http://ca.invalid/intermediate.crt";
  return by_intermediate ? make_cert(spec, leaf_key.get(), inter.get(), inter_key.get())
                         : make_cert(spec, leaf_key.get(), root.get(), root_key.get());
}

std::string pki::root_file() const { return write_pem({root.get()}); }

std::string write_pem(const std::vector<X509*>& certs) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/postern-tls-test-XXXXXX";
  const int fd = mkstemp(path.data());
  check(fd >= 0, "mkstemp");
  FILE* f = fdopen(fd, "w");
  check(f != nullptr, "fdopen");
  for (X509* c : certs) PEM_write_X509(f, c);
  std::fclose(f);
  return path;
}

SSL_CTX* make_server_ctx(X509* cert, EVP_PKEY* key, const std::vector<X509*>& chain) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  check(ctx != nullptr, "SSL_CTX_new");
  SSL_CTX_set_security_level(ctx, 0);  // the test decides what the server accepts
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  check(SSL_CTX_use_certificate(ctx, cert) == 1, "SSL_CTX_use_certificate");
  check(SSL_CTX_use_PrivateKey(ctx, key) == 1, "SSL_CTX_use_PrivateKey");
  for (X509* c : chain) {
    X509_up_ref(c);
    check(SSL_CTX_add_extra_chain_cert(ctx, c) == 1, "SSL_CTX_add_extra_chain_cert");
  }
  return ctx;
}

namespace {

bool finished_or_failed(SSL* ssl, bool& ok, bool& failed, int& error) {
  if (ok || failed) return true;
  ERR_set_mark();
  const int r = SSL_do_handshake(ssl);
  if (r == 1) {
    ok = true;
    ERR_pop_to_mark();
    return true;
  }
  error = SSL_get_error(ssl, r);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    ERR_pop_to_mark();
    return false;
  }
  ERR_clear_last_mark();
  failed = true;
  return true;
}

}  // namespace

handshake_result run_handshake(SSL* client, SSL* server) {
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  check(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1, "BIO_new_bio_pair");
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);

  handshake_result out;
  bool client_failed = false, server_failed = false;
  int server_error = 0;
  for (int round = 0; round < 50; ++round) {
    const bool c = finished_or_failed(client, out.client_ok, client_failed, out.client_error);
    // The client's errors stay in the queue for classify_handshake_failure: once it has failed,
    // the server must not run (OpenSSL clears the queue when a handshake step starts).
    if (client_failed) break;
    ERR_set_mark();
    const bool s = finished_or_failed(server, out.server_ok, server_failed, server_error);
    ERR_pop_to_mark();
    if (server_failed && !out.client_ok) {
      // The server gave up (its alert is in the pipe): let the client read it.
      finished_or_failed(client, out.client_ok, client_failed, out.client_error);
      if (!client_failed && !out.client_ok) {
        // No alert ended the client's handshake: the server has closed, so close the pipe.
        BIO_shutdown_wr(server_bio);
        finished_or_failed(client, out.client_ok, client_failed, out.client_error);
        out.client_eof = true;
      }
      break;
    }
    if (c && s) break;
  }
  return out;
}

handshake_result run_against_bytes(SSL* client, const std::string& reply) {
  BIO* client_bio = nullptr;
  BIO* peer_bio = nullptr;
  check(BIO_new_bio_pair(&client_bio, 0, &peer_bio, 0) == 1, "BIO_new_bio_pair");
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_connect_state(client);
  handshake_result out;
  bool failed = false;
  finished_or_failed(client, out.client_ok, failed, out.client_error);  // sends the ClientHello
  std::string sink(4096, '\0');
  while (BIO_read(peer_bio, sink.data(), static_cast<int>(sink.size())) > 0) {
  }
  if (!reply.empty()) BIO_write(peer_bio, reply.data(), static_cast<int>(reply.size()));
  BIO_shutdown_wr(peer_bio);
  out.client_eof = reply.empty();
  finished_or_failed(client, out.client_ok, failed, out.client_error);
  BIO_free(peer_bio);
  return out;
}

}  // namespace postern::tls::test
