// Fuzzes DKIM's pure half on arbitrary bytes: splitting a message, both canonicalisations of
// every header field and of the body, header selection, and tag-list parsing (what a verifier
// reads from DKIM-Signature fields and key records). Checks the properties signing relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/dkim/canon.hpp"

namespace {

bool has_wsp_before_crlf_or_double_wsp(std::string_view s) {
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    const bool wsp = s[i] == ' ' || s[i] == '\t';
    const bool crlf_next = s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n';
    if (wsp && (s[i + 1] == ' ' || s[i + 1] == '\t' || crlf_next)) return true;
    if (s[i] == '\t') return true;  // relaxed leaves only single spaces
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace dkim = postern::dkim;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const auto parts = dkim::split_message(in);
  std::size_t covered = 0;
  for (const auto& h : parts.headers) {
    covered += h.raw.size();
    const std::string simple = dkim::canonicalize_header(h.raw, dkim::canonicalization::simple);
    const std::string relaxed = dkim::canonicalize_header(h.raw, dkim::canonicalization::relaxed);
    if (!simple.ends_with("\r\n") || !relaxed.ends_with("\r\n")) std::abort();
    // Relaxed is idempotent on the fields it produces.
    if (dkim::canonicalize_header(relaxed, dkim::canonicalization::relaxed) != relaxed) std::abort();
  }
  // Nothing is lost: the fields, the empty line and the body are the whole message.
  if (covered + parts.body.size() > in.size() || covered + parts.body.size() + 2 < in.size()) std::abort();

  for (const auto c : {dkim::canonicalization::simple, dkim::canonicalization::relaxed}) {
    const std::string body = dkim::canonicalize_body(parts.body, c);
    if (!body.empty() && !body.ends_with("\r\n")) std::abort();
    if (body.ends_with("\r\n\r\n")) std::abort();  // trailing empty lines are gone
    if (dkim::canonicalize_body(body, c) != body) std::abort();
    if (c == dkim::canonicalization::relaxed && has_wsp_before_crlf_or_double_wsp(body)) std::abort();
  }

  const auto h = dkim::signed_header_list(parts.headers, dkim::default_header_names(), {"From"});
  if (dkim::select_headers(parts.headers, h).size() > parts.headers.size()) std::abort();

  if (const auto tags = dkim::parse_tag_list(in)) {
    for (const auto& t : *tags)
      if (t.name.empty() || !dkim::find_tag(*tags, t.name)) std::abort();
  }
  (void)dkim::parse_canonicalization(in);
  (void)dkim::valid_domain(in);
  return 0;
}
