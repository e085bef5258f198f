#include "diagnose/follow_up.hpp"

#include <algorithm>

namespace postern::diagnose {
namespace {

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::vector<std::string> suites_where(const std::vector<std::string>& from, auto keep) {
  std::vector<std::string> out;
  std::copy_if(from.begin(), from.end(), std::back_inserter(out), keep);
  return out;
}

bool is_aead(const std::string& s) {
  return s.find("_GCM_") != std::string::npos || s.find("CHACHA20") != std::string::npos ||
         s.find("_CCM") != std::string::npos;
}

tls::policy tls12_only(const tls::policy& base, std::string name, std::vector<std::string> suites) {
  tls::policy p = base;
  p.name = std::move(name);
  p.min_version = p.max_version = tls::version::tls1_2;
  p.tls13_suites.clear();
  p.tls12_suites = std::move(suites);
  p.min_dh_bits = 1024;  // to see a weak DHE group rather than fail on it
  return p;
}

std::vector<follow_up> make() {
  const tls::policy& compat = *tls::profile("compat");
  const tls::policy& strict = *tls::profile("strict");
  const tls::policy& legacy = *tls::profile("legacy");
  std::vector<follow_up> out;

  out.push_back(
      {"probe:rsa-kx", "tls.kx.rsa-only",
       tls12_only(compat, "probe:rsa-kx", suites_where(compat.tls12_suites, [](const std::string& s) {
                    return starts_with(s, "TLS_RSA_WITH_");
                  }))});
  out.push_back({"probe:dhe", "tls.kx.dhe-only",
                 tls12_only(compat, "probe:dhe", suites_where(compat.tls12_suites, [](const std::string& s) {
                              return starts_with(s, "TLS_DHE_");
                            }))});
  out.push_back(
      {"probe:ecdhe-cbc", "tls.cipher.cbc-only",
       tls12_only(compat, "probe:ecdhe-cbc", suites_where(compat.tls12_suites, [](const std::string& s) {
                    return starts_with(s, "TLS_ECDHE_") && !is_aead(s);
                  }))});
  {
    // Exactly strict's suites and groups, but only SHA-1 signatures.
    tls::policy p = tls12_only(strict, "probe:sha1-sigalgs", strict.tls12_suites);
    p.signature_schemes = {"rsa_pkcs1_sha1", "ecdsa_sha1"};
    p.min_dh_bits = strict.min_dh_bits;
    out.push_back({"probe:sha1-sigalgs", "tls.sigalg.sha1-only", std::move(p)});
  }
  {
    tls::policy p = legacy;
    p.name = "probe:tls1.0-1.1";
    p.min_version = tls::version::tls1_0;
    p.max_version = tls::version::tls1_1;
    p.tls13_suites.clear();
    out.push_back({"probe:tls1.0-1.1", "tls.version.too-old", std::move(p)});
  }
  return out;
}

}  // namespace

const std::vector<follow_up>& follow_ups() {
  static const std::vector<follow_up> all = make();
  return all;
}

}  // namespace postern::diagnose
