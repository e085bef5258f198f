// sendmail-compatible mode: `postern -t -i [-f FROM] [recipients...] < message`, or any
// invocation through a link named `sendmail`. Flags as sendmail, Postfix and msmtp accept them,
// so that git send-email, cron, mutt and mail(1) can use postern; the server comes from an
// account of the config file (docs/config.md). Exit codes are sysexits.h, as sendmail's.
#include <chrono>
#include <cstring>
#include <iostream>
#include <streambuf>
#include <string_view>

#include "common.hpp"
#include "postern/mime/addresses.hpp"
#include "postern/mime/message.hpp"
#include "postern/version.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view usage_text =
    "usage: sendmail [-t] [-i] [-f FROM] [-a ACCOUNT] [-C FILE] [-v] [--] [RECIPIENT...] < message\n"
    "  -t            recipients from To, Cc and Bcc (plus any given); Bcc is removed before sending\n"
    "  -i, -oi       a line with a lone '.' does not end the message (always so: stdin is read to its end)\n"
    "  -f, -r FROM   envelope sender (default: the account's from, else the From: header)\n"
    "  -a, --account NAME   account of the config file (default: its default account)\n"
    "  -C, --config FILE    config file instead of $XDG_CONFIG_HOME/postern/config\n"
    "  -v            print the SMTP transcript on stderr\n"
    "  -N DSN        delivery status notifications: never, or success,failure,delay (RFC 3461)\n"
    "  -R RET        DSN: return full or hdrs;  -V ID: DSN envelope ID\n"
    "  ignored for compatibility: -F NAME, -oX..., -bm, -B TYPE, -L TAG, -h N, -O "
    "OPT,\n"
    "  -X FILE, -G, -U, -n, -m\n"
    "postern's own commands: postern --help\n";

// Flags without a value, and flags whose value follows (attached or as the next argument).
constexpr std::string_view plain_flags = "tivGUnm";
constexpr std::string_view value_flags = "frFCaBNRVLhOX";

struct sendmail_args {
  bool extract = false;  // -t
  bool verbose = false;
  std::optional<std::string> sender;  // -f / -r
  std::string account, config;
  std::vector<std::string> recipients;
  std::string dsn_notify, dsn_ret, dsn_envid;  // -N, -R, -V
};

usage_error bad_usage(std::string text) { return usage_error{"usage", std::move(text), EX_USAGE}; }

