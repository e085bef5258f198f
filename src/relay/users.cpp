// The relay's AUTH users file: `user:hash` lines, checked with crypt(3) from libxcrypt.
#include <crypt.h>
#include <openssl/crypto.h>

#include <fstream>
#include <memory>

#include "postern/relay/relay.hpp"

namespace postern::relay {
namespace {

bool same(const std::string& a, const char* b) {
  std::string_view bv(b);
  return a.size() == bv.size() && CRYPTO_memcmp(a.data(), bv.data(), a.size()) == 0;
}

}  // namespace

users_file::users_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw relay_error("relay.users-file", "cannot read the users file " + path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    std::string where = path + " line " + std::to_string(n);
    if (colon == std::string::npos || colon == 0)
      throw relay_error("relay.users-file", where + ": expected user:hash");
    std::string user = line.substr(0, colon), hash = line.substr(colon + 1);
    // Only a hashing method crypt(3) knows and still deems fit; a plain-text password is not one.
    if (hash.empty() || hash.front() != '$' || crypt_checksalt(hash.c_str()) != CRYPT_SALT_OK)
      throw relay_error(
          "relay.users-file",
          where + ": the password of " + user +
              " is not a crypt(3) hash postern accepts (make one with `mkpasswd -m yescrypt` or "
              "`openssl passwd -6`)");
    users_.emplace_back(std::move(user), std::move(hash));
  }
  if (users_.empty()) throw relay_error("relay.users-file", "the users file " + path + " has no users");
}

bool users_file::check(const std::string& user, const std::string& password) const {
  const std::string* hash = nullptr;
  for (const auto& [u, h] : users_)
    if (u == user) hash = &h;
  // An unknown user costs a hash too, so timing does not tell which users exist.
  const std::string& setting = hash ? *hash : users_.front().second;
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  return hash != nullptr && out != nullptr && out[0] != '*' && same(*hash, out);
}

}  // namespace postern::relay
