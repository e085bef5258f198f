// Drives a whole session with fuzzed server bytes. The first byte picks the configuration
// (STARTTLS, implicit TLS, AUTH, pipelining) and the second the size of each read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/smtp/data.hpp"
#include "postern/smtp/session.hpp"

namespace {

class scripted_mechanism final : public postern::smtp::sasl_mechanism {
 public:
  explicit scripted_mechanism(bool initial) : initial_(initial) {}
  std::string name() const override { return "PLAIN"; }
  std::optional<std::string> initial_response(std::error_code&) override {
    if (initial_) return std::string("AGFAYg==");
    return std::nullopt;
  }
  std::string step(std::string_view challenge, std::error_code& ec) override {
    if (++steps_ > 3 || challenge == "fail") ec = std::make_error_code(std::errc::invalid_argument);
    return "c2VjcmV0";
  }

 private:
  bool initial_;
  int steps_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t chunk = 1u + data[1];
  std::string_view server(reinterpret_cast<const char*>(data + 2), size - 2);

  using namespace postern::smtp;
  scripted_mechanism mech(flags & 0x10);
  session_config cfg;
  cfg.starttls = flags & 0x01;
  cfg.tls_active = flags & 0x02;
  cfg.use_pipelining = flags & 0x04;
  cfg.allow_auth_without_tls = flags & 0x08;
  if (flags & 0x20) cfg.auth = &mech;
  if (flags & 0x40) cfg.limits = {.max_line = 64, .max_lines = 8};
  envelope env{"a@example.org", {"b@example.org", "c@example.org"}};
  if (flags & 0x80) env.rcpt_to.push_back("d\xc3\xa9@example.org");
  session s(cfg, env, encode_data("Subject: x\r\n\r\n.body\xe9\n"));

  for (int i = 0; i < 100000; ++i) {
    action a = s.next();
    switch (a.kind) {
      case action_kind::write:
        if (a.bytes.empty()) std::abort();
        s.written();
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
        if (!s.result().delivered || s.result().error) std::abort();
        return 0;
      case action_kind::failed:
        if (!s.result().error || s.result().delivered) std::abort();
        (void)cause(s.result());
        return 0;
    }
  }
  std::abort();  // the session must always reach an end
}
