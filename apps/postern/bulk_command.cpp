// postern bulk: a JSON Lines manifest over a pool of connections, one results line per message.
// Crash safety: each message's id goes to a journal (RESULTS.journal) right before its final dot,
// and its results line is written the moment its outcome is known, each with one write(2); so a
// run killed at any point leaves, for every message, either a results line, or a journal line
// (outcome unknown: listed by --resume, never sent again), or nothing (not sent: --resume sends it).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <unordered_set>

#include "common.hpp"
#include "postern/bulk/manifest.hpp"
#include "postern/client/bulk.hpp"

namespace postern::cli {
namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

struct bulk_args {
  std::string manifest;
  std::string results = "-";
  bool resume = false;
  bool fsync = false;
  unsigned jobs = 4;
  unsigned max_per_connection = 100;
  double rate = 0;
  double max_connect_rate = 0;
  unsigned max_attempts = 3;
};

// An append-only file written one whole line per write(2), so a kill never leaves half a line
// behind except the very last, which readers drop.
class line_file {
 public:
  line_file() = default;
  line_file(const std::string& path, bool sync) : sync_(sync), path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw usage_error{"input", "cannot open " + path + ": " + std::strerror(errno), EX_CANTCREAT};
  }
  static line_file stdout_file() {
    line_file f;
    f.fd_ = 1;
    f.owned_ = false;
    f.path_ = "standard output";
    return f;
  }
  line_file(line_file&& o) noexcept { *this = std::move(o); }
  line_file& operator=(line_file&& o) noexcept {
    std::swap(fd_, o.fd_);
    std::swap(owned_, o.owned_);
    std::swap(sync_, o.sync_);
    std::swap(path_, o.path_);
    return *this;
  }
  ~line_file() {
    if (fd_ >= 0 && owned_) ::close(fd_);
  }
  void write_line(std::string line) {
    line += '\n';
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw usage_error{"input", "cannot write " + path_ + ": " + std::strerror(errno), EX_IOERR};
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    if (sync_) ::fdatasync(fd_);
  }
  bool open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  bool owned_ = true;
  bool sync_ = false;
  std::string path_;
};

// What an earlier run of the same results file settled: delivered and outcome-unknown ids.
struct earlier_run {
  std::unordered_set<std::string> settled;
  std::size_t delivered = 0, unknown = 0, retried = 0;
};

earlier_run read_earlier(const std::string& results, const std::string& journal, line_file& out) {
  earlier_run e;
  std::unordered_set<std::string> reported;  // every id with a results line, failed ones too
  if (std::ifstream in(results); in) {
    for (std::string line; std::getline(in, line);) {
      const auto r = bulk::parse_result_line(line);
      if (!r) continue;
      reported.insert(r->id);
      if (r->ok || r->unknown) {
        if (e.settled.insert(r->id).second) ++(r->ok ? e.delivered : e.unknown);
      } else {
        ++e.retried;
      }
    }
  }
  // A journal id without a results line: the run ended while its final dot was on the way.
  if (std::ifstream in(journal); in) {
    for (std::string line; std::getline(in, line);) {
      const auto id = bulk::parse_journal_line(line);
      if (!id || reported.count(*id)) continue;
      client::bulk_outcome o;
      o.id = *id;
      o.unknown = true;
      o.cause = "smtp.outcome-unknown";
      o.summary =
          "the previous run ended after this message's final dot was written and before its reply: "
          "it may have been delivered; not sent again";
      o.attempts = 1;
      out.write_line(client::to_json_line(o));
      reported.insert(*id);
      e.settled.insert(*id);
      ++e.unknown;
    }
  }
  // Failed ones are tried again, so they no longer count as failed.
  return e;
}

bool non_empty_file(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec) && fs::file_size(path, ec) > 0;
}

// Reads the manifest one line at a time; lines that cannot be sent become failed outcomes.
class manifest_reader {
 public:
  manifest_reader(const bulk_args& b, std::string default_from, const earlier_run& earlier,
                  std::function<void(const client::bulk_outcome&)> report)
      : default_from_(std::move(default_from)), earlier_(earlier), report_(std::move(report)) {
    if (b.manifest == "-") {
      in_ = &std::cin;
      base_ = fs::current_path();
    } else {
      file_.open(b.manifest, std::ios::binary);
      if (!file_)
        throw usage_error{"input", "cannot read the manifest " + b.manifest + ": " + std::strerror(errno),
                          EX_NOINPUT};
      in_ = &file_;
      base_ = fs::absolute(b.manifest).parent_path();
    }
  }

