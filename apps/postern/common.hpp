#pragma once
// Shared pieces of the postern command line: errors before any network work, argument
// parsing helpers, and how findings print. The CLI uses only the library's public headers.
#include <sysexits.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "postern/diagnose/finding.hpp"

namespace postern::cli {

using json = nlohmann::json;

/** A failure before any network work: bad flags, unreadable input. Printed as `postern: error [code]: text`. */
struct usage_error {
  std::string code;  // DESIGN.md cause or "usage" / "input"
  std::string text;
  int exit_code;
};


/** Everything `postern send` can be told; sendmail mode and accounts fill the same fields. */
struct send_args {
  std::string server;                  ///< HOST[:PORT]
  bool tls = false, starttls = false, plain = false;   ///< none of them: automatic routing
  bool auto_route = false;             ///< --auto (also implied when no mode is given)
  std::string profile = "strict";
  std::vector<std::string> allow;      ///< --allow compat|legacy (weaker profiles auto routing may use)
  std::string from;
  std::vector<std::string> to;
  std::string subject, text;
  bool have_subject = false, have_text = false;
  std::vector<std::string> files;
  std::optional<std::string> message_data;   ///< the message itself (sendmail mode read it from stdin)
  std::string ca_file, tls_name;
  bool insecure = false;
  double timeout = 0;
  std::string user, password_file, password_command, auth;
  bool allow_plaintext_auth = false;
  std::string ehlo;
  std::string ports;                   ///< "465,587,25"
  std::string state_file;              ///< host memory (SQLite); "" = $XDG_STATE_HOME/postern/hosts.sqlite
  bool accept_downgrade = false;
  bool json = false, verbose = false;
};

/** Runs a send as `postern send` does (routing, memory, diagnosis, output); returns the exit code. */
int run_send(const send_args& a);

/** One subcommand: registered on the app, run when parsed. */
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

command add_send_command(CLI::App& app);
command add_doctor_command(CLI::App& app);
command add_tls_profile_command(CLI::App& app);
command add_probe_command(CLI::App& app);

/** "host", "host:port", "[v6]:port"; port 0 when absent. */
std::pair<std::string, std::uint16_t> split_server(const std::string& s);
/** "465,587,25" */
std::vector<std::uint16_t> parse_ports(const std::string& list);
/** Reads all of a stream. */
std::string read_stream(std::istream& in);

json findings_json(const std::vector<diagnose::finding>& findings);
/** Findings with evidence (brief: only the first three remedies, no evidence). */
void print_findings(std::ostream& out, const std::vector<diagnose::finding>& findings, bool brief);

}  // namespace postern::cli
