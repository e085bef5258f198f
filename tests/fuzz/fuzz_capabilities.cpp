// Fuzzes EHLO capability parsing: once through the reply parser (what the session does),
// once with the raw lines handed over directly so junk the parser would refuse still reaches it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "postern/smtp/capabilities.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  postern::smtp::reply_parser p;
  std::error_code ec;
  p.feed(in, ec);
  if (!ec && p.has_reply()) {
    auto caps = postern::smtp::capabilities::parse(p.take());
    (void)caps.has("STARTTLS");
    (void)caps.has_auth("PLAIN");
  }

  postern::smtp::reply raw;
  raw.code = 250;
  std::size_t pos = 0;
  while (pos <= in.size() && raw.lines.size() < 1000) {
    std::size_t eol = in.find('\n', pos);
    if (eol == std::string_view::npos) eol = in.size();
    raw.lines.emplace_back(in.substr(pos, eol - pos));
    pos = eol + 1;
  }
  auto caps = postern::smtp::capabilities::parse(raw);
  for (const auto& k : caps.keywords) (void)caps.has(k);
  return 0;
}
