// Named accounts (docs/config.md): reading the config file, filling send_args from an account,
// `--account`/`--config` for `postern send`, and `postern accounts`.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "common.hpp"

namespace postern::cli {
namespace {

// "~/..." for messages, when the path is under $HOME.
std::string display_path(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (home && *home && path.rfind(std::string(home) + "/", 0) == 0)
    return "~" + path.substr(std::string(home).size());
  return path;
}

bool given(CLI::App& cmd, const std::string& name) {
  const CLI::Option* o = cmd.get_option_no_throw(name);
  return o && o->count() > 0;
}

std::string server_of(const plan::account& acc) {
  // An IPv6 literal needs brackets before a port can follow it.
  const bool v6 = acc.host.find(':') != std::string::npos && acc.host.front() != '[';
  const std::string host = v6 ? "[" + acc.host + "]" : acc.host;
  return acc.port ? host + ":" + std::to_string(*acc.port) : host;
}

// The account's proxy with the password hidden, or null.
json proxy_of(const plan::account& acc) {
  std::string error;
  const auto p = acc.proxy.empty() ? std::nullopt : net::parse_proxy(acc.proxy, error);
  return p ? json(p->to_string()) : json(nullptr);
}

}  // namespace

void apply_account(send_args& a, const plan::account& acc, const explicit_flags& given) {
  if (!given.server) a.server = server_of(acc);
  if (!given.mode) {
    // No mode, or "auto": the planner routes (secure first).
    a.tls = acc.mode == "tls";
    a.starttls = acc.mode == "starttls";
    a.plain = acc.mode == "plain";
    a.auto_route = acc.mode == "auto";
  }
  if (!given.profile && !acc.tls_profile.empty()) a.profile = acc.tls_profile;
  if (!given.allow && !acc.allow.empty()) a.allow = acc.allow;
  if (!given.from && !acc.from.empty()) a.from = acc.from;
  if (!given.user && !acc.user.empty()) a.user = acc.user;
  if (!given.password) {
    if (!acc.password_command.empty()) a.password_command = acc.password_command;
    if (!acc.password_file.empty()) a.password_file = acc.password_file;
  }
  if (!given.auth && !acc.auth.empty()) a.auth = acc.auth;
  if (!given.ca_file && !acc.ca_file.empty()) a.ca_file = acc.ca_file;
  if (!given.tls_name && !acc.tls_name.empty()) a.tls_name = acc.tls_name;
  // Certificate and key go together: a --client-cert on the command line replaces both.
  if (!given.client_cert && !acc.client_cert.empty()) {
    a.client_cert = acc.client_cert;
    a.client_key = acc.client_key;
  }
  if (!given.ports && !acc.ports.empty()) a.ports = acc.ports;
  if (!given.ehlo && !acc.ehlo.empty()) a.ehlo = acc.ehlo;
  if (!given.timeout && acc.timeout > 0) a.timeout = acc.timeout;
  if (!given.proxy && !acc.proxy.empty()) a.proxy = acc.proxy;
  // The queue (docs/queue.md): --queue on the command line wins.
  if (a.queue_mode.empty()) a.queue_mode = acc.queue;
  if (a.queue_location.empty()) a.queue_location = acc.queue_location;
  a.account_name = acc.name;
  // DKIM: each --dkim-* flag given on the command line wins over the account's setting.
  if (a.dkim_domain.empty()) a.dkim_domain = acc.dkim_domain;
  if (a.dkim_selector.empty()) a.dkim_selector = acc.dkim_selector;
  if (a.dkim_key.empty()) a.dkim_key = acc.dkim_key;
  if (a.dkim_canon.empty()) a.dkim_canon = acc.dkim_canon;
  if (a.dkim_headers.empty()) a.dkim_headers = acc.dkim_headers;
}

loaded_config load_config(const std::string& path_given, bool required) {
  loaded_config out{path_given.empty() ? plan::default_config_path() : path_given, std::nullopt};
  std::error_code ec;
  if (out.path.empty() || !std::filesystem::exists(out.path, ec)) {
    if (required)
      throw usage_error{"config",
                        out.path.empty()
                            ? "no config file: neither XDG_CONFIG_HOME nor HOME is set"
                            : "no config file " + display_path(out.path) + " (see docs/config.md)",
                        EX_CONFIG};
    return out;
  }
  std::ifstream f(out.path, std::ios::binary);
  if (!f) throw usage_error{"config", "cannot read config file " + display_path(out.path), EX_CONFIG};
  std::string error;
  out.config = plan::parse_config(read_stream(f), error);
  if (!out.config) throw usage_error{"config", display_path(out.path) + " " + error, EX_CONFIG};
  return out;
}

std::shared_ptr<account_options> add_account_options(CLI::App& cmd) {
  auto o = std::make_shared<account_options>();
  cmd.add_option("--account", o->account, "use this account of the config file (docs/config.md)");
  cmd.add_option("--config", o->config, "config file instead of $XDG_CONFIG_HOME/postern/config");
  return o;
}

void apply_account_options(const account_options& o, CLI::App& cmd, send_args& a, bool need_from) {
  const bool server_given = given(cmd, "--server");
  // `postern send --server ...` alone never depends on the config file being there or valid.
  if (!o.account.empty() || !o.config.empty() || !server_given) {
    const auto loaded = load_config(o.config, !o.account.empty() || !o.config.empty());
    const plan::account* acc = nullptr;
    if (!o.account.empty()) {
      acc = loaded.config->find(o.account);
      if (!acc)
        throw usage_error{"config",
                          "no account '" + o.account + "' in " + display_path(loaded.path) +
                              " (postern accounts lists them)",
                          EX_CONFIG};
    } else if (loaded.config && !server_given) {
      acc = loaded.config->default_one();
    }
    if (acc) {
      explicit_flags g;
      g.server = server_given;
      g.mode =
          given(cmd, "--tls") || given(cmd, "--starttls") || given(cmd, "--plain") || given(cmd, "--auto");
      g.profile = given(cmd, "--tls-profile");
      g.allow = given(cmd, "--allow");
      g.from = given(cmd, "--from");
      g.user = given(cmd, "--user");
      g.password = given(cmd, "--password-file") || given(cmd, "--password-command");
      g.auth = given(cmd, "--auth");
      g.ca_file = given(cmd, "--ca-file");
      g.tls_name = given(cmd, "--tls-name");
      g.client_cert = given(cmd, "--client-cert") || given(cmd, "--client-key");
      g.ports = given(cmd, "--ports");
      g.ehlo = given(cmd, "--ehlo");
      g.timeout = given(cmd, "--timeout");
      g.proxy = given(cmd, "--proxy");
      apply_account(a, *acc, g);
    }
  }
  if (a.server.empty())
    throw usage_error{"usage",
                      "--server HOST[:PORT] is required (or --account NAME, or a default account in the "
                      "config file, see docs/config.md)",
                      EX_USAGE};
  if (need_from && a.from.empty())
    throw usage_error{"usage", "--from is required (or 'from' in the account)", EX_USAGE};
}

command add_accounts_command(CLI::App& app) {
  auto config = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("accounts", "list the accounts of the config file (* marks the default)");
  cmd->add_option("--config", *config, "config file instead of $XDG_CONFIG_HOME/postern/config");
  cmd->add_flag("--json", *as_json, "print one JSON object");
  return {
      cmd, [config, as_json] {
        const auto loaded = load_config(*config, true);
        const plan::config& cfg = *loaded.config;
        const plan::account* def = cfg.default_one();
        if (*as_json) {
          json j{{"config", loaded.path}, {"default", def ? json(def->name) : json(nullptr)}};
          j["accounts"] = json::array();
          for (const auto& acc : cfg.accounts)
            j["accounts"].push_back({{"name", acc.name},
                                     {"server", server_of(acc)},
                                     {"mode", acc.mode.empty() ? "auto" : acc.mode},
                                     {"tls_profile", acc.tls_profile.empty() ? "strict" : acc.tls_profile},
                                     {"allow", acc.allow},
                                     {"from", acc.from},
                                     {"user", acc.user},
                                     {"proxy", proxy_of(acc)},
                                     {"default", &acc == def}});
          std::cout << j.dump(2) << "\n";
          return 0;
        }
        if (cfg.accounts.empty()) {
          std::cout << "postern: no accounts in " << display_path(loaded.path) << "\n";
          return 0;
        }
        std::size_t name_width = 4, server_width = 6;
        for (const auto& acc : cfg.accounts) {
          name_width = std::max(name_width, acc.name.size());
          server_width = std::max(server_width, server_of(acc).size());
        }
        for (const auto& acc : cfg.accounts) {
          std::string profile = acc.tls_profile.empty() ? "strict" : acc.tls_profile;
          for (std::size_t i = 0; i < acc.allow.size(); ++i) profile += (i ? "," : " (allow ") + acc.allow[i];
          if (!acc.allow.empty()) profile += ")";
          std::cout << (&acc == def ? "* " : "  ") << std::left << std::setw(static_cast<int>(name_width))
                    << acc.name << "  " << std::setw(static_cast<int>(server_width)) << server_of(acc) << "  "
                    << std::setw(8) << (acc.mode.empty() ? "auto" : acc.mode) << "  " << profile;
          if (!acc.from.empty()) std::cout << "  from " << acc.from;
          if (!acc.user.empty()) std::cout << "  user " << acc.user;
          std::cout << "\n";
        }
        return 0;
      }};
}

}  // namespace postern::cli
