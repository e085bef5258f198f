#pragma once
/**
 * @file
 * A proxy to connect through: SOCKS5 (RFC 1928, user name/password per RFC 1929) or
 * HTTP CONNECT. Pure: no Asio, no OpenSSL, no `<expected>` (the URL parser is fuzzed with
 * clang 14). net::stream::connect takes one of these; see docs/proxy.md.
 *
 *   std::string error;
 *   auto p = net::parse_proxy("socks5://alice:s3cret@127.0.0.1:1080", error);
 *   // p->type == net::proxy::kind::socks5, p->host == "127.0.0.1", p->port == 1080
 */
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::net {

/** Where and how to reach a proxy, and the credentials it wants (if any). */
struct proxy {
  /** The proxy protocol. */
  enum class kind {
    socks5,  ///< SOCKS5; the proxy resolves the mail server's name
    http,    ///< HTTP CONNECT
  };
  kind type = kind::socks5;  ///< which protocol the proxy speaks
  std::string host;          ///< name or IP literal (IPv6 without brackets)
  std::uint16_t port = 0;    ///< the proxy's port
  std::string user;          ///< "" = no credentials
  std::string password;      ///< only with user

  /** True when a user name is set (SOCKS5 user/password, HTTP Basic). */
  bool has_credentials() const noexcept { return !user.empty(); }
  /** "socks5://alice:***@127.0.0.1:1080": the password is never shown. */
  std::string to_string() const;
  /** "SOCKS5 proxy 127.0.0.1:1080" or "HTTP proxy [::1]:3128", for messages. */
  std::string describe() const;
};

/**
 * Parses `socks5://[user:pass@]HOST[:PORT]` (socks5h:// is the same thing: postern always lets
 * a SOCKS5 proxy resolve the mail server's name), or `http://[user:pass@]HOST:PORT`. User and
 * password may be percent-encoded. The SOCKS5 port defaults to 1080; HTTP needs one.
 * @param url   the proxy URL
 * @param error set to a plain-words reason when nullopt is returned
 */
std::optional<proxy> parse_proxy(std::string_view url, std::string& error);

/**
 * The proxy named by `all_proxy` (else `ALL_PROXY`) in the environment, or nullopt when
 * neither is set or it is empty. Only call this when the user asked for it (--proxy-from-env):
 * mail must not go through a proxy nobody configured for it.
 * @param error set when the variable is set but is not a proxy URL parse_proxy() accepts;
 *              @p variable is set to the variable's name in every case it is read
 * @param variable set to the name of the variable read ("all_proxy" or "ALL_PROXY")
 */
std::optional<proxy> proxy_from_environment(std::string& error, std::string& variable);

}  // namespace postern::net
