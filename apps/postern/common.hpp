#pragma once
// Shared pieces of the postern command line: errors before any network work, argument
// parsing helpers, and how findings print. The CLI uses only the library's public headers.
#include <sysexits.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
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


/** One subcommand: registered on the app, run when parsed. */
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

command add_send_command(CLI::App& app);
command add_doctor_command(CLI::App& app);
command add_tls_profile_command(CLI::App& app);

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
