// postern relay: an SMTP server on loopback (or, with TLS and AUTH, on the network) that queues
// what local programs send and delivers it through the account with the queue worker.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "common.hpp"
#include "postern/queue/delivery.hpp"
#include "postern/queue/store.hpp"
#include "postern/queue/worker.hpp"
#include "postern/relay/relay.hpp"

namespace postern::cli {
namespace {

struct relay_args {
  std::vector<std::string> listen, listen_tls;
  std::string tls_cert, tls_key, users, hostname, queue;
  std::size_t max_connections = 100, max_message_size = 32u * 1024 * 1024, max_recipients = 100;
  unsigned max_errors = 10;
  double idle_timeout = 300, session_timeout = 3600, lease = 600;
  bool no_deliver = false;
};

int exit_code_of(const std::string& cause) {
  if (cause == "relay.insecure-listen") return EX_USAGE;
  if (cause == "relay.listen-failed") return EX_OSERR;
  return EX_CONFIG;
}

std::mutex log_mutex;
void log_line(const std::string& line) {
  std::lock_guard lock(log_mutex);
  std::cerr << "postern relay: " << line << std::endl;
}

int run_relay(relay_args& r, send_args& a, const account_options& acct) {
  relay::options o;
  for (const auto& [list, tls] : {std::pair{&r.listen, false}, std::pair{&r.listen_tls, true}})
    for (const auto& text : *list) {
      auto l = relay::parse_listener(text, tls);
      if (!l)
        throw usage_error{"usage",
                          "--listen" + std::string(tls ? "-tls" : "") + " '" + text +
                              "' is not ADDRESS:PORT or [IPv6]:PORT with a numeric address",
                          EX_USAGE};
      o.listeners.push_back(*l);
    }
  if (o.listeners.empty()) o.listeners.push_back(*relay::parse_listener("127.0.0.1:2525", false));
  o.tls_cert = r.tls_cert;
  o.tls_key = r.tls_key;
  o.hostname = r.hostname;
  o.max_connections = r.max_connections;
  o.max_message_size = r.max_message_size;
  o.max_recipients = r.max_recipients;
  o.max_errors = r.max_errors;
  if (r.idle_timeout <= 0 || r.session_timeout <= 0)
    throw usage_error{"usage", "--idle-timeout and --session-timeout take seconds above 0", EX_USAGE};
  o.idle_timeout = std::chrono::seconds(static_cast<long>(r.idle_timeout));
  o.session_timeout = std::chrono::seconds(static_cast<long>(r.session_timeout));
  o.log = log_line;

  try {
    if (!r.users.empty()) o.users.emplace(r.users);
  } catch (const relay::relay_error& e) {
    throw usage_error{e.code, e.what(), exit_code_of(e.code)};
  }

  // Where the messages go: the account (or --server) as `postern send` reads it. The request is
  // built now so that a broken password source fails before anything is accepted.
  const client::request upstream = make_request(a);
  const std::string delivery = delivery_json(upstream, a);
  const std::string account = a.account_name.empty() ? acct.account : a.account_name;

  const std::string location = !r.queue.empty()            ? r.queue
                               : !a.queue_location.empty() ? a.queue_location
                                                           : queue::default_location();
  std::unique_ptr<queue::store> q;
  try {
    q = queue::open_store(location);
  } catch (const queue::store_error& e) {
    throw usage_error{"queue.unavailable", e.what(), EX_TEMPFAIL};
  }

  // The in-process worker has its own connection to the store; add() wakes it.
  queue::watcher watcher;
  std::thread worker;
  std::atomic<bool> worker_failed = false;
  if (!r.no_deliver) {
    worker = std::thread([&] {
      try {
        auto wq = queue::open_store(location);
        queue::worker_options wo;
        wo.lease_for = std::chrono::seconds(static_cast<long>(std::max(r.lease, 1.0)));
        wo.on_outcome = [](const queue::entry& e, const queue::outcome& out, bool recorded) {
          if (!recorded) return;
          if (out.next == queue::status::delivered)
            log_line("delivered " + e.id);
          else
            log_line(std::string(queue::to_string(out.next)) + " " + e.id + " [" + out.cause +
                     "]: " + out.summary);
        };
        watcher.run(*wq, wo);
      } catch (const std::exception& e) {
        worker_failed = true;
        log_line(std::string("error [queue.worker]: the delivery worker stopped: ") + e.what() +
                 " (messages stay queued; postern queue run delivers them)");
      }
    });
  }

  o.store = [&](const relay::received_message& m, const relay::peer_info& p) -> std::optional<std::string> {
    queue::new_message n;
    n.envelope.mail_from = m.mail_from;
    n.envelope.rcpt_to = m.rcpt_to;
    n.content = m.content;
    n.account = account;
    n.delivery = delivery;
    n.origin =
        "relay " + p.listener + " from " + p.address + (m.auth_user.empty() ? "" : " user " + m.auth_user);
    std::string id = q->add(n, std::chrono::system_clock::now());  // durable when it returns
    if (!r.no_deliver) watcher.wake();
    return id;
  };
  o.on_ready = [&] {
    log_line(std::string("ready; queue ") + q->location() +
             (r.no_deliver ? " (delivery left to postern queue run --watch)"
                           : ", delivering to " + upstream.host +
                                 (upstream.port ? ":" + std::to_string(upstream.port) : "")));
  };

  int rc = 0;
  try {
    relay::run(o);
  } catch (const relay::relay_error& e) {
    std::cerr << "postern: error [" << e.code << "]: " << e.what() << "\n";
    rc = exit_code_of(e.code);
  }
  if (worker.joinable()) {
    log_line("waiting for the delivery worker to finish its current round");
    watcher.stop();
    worker.join();
  }
  if (rc == 0) log_line("stopped");
  return rc;
}

}  // namespace

command add_relay_command(CLI::App& app) {
  auto r = std::make_shared<relay_args>();
  auto a = std::make_shared<send_args>();
  auto* cmd = app.add_subcommand(
      "relay", "accept mail from local programs over SMTP and deliver it through the queue");
  cmd->add_option("--listen", r->listen,
                  "ADDRESS:PORT to listen on, plain with STARTTLS when a certificate is given "
                  "(repeatable; default 127.0.0.1:2525)")
      ->allow_extra_args(false);
  cmd->add_option("--listen-tls", r->listen_tls, "ADDRESS:PORT for implicit TLS (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--tls-cert", r->tls_cert,
                  "PEM certificate chain of the relay (STARTTLS and --listen-tls)");
  cmd->add_option("--tls-key", r->tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--users", r->users,
                  "users file for AUTH PLAIN/LOGIN: user:crypt-hash lines (docs/relay.md)");
  cmd->add_option("--hostname", r->hostname,
                  "name in the greeting and the Received header (default: host name)");
  cmd->add_option("--queue", r->queue,
                  "the queue: a SQLite file or postgresql:// URL (default "
                  "$XDG_STATE_HOME/postern/queue.sqlite)");
  cmd->add_flag("--no-deliver", r->no_deliver,
                "only queue; delivery by a separate `postern queue run --watch`");
  cmd->add_option("--lease", r->lease,
                  "seconds a delivery attempt holds a message (default 600; a killed relay's "
                  "messages are due again after it)");
  cmd->add_option("--max-connections", r->max_connections, "connections at once (default 100)");
  cmd->add_option("--max-message-size", r->max_message_size,
                  "octets per message, advertised as SIZE (default 32 MiB)");
  cmd->add_option("--max-recipients", r->max_recipients, "recipients per message (default 100)");
  cmd->add_option("--max-errors", r->max_errors,
                  "client errors before the connection is closed (default 10)");
  cmd->add_option("--idle-timeout", r->idle_timeout, "seconds a client may stay silent (default 300)");
  cmd->add_option("--session-timeout", r->session_timeout, "seconds a connection may last (default 3600)");
  add_connection_options(*cmd, *a);
  auto acct = add_account_options(*cmd);
  return {cmd, [r, a, cmd, acct] {
            apply_account_options(*acct, *cmd, *a, false);
            return run_relay(*r, *a, *acct);
          }};
}

}  // namespace postern::cli