  std::optional<client::bulk_item> next() {
    for (std::string line; std::getline(*in_, line);) {
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      auto e = bulk::parse_manifest_line(line);
      if (!e.ok()) {
        fail(e.id, "bulk.bad-manifest", "manifest line " + std::to_string(line_no_) + ": " + e.error);
        continue;
      }
      if (earlier_.settled.count(e.id)) {
        ++skipped_;
        continue;
      }
      client::bulk_item item;
      item.id = e.id;
      item.message.envelope.mail_from = e.from.empty() ? default_from_ : e.from;
      item.message.envelope.rcpt_to = std::move(e.to);
      if (item.message.envelope.mail_from.empty()) {
        fail(e.id, "bulk.bad-manifest",
             "manifest line " + std::to_string(line_no_) + ": no \"from\", and no --from to use instead");
        continue;
      }
      if (e.data) {
        item.message.content = std::move(*e.data);
      } else {
        const fs::path p = fs::path(*e.file).is_absolute() ? fs::path(*e.file) : base_ / *e.file;
        std::ifstream f(p, std::ios::binary);
        if (!f) {
          fail(e.id, "input", "cannot read " + p.string() + ": " + std::strerror(errno));
          continue;
        }
        item.message.content = read_stream(f);
        if (item.message.content.empty()) {
          fail(e.id, "input", "the message file " + p.string() + " is empty");
          continue;
        }
      }
      return item;
    }
    return std::nullopt;
  }

  std::size_t skipped() const { return skipped_; }
  std::size_t rejected() const { return rejected_; }
  int rejected_exit() const { return rejected_exit_; }

 private:
  void fail(const std::string& id, const std::string& cause, const std::string& summary) {
    client::bulk_outcome o;
    o.id = id.empty() ? "line:" + std::to_string(line_no_) : id;
    o.cause = cause;
    o.summary = summary;
    std::cerr << "postern: error [" << cause << "]: " << summary << "\n";
    ++rejected_;
    if (!rejected_exit_) rejected_exit_ = cause == "input" ? EX_NOINPUT : EX_DATAERR;
    report_(o);
  }

  std::string default_from_;
  const earlier_run& earlier_;
  std::function<void(const client::bulk_outcome&)> report_;
  std::ifstream file_;
  std::istream* in_ = nullptr;
  fs::path base_;
  std::size_t line_no_ = 0;
  std::size_t skipped_ = 0;
  std::size_t rejected_ = 0;
  int rejected_exit_ = 0;
};

// "sent/failed/rate/ETA" on a terminal, at most four times a second; nothing otherwise.
class progress {
 public:
  explicit progress(std::size_t total) : total_(total), tty_(::isatty(2)) {}
  void count(const client::bulk_outcome& o) {
    (o.ok ? sent_ : failed_)++;
    if (!tty_) return;
    const auto now = steady::now();
    if (now - shown_ < std::chrono::milliseconds(250)) return;
    shown_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(sent_ + failed_) / secs : 0;
    std::cerr << "\rpostern: bulk: " << sent_ << " sent, " << failed_ << " failed, "
              << static_cast<long>(rate) << " msg/s";
    if (total_ && rate > 0 && total_ > sent_ + failed_)
      std::cerr << ", ETA " << static_cast<long>(static_cast<double>(total_ - sent_ - failed_) / rate)
                << " s";
    std::cerr << "   " << std::flush;
  }
  void end() {
    if (tty_ && shown_ != steady::time_point{}) std::cerr << "\n";
  }
  double seconds() const { return std::chrono::duration<double>(steady::now() - start_).count(); }

 private:
  std::size_t total_;
  bool tty_;
  std::size_t sent_ = 0, failed_ = 0;
  steady::time_point start_ = steady::now();
  steady::time_point shown_{};
};

std::size_t count_lines(const std::string& manifest) {
  if (manifest == "-") return 0;
  std::ifstream in(manifest, std::ios::binary);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++n;
  return n;
}

