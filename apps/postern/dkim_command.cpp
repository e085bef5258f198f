// DKIM on the command line (docs/dkim.md): the --dkim-* flags of `postern send` (and the
// account's dkim-* settings, which sendmail mode uses), and `postern dkim keygen`.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "common.hpp"
#include "postern/dkim/sign.hpp"

namespace postern::cli {
namespace {

usage_error dkim_usage(std::string text) {
  return usage_error{"dkim.bad-options", std::move(text), EX_USAGE};
}

// "from:to: subject" -> {"from", "to", "subject"}
std::vector<std::string> split_headers(const std::string& list) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const auto colon = list.find(':', pos);
    std::string name = list.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    const auto b = name.find_first_not_of(" \t");
    const auto e = name.find_last_not_of(" \t");
    name = b == std::string::npos ? std::string() : name.substr(b, e - b + 1);
    if (name.empty())
      throw dkim_usage("--dkim-headers '" + list + "' has an empty name (names separated by ':')");
    out.push_back(std::move(name));
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return out;
}

// Writes @p data to a new file readable by its owner only; an existing file is never replaced
// (it may be the key a DNS record already publishes).
void write_private_file(const std::string& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    throw usage_error{
        "input",
        "cannot create " + path + ": " + std::strerror(err) +
            (err == EEXIST ? " (postern never overwrites a key; remove it or choose --out)" : ""),
        err == EEXIST ? EX_CANTCREAT : EX_IOERR};
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(path.c_str());
      throw usage_error{"input", "cannot write " + path, EX_IOERR};
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw usage_error{"input", "cannot write " + path, EX_IOERR};
}

}  // namespace

void add_dkim_options(CLI::App& cmd, send_args& a) {
  cmd.add_option("--dkim-domain", a.dkim_domain,
                 "sign with DKIM for this domain (d=; needs --dkim-selector, --dkim-key)");
  cmd.add_option("--dkim-selector", a.dkim_selector,
                 "DKIM selector: the key is at SELECTOR._domainkey.DOMAIN");
  cmd.add_option("--dkim-key", a.dkim_key, "PEM private key for DKIM (RSA >= 1024 bits, or Ed25519)");
  cmd.add_option(
      "--dkim-canon", a.dkim_canon,
      "DKIM canonicalisation HEADER/BODY: relaxed/relaxed (default), simple/simple, relaxed/simple, "
      "simple/relaxed");
  cmd.add_option("--dkim-headers", a.dkim_headers,
                 "header fields to sign, 'from:to:subject' (repeat a name to oversign it; default: the usual "
                 "ones present, From oversigned)");
}

std::optional<dkim::signing_options> dkim_options_of(const send_args& a) {
  const bool any = !a.dkim_domain.empty() || !a.dkim_selector.empty() || !a.dkim_key.empty() ||
                   !a.dkim_canon.empty() || !a.dkim_headers.empty();
  if (!any) return std::nullopt;
  if (a.dkim_domain.empty() || a.dkim_selector.empty() || a.dkim_key.empty())
    throw dkim_usage(
        "DKIM signing needs --dkim-domain, --dkim-selector and --dkim-key together (or the account's "
        "dkim-domain, dkim-selector, dkim-key)");
  dkim::signing_options o;
  o.domain = a.dkim_domain;
  o.selector = a.dkim_selector;
  o.key_file = a.dkim_key;
  if (!a.dkim_canon.empty()) {
    const auto c = dkim::parse_canonicalization(a.dkim_canon);
    if (!c)
      throw dkim_usage("--dkim-canon '" + a.dkim_canon +
                       "': relaxed/relaxed, simple/simple, relaxed/simple or simple/relaxed");
    o.canon = *c;
  }
  if (!a.dkim_headers.empty()) o.headers = split_headers(a.dkim_headers);
  return o;
}

command add_dkim_command(CLI::App& app) {
  struct keygen_args {
    std::string selector, domain, type = "rsa", out;
    unsigned bits = 2048;
  };
  auto k = std::make_shared<keygen_args>();
  auto* dkim_cmd = app.add_subcommand("dkim", "DKIM keys (docs/dkim.md)");
  dkim_cmd->require_subcommand(1);
  auto* keygen = dkim_cmd->add_subcommand(
      "keygen", "write a new DKIM private key (mode 0600) and print the DNS TXT record to publish");
  keygen->add_option("--selector", k->selector, "the selector (s=)")->required();
  keygen->add_option("--domain", k->domain, "the signing domain (d=)")->required();
  keygen->add_option("--type", k->type, "rsa (default) or ed25519")->check(CLI::IsMember({"rsa", "ed25519"}));
  keygen->add_option("--bits", k->bits, "RSA key size (default 2048; 1024 to 8192)");
  keygen->add_option("--out", k->out, "private key file (default SELECTOR.DOMAIN.pem; never overwritten)");
  return {
      dkim_cmd, [k, keygen] {
        if (!dkim::valid_domain(k->domain))
          throw dkim_usage("--domain '" + k->domain + "' is not a domain name");
        if (!dkim::valid_domain(k->selector))
          throw dkim_usage("--selector '" + k->selector + "' is not a DNS name (letters, digits, '-', '.')");
        const bool ed = k->type == "ed25519";
        if (ed && keygen->count("--bits"))
          throw dkim_usage("--bits is for RSA keys; Ed25519 keys have one size");
        if (!ed && (k->bits < 1024 || k->bits > 8192))
          throw usage_error{"dkim.key-too-small",
                            "--bits " + std::to_string(k->bits) + ": DKIM RSA keys have 1024 to 8192 bits",
                            EX_USAGE};
        const auto key = dkim::generate_key(ed ? dkim::key_type::ed25519 : dkim::key_type::rsa, k->bits);
        const std::string out = k->out.empty() ? k->selector + "." + k->domain + ".pem" : k->out;
        write_private_file(out, key.private_pem);
        if (!ed && k->bits < 2048)
          std::cerr << "postern: warning [dkim.key-weak]: " << k->bits
                    << "-bit RSA; RFC 8301 asks for at least 2048\n";
        std::cerr << "postern: wrote the private key to " << out << " (mode 0600); publish this record:\n";
        std::cout << dkim::dns_txt_line(k->selector, k->domain, dkim::key_record(key)) << "\n";
        return 0;
      }};
}

}  // namespace postern::cli
