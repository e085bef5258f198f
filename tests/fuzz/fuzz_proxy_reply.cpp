// Fuzzes the proxy reply parsers (SOCKS5 and HTTP CONNECT). The first byte chooses the
// protocol, whether credentials are offered, the read size (0: bytes_wanted(), as net::stream
// reads) and a tight header bound; the rest is what the proxy sends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "postern/net/proxy.hpp"
#include "postern/net/proxy_codec.hpp"

namespace pc = postern::net::proxy_codec;

namespace {

template <class Client>
void play(Client& c, std::string_view in, std::size_t chunk) {
  (void)c.take_output();
  while (!in.empty() && c.state() == pc::step::need_more) {
    const std::size_t wanted = c.bytes_wanted();
    if (wanted == 0) std::abort();  // need_more always wants a byte
    const std::string_view piece = in.substr(0, chunk ? chunk : wanted);
    const std::size_t used = c.feed(piece);
    if (used > piece.size() || used == 0) std::abort();
    // Reading bytes_wanted() at a time never goes past the reply: everything offered is used.
    if (chunk == 0 && c.state() != pc::step::failed && used != piece.size()) std::abort();
    if (c.state() == pc::step::need_more && used != piece.size()) std::abort();
    in.remove_prefix(used);
    (void)c.take_output();
  }
  if (c.state() == pc::step::failed && c.error().reason.empty()) std::abort();
  if (c.state() != pc::step::failed && c.error().kind != pc::failure_kind::none) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t seed = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool creds = seed & 0x40;
  const std::size_t chunk = seed & 0x0f;
  if (seed & 0x80) {
    pc::http_connect_client c("mail.example.org", 587, creds ? "user" : "", creds ? "pw" : "",
                              (seed & 0x20) ? 64 : pc::http_connect_client::default_max_head);
    play(c, in, chunk);
    if (c.state() == pc::step::done && (c.status() < 200 || c.status() > 299)) std::abort();
  } else {
    pc::socks5_client c((seed & 0x20) ? "192.0.2.1" : "mail.example.org", 587, creds ? "user" : "",
                        creds ? "pw" : "");
    play(c, in, chunk);
    if (c.state() == pc::step::done && c.bound_address().empty()) std::abort();
  }
  // The URL parser gets the same bytes.
  std::string error;
  auto p = postern::net::parse_proxy(in, error);
  if (!p && error.empty()) std::abort();
  if (p && (p->host.empty() || p->port == 0)) std::abort();
  if (p) (void)p->to_string();
  return 0;
}
