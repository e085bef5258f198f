// Drives one connection carrying up to four messages pipelined behind each other's final dot
// (smtp::session::pipeline_next / next_pipelined) with fuzzed server bytes. The first byte picks
// the configuration (chunking, coalescing the next commands into the content's write, pipelining
// at all) and the second the size of each read. Every message must get exactly one outcome or
// be reported not sent, and the session must always reach an end.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/smtp/data.hpp"
#include "postern/smtp/session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t chunk = 1u + data[1];
  std::string_view server(reinterpret_cast<const char*>(data + 2), size - 2);

  using namespace postern::smtp;
  session_config cfg;
  cfg.quit_when_done = false;
  cfg.use_chunking = flags & 0x01;
  const bool coalesce = flags & 0x02;
  cfg.use_pipelining = !(flags & 0x04);
  cfg.chunk_size = flags & 0x08 ? 7 : 1024;
  const int count = 1 + (flags >> 4) % 4;
  auto env = [](int n) { return envelope{"a@example.org", {"r" + std::to_string(n) + "@example.org"}}; };
  auto body = [](int n) { return encode_data("Subject: " + std::to_string(n) + "\r\n\r\n.body\r\n"); };
  session s(cfg, env(1), body(1));

  int taken = 1, outcomes = 0, not_sent = 0;
  bool quitting = false;
  for (int i = 0; i < 100000; ++i) {
    action a = s.next();
    switch (a.kind) {
      case action_kind::write:
        if (coalesce && s.write_ends_content() && s.can_pipeline_next() && taken < count &&
            s.pipeline_next(env(taken + 1), body(taken + 1))) {
          ++taken;
          a = s.next();
        }
        if (a.kind != action_kind::write || a.bytes.empty()) std::abort();
        s.written();
        if (s.can_pipeline_next() && taken < count && s.pipeline_next(env(taken + 1), body(taken + 1))) ++taken;
        break;
      case action_kind::read:
        if (server.empty()) {
          s.connection_lost();
        } else {
          std::string_view piece = server.substr(0, chunk);
          server.remove_prefix(piece.size());
          s.received(piece);
        }
        break;
      case action_kind::start_tls:
        s.tls_started();
        break;
      case action_kind::finished:
      case action_kind::failed: {
        if (quitting) return 0;
        const auto& r = s.result();
        if (r.delivered == static_cast<bool>(r.error)) std::abort();
        (void)cause(r);
        ++outcomes;
        if (s.has_pipelined()) {
          if (!s.can_continue()) {
            ++not_sent;
            if (outcomes + not_sent != taken) std::abort();
            return 0;
          }
          s.next_pipelined();
          break;
        }
        if (outcomes != taken) std::abort();  // every message taken got its outcome, once
        if (!s.can_continue()) return 0;
        if (taken < count) {
          ++taken;
          s.next_message(env(taken), body(taken));
          break;
        }
        quitting = true;
        s.finish();
        break;
      }
    }
  }
  std::abort();  // the session must always reach an end
}
