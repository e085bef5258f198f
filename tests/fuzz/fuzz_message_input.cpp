// Fuzzes what users type into message building: --from/--to mailboxes, --header fields,
// --attach/--inline specs, --dsn-notify values, and compose() over the result. No crash; a
// parsed mailbox or header never carries a line break (header injection); a built message has
// CRLF line ends only and no line over 998 octets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/mime/compose.hpp"
#include "postern/smtp/dsn.hpp"

namespace {

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

void check_message(const std::string& m) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r') {
      if (i + 1 == m.size() || m[i + 1] != '\n') std::abort();
      ++i;
      line = 0;
      continue;
    }
    if (m[i] == '\n') std::abort();
    if (++line > 998) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace mime = postern::mime;
  namespace smtp = postern::smtp;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const auto mb = mime::parse_mailbox(in);
  if (mb && (has_line_break(mb->address) || has_line_break(mb->display_name) ||
             mb->address.find('@') == std::string::npos))
    std::abort();
  const auto h = mime::parse_header_field(in);
  if (h && (has_line_break(h->name) || has_line_break(h->value) || h->name.empty())) std::abort();
  std::string why;
  const auto spec = mime::parse_attachment_spec(in, &why);
  if (spec && (spec->path.empty() || has_line_break(spec->content_id) || has_line_break(spec->filename)))
    std::abort();
  if (!spec && why.empty()) std::abort();
  smtp::dsn_request d;
  if (smtp::parse_dsn_notify(in, d) && d.notify_never &&
      (d.notify_success || d.notify_failure || d.notify_delay))
    std::abort();
  const std::string x = smtp::xtext_encode(in);
  for (const char c : x)
    if (c <= ' ' || c > '~' || c == '=') std::abort();

  // The input everywhere a user's text goes into a message.
  mime::message m;
  m.from = mb ? std::string(in) : "a@example.org";
  m.to = {"b@example.org"};
  m.subject = std::string(in);
  m.text = std::string(in);
  m.html = std::string(in);
  if (h && !mime::is_reserved_header(h->name)) m.headers.push_back(*h);
  m.attachments.push_back({std::string(in), "application/octet-stream", std::string(in), ""});
  m.inline_parts.push_back({std::string(in), "image/png", "i.png", "cid1"});
  const auto c = mime::compose(m);
  if (!c.ok()) {
    if (!c.content.empty() || c.error_code.empty()) std::abort();
    return 0;
  }
  check_message(c.content);
  return 0;
}
