#pragma once
// The client families of the compatibility matrix, each as a tls::policy offering exactly
// that client's default versions, suites, groups and signature schemes.
#include <string>
#include <vector>

#include "postern/tls/policy.hpp"

namespace postern::probe {

struct client_family {
  std::string id;           ///< JSON "family": rustls, go, openssl, python, java17, node, postern-*
  std::string description;  ///< "rustls 0.23 (default provider)"
  tls::policy policy;
};

/** All families, in the order the matrix shows them. */
const std::vector<client_family>& client_families();

}  // namespace postern::probe
