#pragma once
/**
 * @file
 * Named accounts: the configuration file `postern send --account NAME` and the
 * sendmail-compatible mode read (docs/config.md). The parser is pure; only
 * default_config_path() looks at the environment.
 *
 *   std::string error;
 *   auto cfg = plan::parse_config("account relay\n  host smtp.example.org\ndefault relay\n", error);
 *   const plan::account* a = cfg ? cfg->default_one() : nullptr;   // a->host == "smtp.example.org"
 */
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::plan {

/** One `account NAME` block, with what `defaults` gave it already applied. Empty = not set. */
struct account {
  std::string name;                   ///< NAME of `account NAME`
  std::string host;                   ///< the server (`host`)
  std::optional<std::uint16_t> port;  ///< `port`; nullopt = the mode's usual port
  std::string mode;                   ///< "tls", "starttls", "plain", "auto"; "" = auto
  std::string tls_profile;            ///< "strict", "compat", "legacy"; "" = strict
  std::vector<std::string>
      allow;         ///< weaker profiles automatic routing may use for this account: compat, legacy
  std::string user;  ///< SMTP AUTH user name (`user`)
  std::string password_command;  ///< shell command whose first output line is the password
  std::string password_file;     ///< file whose first line is the password
  std::string auth;              ///< forced SASL mechanism
  std::string from;              ///< envelope sender (`from`)
  std::string tls_name;          ///< name to verify in the certificate; "" = host
  std::string ca_file;           ///< PEM file of trusted roots instead of the system's
  std::string client_cert;       ///< PEM client certificate (`client-cert`)
  std::string client_key;        ///< its PEM private key (`client-key`); "" = in client_cert
  std::string ports;             ///< "465,587", validated
  std::string ehlo;              ///< the name sent in EHLO (`ehlo`)
  std::string proxy;             ///< a proxy URL (net::parse_proxy accepts it), "" = direct
  double timeout = 0;            ///< seconds per step; 0 = built-in defaults
  std::string dkim_domain;       ///< DKIM signing domain (`dkim-domain`, docs/dkim.md); "" = no signing
  std::string dkim_selector;     ///< DKIM selector (`dkim-selector`)
  std::string dkim_key;          ///< PEM private key file (`dkim-key`)
  std::string dkim_canon;        ///< `dkim-canon`, e.g. "relaxed/relaxed"; "" = relaxed/relaxed
  std::string dkim_headers;      ///< `dkim-headers`, "from:to:subject"; "" = the default list
  std::string queue;           ///< `queue`: "on-failure", "always", "never"; "" = never (docs/queue.md)
  std::string queue_location;  ///< `queue-location`: a queue file or postgresql:// URL; "" = the default
  std::string bounce_to;       ///< `bounce-to`: where bounce messages go ("sender": the envelope sender)
  std::size_t line = 0;          ///< where `account NAME` is, for messages
};

/** A parsed configuration file. */
struct config {
  std::vector<account> accounts;  ///< in file order
  std::string default_account;    ///< from `default NAME`; "" when absent

  /** The account called @p name, or nullptr. */
  const account* find(std::string_view name) const;
  /** The account named by `default NAME`, else one called "default", else nullptr. */
  const account* default_one() const;
};

/**
 * Parses the msmtp-like format of docs/config.md: one setting per line ("key value"), `#`
 * comments (a whole line, or after white space), `defaults` (settings inherited by the accounts
 * that follow), `account NAME`, `default NAME`. A value may be written in double quotes (to keep
 * a `#` or surrounding spaces; \" and \\ inside).
 * @param text  the file's contents
 * @param error set to "line N: what is wrong" when nullopt is returned.
 *
 *   parse_config("account a\n  hots x\n", error);   // nullopt, error == "line 2: unknown key 'hots' (did you
 * mean 'host'?)"
 */
std::optional<config> parse_config(std::string_view text, std::string& error);

/** $XDG_CONFIG_HOME/postern/config, else $HOME/.config/postern/config ("" when neither is set). */
std::string default_config_path();

}  // namespace postern::plan
