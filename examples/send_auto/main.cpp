// send_auto: sends the message on stdin with postern's automatic secure-first routing and
// prints the library's report as JSON (the object `postern send --json` prints).
// --threads N: N threads call submit() at once, each with its own copy, sharing one host
// memory; the reports are printed as a JSON array in thread order.
//
//   send_auto --server HOST[:PORT] --from A --to B [--to C] [--ca-file F] [--tls-name N]
//             [--state FILE] [--allow compat|legacy] [--ports LIST] [--threads N]
//             [--user U] [--transcript] < message.eml
// --user U: SMTP AUTH; the password is read from $SEND_AUTO_PASSWORD by a secret provider, each
// time a connection needs it. --transcript: the SMTP conversation on stderr as it happens.
//
// Exit code: the (first failed) report's, sysexits.h; 64 for bad arguments.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <optional>
#include <postern/client/submit.hpp>
#include <postern/version.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  postern::client::request q;
  postern::smtp::envelope env;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--transcript") {  // credentials arrive here already redacted
      q.on_transcript = [](const postern::smtp::transcript_event& e) {
        using who = postern::smtp::transcript_event::who;
        std::cerr << (e.from == who::client ? "> " : e.from == who::server ? "< " : "* ") << e.text << "\n";
      };
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "send_auto: " << flag << " needs a value\n";
      return 64;
    }
    const std::string value = argv[++i];
    if (flag == "--server") {
      const auto colon = value.rfind(':');
      q.host = colon == std::string::npos ? value : value.substr(0, colon);
      if (colon != std::string::npos) q.port = static_cast<std::uint16_t>(std::stoi(value.substr(colon + 1)));
    } else if (flag == "--from") {
      env.mail_from = value;
    } else if (flag == "--to") {
      env.rcpt_to.push_back(value);
    } else if (flag == "--ca-file") {
      q.tls.ca_file = value;
    } else if (flag == "--tls-name") {
      q.tls.tls_name = value;
    } else if (flag == "--state") {
      q.memory.path = value;
    } else if (flag == "--user") {
      q.auth = postern::client::auth_options{};
      q.auth->user = value;
      q.auth->secret_provider = [](const postern::client::secret_request& r) -> std::string {
        std::cerr << "send_auto: password asked for " << r.user << " at " << r.host << ":" << r.port << "\n";
        const char* p = std::getenv("SEND_AUTO_PASSWORD");
        if (!p) throw std::runtime_error("SEND_AUTO_PASSWORD is not set");
        return p;
      };
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--allow") {
      q.route.allow.push_back(value);
    } else if (flag == "--ports") {  // ports automatic routing tries after the given one: "587,25"
      for (std::size_t at = 0; at <= value.size();) {
        const auto comma = std::min(value.find(',', at), value.size());
        q.route.ports.push_back(static_cast<std::uint16_t>(std::stoi(value.substr(at, comma - at))));
        at = comma + 1;
      }
    } else {
      std::cerr << "send_auto (postern " POSTERN_VERSION "): unknown option " << flag << "\n";
      return 64;
    }
  }
  if (q.host.empty() || env.mail_from.empty() || env.rcpt_to.empty()) {
    std::cerr << "usage: send_auto --server HOST[:PORT] --from A --to B [...] < message\n";
    return 64;
  }
  std::string content{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (threads < 1) {
    q.messages.push_back({env, std::move(content)});
    const auto report = postern::client::submit(q);
    std::cout << postern::client::to_json(report) << "\n";
    return report.exit_code();
  }
  std::vector<std::optional<postern::client::report>> reports(threads);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i)
    workers.emplace_back([&, i] {
      auto one = q;  // each thread its own request and message
      one.messages.push_back({env, "X-Send-Thread: " + std::to_string(i) + "\r\n" + content});
      reports[i] = postern::client::submit(one);
    });
  for (auto& w : workers) w.join();
  int rc = 0;
  std::cout << "[";
  for (int i = 0; i < threads; ++i) {
    std::cout << (i ? ",\n" : "\n") << postern::client::to_json(*reports[i]);
    if (rc == 0 && !reports[i]->ok()) rc = reports[i]->exit_code();
  }
  std::cout << "\n]\n";
  return rc;
}
