// Drives the relay's server session with fuzzed client bytes. The first byte picks the
// configuration (STARTTLS, implicit TLS, AUTH, small limits) and the second the size of each
// read. Invariants: replies are never empty, memory stays within the limits, a stored message
// never exceeds max_message_size plus its Received header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/relay/server_session.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t chunk = 1u + data[1];
  std::string_view client(reinterpret_cast<const char*>(data + 2), size - 2);

  using namespace postern::relay;
  server_config cfg;
  cfg.hostname = "relay.test";
  cfg.peer_address = (flags & 0x80) ? "::1" : "127.0.0.1";
  cfg.starttls_available = flags & 0x01;
  cfg.tls_active = flags & 0x02;
  cfg.auth_available = flags & 0x04;
  cfg.auth_required = flags & 0x08;
  cfg.allow_auth_without_tls = flags & 0x10;
  if (flags & 0x20) {
    cfg.max_line = 32;
    cfg.max_auth_line = 64;
    cfg.max_message_size = 64;
    cfg.max_recipients = 2;
    cfg.max_errors = 3;
  }
  cfg.now = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1796212800)); };
  server_session s(cfg, [](const std::string& u, const std::string& p) { return u == "u" && p == "p"; });
  bool fail_store = flags & 0x40;

  for (int i = 0; i < 1000000; ++i) {
    action a = s.next();
    switch (a.kind) {
      case action_kind::write:
        if (a.bytes.empty() || a.bytes.size() > 64 * 1024) std::abort();
        s.written();
        break;
      case action_kind::read:
        if (client.empty()) return 0;
        {
          std::string_view piece = client.substr(0, chunk);
          client.remove_prefix(piece.size());
          s.received(piece);
        }
        break;
      case action_kind::start_tls:
        s.tls_started();
        break;
      case action_kind::store:
        if (s.message().rcpt_to.empty() || s.message().content.size() > cfg.max_message_size + 1024)
          std::abort();
        s.stored(fail_store ? std::nullopt : std::optional<std::string>("id"));
        fail_store = !fail_store;
        break;
      case action_kind::close:
        return 0;
    }
  }
  std::abort();  // a session that never asks for input nor ends
}