int run_bulk(send_args& a, const bulk_args& b) {
  if (b.jobs == 0) throw usage_error{"usage", "--jobs must be at least 1", EX_USAGE};
  if (b.max_per_connection == 0)
    throw usage_error{"usage", "--max-per-connection must be at least 1", EX_USAGE};
  if (b.rate < 0 || b.max_connect_rate < 0)
    throw usage_error{"usage", "--rate and --max-connect-rate are positive numbers", EX_USAGE};
  const bool to_file = b.results != "-";
  if (b.resume && !to_file)
    throw usage_error{"usage", "--resume continues the run of a --results FILE: give that file", EX_USAGE};
  if (to_file && !b.resume && non_empty_file(b.results))
    throw usage_error{"usage",
                      "the results file " + b.results +
                          " already holds a run: --resume continues it (sending only what it did not "
                          "deliver), or remove it",
                      EX_CANTCREAT};

  client::request q = make_request(a);
  q.dkim = dkim_options_of(a);  // every message signed as the pool takes it; the key read once
  q.on_finding = [](const diagnose::finding& f) {
    std::cerr << (f.severity == diagnose::severity::warning ? "postern: warning: " : "postern: ") << f.summary
              << "\n";
  };
  if (a.verbose) q.on_transcript = print_transcript_event;

  line_file results = to_file ? line_file(b.results, b.fsync) : line_file::stdout_file();
  const std::string journal_path = to_file ? b.results + ".journal" : "";
  earlier_run earlier;
  if (b.resume) earlier = read_earlier(b.results, journal_path, results);
  line_file journal = to_file ? line_file(journal_path, b.fsync) : line_file();

  progress shown(count_lines(b.manifest));
  auto sink = [&](const client::bulk_outcome& o) {
    results.write_line(client::to_json_line(o));
    shown.count(o);
  };
  manifest_reader reader(b, a.from, earlier, sink);

  client::bulk_options o;
  o.jobs = b.jobs;
  o.max_per_connection = b.max_per_connection;
  o.rate = b.rate;
  o.max_connect_rate = b.max_connect_rate;
  o.max_attempts = b.max_attempts;
  client::bulk_commit_hook commit;
  if (journal.open())
    commit = [&](const std::string& id) {
      journal.write_line(bulk::journal_line(id));
      return true;
    };

  const auto s = client::bulk_send(
      q, o, [&] { return reader.next(); }, sink, commit);
  shown.end();
  const double secs = shown.seconds();
  const std::size_t done = s.delivered + s.failed + s.unknown;
  std::cerr << "postern: bulk: " << s.delivered << " delivered, " << s.failed + reader.rejected()
            << " failed, " << s.unknown << " outcome unknown";
  if (b.resume) std::cerr << ", " << reader.skipped() << " settled before";
  std::cerr << "; " << s.connections << " connections (at most " << s.max_jobs << " at once)";
  if (s.resumed) std::cerr << ", " << s.resumed << " resumed TLS";
  if (done && secs > 0) std::cerr << ", " << static_cast<long>(static_cast<double>(done) / secs) << " msg/s";
  std::cerr << "\n";
  if (s.connections && s.route.port)
    std::cerr << "postern: route " << q.host << ":" << s.route.port << " " << net::to_string(s.route.mode)
              << ", profile " << s.route.profile << ": " << s.route.reason << "\n";
  if (s.error && (s.failed || (s.delivered == 0 && s.unknown == 0 && done == 0 && reader.rejected() == 0)))
    std::cerr << "postern: error [" << s.error->code << "]: " << s.error->summary << "\n";
  // Every message has its results line now: the journal has nothing left to tell.
  if (to_file) ::unlink(journal_path.c_str());
  if (s.exit_code) return s.exit_code;
  return reader.rejected_exit();
}

}  // namespace

command add_bulk_command(CLI::App& app) {
  auto a = std::make_shared<send_args>();
  auto b = std::make_shared<bulk_args>();
  auto* cmd =
      app.add_subcommand("bulk", "send the messages of a JSON Lines manifest over a pool of connections");
  add_connection_options(*cmd, *a);
  cmd->add_option("--from", a->from,
                  "envelope sender for manifest lines without \"from\" (or the account's)");
  cmd->add_option(
         "manifest", b->manifest,
         "JSON Lines, one message a line: {\"id\",\"from\",\"to\",\"file\"|\"data\"}; '-' reads stdin")
      ->required();
  cmd->add_option("--jobs", b->jobs, "concurrent connections (default 4)");
  cmd->add_option("--max-per-connection", b->max_per_connection,
                  "messages before a connection is renewed (default 100)");
  cmd->add_option("--rate", b->rate, "messages per second over all connections (default: no limit)");
  cmd->add_option("--max-connect-rate", b->max_connect_rate,
                  "new connections per second (default: no limit)");
  cmd->add_option("--max-attempts", b->max_attempts,
                  "tries per message after temporary failures (default 3; outcome-unknown: never again)");
  cmd->add_option("--results", b->results, "JSON Lines results, one per message (default: standard output)");
  cmd->add_flag("--resume", b->resume,
                "continue the run of --results FILE: skip what it delivered or left outcome-unknown");
  cmd->add_flag("--fsync", b->fsync,
                "fdatasync the results and the journal after each line (survives power loss, slower)");
  add_dkim_options(*cmd, *a);
  auto acct = add_account_options(*cmd);
  return {cmd, [a, b, cmd, acct] {
            apply_account_options(*acct, *cmd, *a, false);
            return run_bulk(*a, *b);
          }};
}

}  // namespace postern::cli
