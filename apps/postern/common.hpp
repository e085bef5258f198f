#pragma once
// Shared pieces of the postern command line: errors before any network work, argument
// parsing helpers, and how findings print. The CLI uses only the library's public headers.
#include <sysexits.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "postern/client/submit.hpp"
#include "postern/diagnose/finding.hpp"
#include "postern/dkim/sign.hpp"
#include "postern/net/proxy.hpp"
#include "postern/plan/accounts.hpp"

namespace postern::cli {

using json = nlohmann::json;

/** A failure before any network work: bad flags, unreadable input. Printed as `postern: error [code]: text`.
 */
struct usage_error {
  std::string code;  // DESIGN.md cause or "usage" / "input"
  std::string text;
  int exit_code;
};

/** Everything `postern send` can be told; sendmail mode and accounts fill the same fields. */
struct send_args {
  std::string server;                                 ///< HOST[:PORT]
  bool tls = false, starttls = false, plain = false;  ///< none of them: automatic routing
  bool auto_route = false;                            ///< --auto (also implied when no mode is given)
  std::string profile = "strict";
  std::vector<std::string> allow;  ///< --allow compat|legacy (weaker profiles auto routing may use)
  std::string from;
  std::vector<std::string> to;
  std::string subject, text;
  bool have_subject = false, have_text = false;
  // Message building (docs/messages.md): any of these builds a MIME message instead of sending files.
  std::string text_file, html, html_file;
  bool have_html = false;
  std::vector<std::string> attach, inline_parts;  ///< "FILE;type=T;name=N", "FILE;cid=ID"
  std::vector<std::string> cc, bcc, reply_to;
  std::vector<std::string> headers;  ///< "Name: value"
  // DSN (RFC 3461) and CHUNKING (RFC 3030)
  std::string dsn_notify, dsn_ret, dsn_envid;
  bool require_dsn = false;
  bool no_chunking = false;
  std::vector<std::string> files;
  std::optional<std::string> message_data;  ///< the message itself (sendmail mode read it from stdin)
  std::string ca_file, tls_name;
  std::string client_cert, client_key;  ///< PEM client certificate and key ("" = none / in the certificate)
  bool insecure = false;
  double timeout = 0;
  std::string user, password_file, password_command, auth;
  bool allow_plaintext_auth = false;
  std::string ehlo;
  std::string ports;            ///< "465,587,25"
  std::string proxy;            ///< --proxy URL (docs/proxy.md)
  bool proxy_from_env = false;  ///< --proxy-from-env: ALL_PROXY when --proxy is not given
  std::string state_file;       ///< host memory (SQLite); "" = $XDG_STATE_HOME/postern/hosts.sqlite
  bool accept_downgrade = false;
  bool json = false, verbose = false;
  // DKIM (dkim_command.cpp): --dkim-* flags or the account's dkim-* settings; "" = not given.
  std::string dkim_domain, dkim_selector, dkim_key, dkim_canon, dkim_headers;
  // The durable queue (queue_command.cpp, docs/queue.md).
  std::string queue_mode;      ///< "on-failure", "always", "never" or "" (never): --queue, the account's `queue`
  std::string queue_location;  ///< --queue=FILE|URL, the account's `queue-location`; "" = the default
  std::string account_name;    ///< the account used, recorded with a queued message
  std::string origin;          ///< who queues: "send", "sendmail"
};

/** The server, route, TLS, auth, proxy and memory options of send and bulk (request.cpp); also -v. */
void add_connection_options(CLI::App& cmd, send_args& a);
/** The library request for @p a without its messages; reads the password. Throws usage_error for
    flags that do not go together. */
client::request make_request(const send_args& a);
/** How the queue delivers @p q later (queue::to_delivery_json): the password is never stored,
    only where @p a says it comes from (file, command, else $POSTERN_PASSWORD of the worker). */
std::string delivery_json(const client::request& q, const send_args& a);

/** Runs a send as `postern send` does (routing, memory, diagnosis, output); returns the exit code. */
int run_send(const send_args& a);

/** One subcommand: registered on the app, run when parsed. */
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

command add_send_command(CLI::App& app);
command add_bulk_command(CLI::App& app);  ///< `postern bulk`: a manifest over a pool of connections
command add_doctor_command(CLI::App& app);
command add_tls_profile_command(CLI::App& app);
command add_probe_command(CLI::App& app);
command add_hosts_command(CLI::App& app);     ///< `postern hosts`: the host memory
command add_accounts_command(CLI::App& app);  ///< `postern accounts`: the accounts of the config file
command add_watch_command(CLI::App& app);     ///< `postern watch`: what changed on watched servers
command add_dkim_command(CLI::App& app);      ///< `postern dkim keygen`
command add_relay_command(CLI::App& app);     ///< `postern relay`: SMTP server feeding the queue
command add_queue_command(CLI::App& app);     ///< `postern queue`: the durable queue

// -- the queue for send and sendmail mode (queue_command.cpp, docs/queue.md) -------------------

/** DKIM-signs @p q's messages now and clears q.dkim, so the queued bytes are the bytes sent. */
void sign_for_queue(client::request& q);
/**
 * With a.queue_mode "always": queues every message of @p q and returns 0. With "on-failure" and a
 * @p failed submission: queues the messages that failed temporarily; returns 0 when nothing else
 * is left to report, nullopt when the caller reports (a success, or permanent failures).
 */
std::optional<int> send_through_queue(const send_args& a, client::request& q, const client::report* failed);

// -- DKIM for send and sendmail mode (dkim_command.cpp, docs/dkim.md) --------------------------

/** --dkim-domain, --dkim-selector, --dkim-key, --dkim-canon, --dkim-headers on @p cmd. */
void add_dkim_options(CLI::App& cmd, send_args& a);
/** The signing options the dkim_* fields ask for; nullopt when none is set. Throws usage_error
 * (dkim.bad-options, EX_USAGE) for an incomplete set, a bad --dkim-canon or --dkim-headers. */
std::optional<dkim::signing_options> dkim_options_of(const send_args& a);

// -- accounts (accounts_cli.cpp, docs/config.md) ----------------------------------------------

/** Which send_args fields the command line set: those win over the account's. */
struct explicit_flags {
  bool server = false, mode = false, profile = false, allow = false, from = false, user = false,
       password = false, auth = false, ca_file = false, tls_name = false, ports = false, ehlo = false,
       timeout = false, client_cert = false, proxy = false;
};
/** Fills @p a from @p acc, except the fields in @p given (mode tls/starttls/plain/auto; server =
 * host[:port]). */
void apply_account(send_args& a, const plan::account& acc, const explicit_flags& given);

/** The config file: where it is (or would be), and its accounts when it exists. */
struct loaded_config {
  std::string path;
  std::optional<plan::config> config;  ///< nullopt: no file
};
/**
 * Reads @p path ("" = plan::default_config_path()). A missing file is nullopt unless @p required;
 * unreadable or malformed files throw usage_error{"config", "PATH line N: ...", EX_CONFIG}.
 */
loaded_config load_config(const std::string& path, bool required);

/** `--account NAME` and `--config FILE` of `postern send`. */
struct account_options {
  std::string account, config;
};
/** Adds --account/--config to @p cmd (postern send). */
std::shared_ptr<account_options> add_account_options(CLI::App& cmd);
/**
 * Before run_send: applies --account NAME (or, without it and without --server, the config's
 * default account) to @p a; options given on @p cmd's command line win. Then requires a server
 * and a sender (unless !need_from: bulk manifests name theirs). Throws usage_error (EX_CONFIG for config
 * problems, EX_USAGE for missing flags).
 */
void apply_account_options(const account_options& o, CLI::App& cmd, send_args& a, bool need_from = true);

// -- sendmail-compatible mode (sendmail_mode.cpp) ---------------------------------------------

/** True when argv[0]'s name is "sendmail" or argv[1] is a sendmail flag (-t, -i, -oi, -f…). */
bool is_sendmail_invocation(int argc, char** argv);
/** `sendmail [-t] [-i] [-f FROM] [-a ACCOUNT] [-C FILE] [--] [recipients…] < message`; sysexits code. */
int run_sendmail_mode(int argc, char** argv);

/** "host", "host:port", "[v6]:port"; port 0 when absent. */
std::pair<std::string, std::uint16_t> split_server(const std::string& s);
/** --proxy URL and --proxy-from-env on @p cmd (send, doctor, probe). */
void add_proxy_options(CLI::App& cmd, std::string& url, bool& from_env);
/**
 * The proxy to use: @p url when given, else (only with @p from_env) all_proxy / ALL_PROXY, else
 * none. Throws usage_error for a bad URL (EX_USAGE) or a bad variable (EX_CONFIG).
 */
std::optional<net::proxy> resolve_proxy(const std::string& url, bool from_env);
/** "465,587,25" */
std::vector<std::uint16_t> parse_ports(const std::string& list);
/** Reads all of a stream. */
std::string read_stream(std::istream& in);

/** One transcript line on stderr: "> " client, "< " server, "* " postern (send -v, bulk -v). */
void print_transcript_event(const smtp::transcript_event& e);

json findings_json(const std::vector<diagnose::finding>& findings);
/** Findings with evidence (brief: only the first three remedies, no evidence). */
void print_findings(std::ostream& out, const std::vector<diagnose::finding>& findings, bool brief);

}  // namespace postern::cli