sendmail_args parse(int argc, char** argv) {
  sendmail_args s;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    // Options may follow recipients (GNU getopt permutes, as msmtp's and Postfix' do); "--" ends them.
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      s.recipients.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    auto next_value = [&](std::string_view flag) -> std::string {
      if (i + 1 >= argc) throw bad_usage(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (arg.starts_with("--")) {
      const auto eq = arg.find('=');
      const std::string_view name = arg.substr(0, eq);
      auto value = [&] {
        return eq == std::string_view::npos ? next_value(name) : std::string(arg.substr(eq + 1));
      };
      if (name == "--account") {
        s.account = value();
      } else if (name == "--config") {
        s.config = value();
      } else if (name == "--verbose") {
        s.verbose = true;
      } else if (name == "--read-recipients") {
        s.extract = true;
      } else if (name == "--help") {
        std::cout << usage_text;
        throw usage_error{"", "", 0};
      } else if (name == "--version") {
        std::cout << "postern " POSTERN_VERSION " (sendmail-compatible mode)\n";
        throw usage_error{"", "", 0};
      } else {
        throw bad_usage("unknown option " + std::string(name) + " (sendmail mode; see sendmail --help)");
      }
      continue;
    }
    // A cluster of one-letter flags, getopt style: "-ti", "-fme@x", "-oi", "-bm".
    for (std::size_t k = 1; k < arg.size(); ++k) {
      const char f = arg[k];
      if (plain_flags.find(f) != std::string_view::npos) {
        if (f == 't') s.extract = true;
        if (f == 'v') s.verbose = true;
        continue;  // -i: stdin is read to its end anyway; -G -U -n -m: meaningless here
      }
      if (f == 'o') {
        // -oi, -oem, -odi, -oXvalue: sendmail.cf options; none changes what postern does.
        if (k + 1 == arg.size()) next_value("-o");
        break;
      }
      if (f == 'b') {
        const std::string mode = k + 1 < arg.size() ? std::string(arg.substr(k + 1)) : next_value("-b");
        if (mode != "m")
          throw bad_usage("-b" + mode + " is not supported: postern's sendmail mode only sends (-bm)");
        break;
      }
      if (value_flags.find(f) != std::string_view::npos) {
        const std::string flag{'-', f};
        const std::string v = k + 1 < arg.size() ? std::string(arg.substr(k + 1)) : next_value(flag);
        if (f == 'f' || f == 'r') s.sender = v;
        if (f == 'a') s.account = v;
        if (f == 'C') s.config = v;
        if (f == 'N') s.dsn_notify = v;
        if (f == 'R') s.dsn_ret = v;
        if (f == 'V') s.dsn_envid = v;
        break;  // the rest of the argument was the value
      }
      throw bad_usage(std::string("unknown option -") + f + " (sendmail mode; see sendmail --help)");
    }
  }
  return s;
}

// A command-line address as given ("a@x"), or the addr-spec of "Name <a@x>".
std::vector<std::string> command_line_addresses(const std::string& arg) {
  auto parsed = mime::parse_address_list(arg);
  if (!parsed.empty()) return parsed;
  if (arg.empty() || arg.find_first_of(" \t\r\n<>,") != std::string::npos)
    throw bad_usage("bad recipient '" + arg + "'");
  return {arg};  // a local name such as "root": the server decides
}

// "\r\n" if the message's first line ends so (or it has no line end), else "\n".
std::string_view line_end_of(std::string_view m) {
  const auto lf = m.find('\n');
  return lf == std::string_view::npos || (lf > 0 && m[lf - 1] == '\r') ? "\r\n" : "\n";
}

// Discards std::cout while alive: sendmail is silent on success (cron mails any output).
class quiet_stdout {
 public:
  explicit quiet_stdout(bool active) : saved_(active ? std::cout.rdbuf(&null_) : nullptr) {}
  ~quiet_stdout() {
    if (saved_) std::cout.rdbuf(saved_);
  }
  quiet_stdout(const quiet_stdout&) = delete;
  quiet_stdout& operator=(const quiet_stdout&) = delete;

 private:
  struct null_buffer : std::streambuf {
    int overflow(int c) override { return c; }
  } null_;
  std::streambuf* saved_;
};

int run(int argc, char** argv) {
  sendmail_args s = parse(argc, argv);
  std::vector<std::string> rcpts;
  for (const auto& r : s.recipients) mime::append_unique(rcpts, command_line_addresses(r));
  if (!s.extract && rcpts.empty())
    throw bad_usage("no recipients: give them as arguments, or -t to take them from To, Cc and Bcc");

  // The account before the message: a missing config is reported without waiting for stdin.
  const auto loaded = load_config(s.config, !s.config.empty());
  const std::string where = loaded.path.empty() ? "~/.config/postern/config" : loaded.path;
  if (!loaded.config)
    throw usage_error{"config", "no account: create " + where + " (see docs/config.md)", EX_CONFIG};
  const plan::account* acc = nullptr;
  if (!s.account.empty()) {
    acc = loaded.config->find(s.account);
    if (!acc) throw usage_error{"config", "no account '" + s.account + "' in " + where, EX_CONFIG};
  } else {
    acc = loaded.config->default_one();
    if (!acc)
      throw usage_error{"config", "no default account in " + where + ": add 'default NAME' or use -a NAME",
                        EX_CONFIG};
  }

  std::string message = read_stream(std::cin);
  if (message.empty()) throw usage_error{"input", "the message on standard input is empty", EX_DATAERR};

  if (s.extract) {
    // Resent-* fields, when present, name the recipients of this (re)sending (RFC 5322 §3.6.6).
    const bool resent = mime::has_header(message, "Resent-To") || mime::has_header(message, "Resent-Cc") ||
                        mime::has_header(message, "Resent-Bcc");
    auto from_headers = resent ? mime::header_addresses(message, {"Resent-To", "Resent-Cc", "Resent-Bcc"})
                               : mime::header_addresses(message, {"To", "Cc", "Bcc"});
    mime::append_unique(from_headers, rcpts);
    rcpts = std::move(from_headers);
    if (rcpts.empty())
      throw bad_usage("no recipients: the message has no To, Cc or Bcc addresses and none were given");
  }
  // Blind copies stay blind, with or without -t (as Postfix and msmtp do).
  message = mime::remove_header(mime::remove_header(message, "Bcc"), "Resent-Bcc");

  std::string sender;
  if (s.sender) {
    // "-f '<>'" or "-f ''" is the null sender (bounces); "Name <a@x>" is reduced to a@x.
    auto parsed = mime::parse_address_list(*s.sender);
    sender = !parsed.empty() ? parsed.front() : *s.sender == "<>" ? std::string() : *s.sender;
  } else if (!acc->from.empty()) {
    sender = acc->from;
  } else {
    for (const auto& v : mime::header_values(message, "From")) {
      auto parsed = mime::parse_address_list(v);
      if (!parsed.empty()) {
        sender = parsed.front();
        break;
      }
    }
    if (sender.empty())
      throw bad_usage("no envelope sender: give -f ADDRESS, set 'from' in account '" + acc->name +
                      "', or put a From: field in the message");
  }

  // RFC 5322 requires Date (and wants Message-ID); a submission agent may add them (RFC 6409 §8).
  const std::string_view eol = line_end_of(message);
  std::string added;
  if (!mime::has_header(message, "Date"))
    added += "Date: " + mime::format_date(std::chrono::system_clock::now()) + std::string(eol);
  if (!mime::has_header(message, "Message-ID"))
    added +=
        "Message-ID: " + mime::generate_message_id(sender.empty() ? acc->from : sender) + std::string(eol);
  message.insert(0, added);

  send_args a;
  apply_account(a, *acc, explicit_flags{});
  a.from = sender;
  a.to = std::move(rcpts);
  a.message_data = std::move(message);
  a.verbose = s.verbose;
  a.dsn_notify = s.dsn_notify;
  a.dsn_ret = s.dsn_ret;
  a.dsn_envid = s.dsn_envid;
  a.origin = "sendmail";
  quiet_stdout quiet(!s.verbose);
  return run_send(a);
}

bool is_sendmail_flag(std::string_view a) {
  if (a == "--" || a == "--account" || a == "--config" || a.starts_with("--account=") ||
      a.starts_with("--config="))
    return true;
  if (a.size() < 2 || a[0] != '-' || a[1] == '-') return false;
  // -t -i -oi -bm -v, -fFROM / -f FROM, -rFROM, -FNAME, -oX, -BTYPE, -NDSN, -CFILE, -aNAME
  return std::string_view("tivoFfrbBNCa").find(a[1]) != std::string_view::npos && a != "-h";
}

}  // namespace

bool is_sendmail_invocation(int argc, char** argv) {
  if (argc >= 1 && argv[0]) {
    std::string_view name = argv[0];
    if (const auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
    if (name == "sendmail") return true;
  }
  return argc >= 2 && is_sendmail_flag(argv[1]);
}

int run_sendmail_mode(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const usage_error& e) {
    if (e.exit_code == 0 && e.code.empty()) return 0;  // --help, --version
    std::cerr << "postern: error [" << e.code << "]: " << e.text << "\n";
    return e.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "postern: error [internal]: " << e.what() << "\n";
    return EX_SOFTWARE;
  }
}

}  // namespace postern::cli
