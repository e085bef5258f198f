// Files and IDNA around the pure builder: the I/O half of message building.
#include "postern/client/message.hpp"

#include <magic.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "postern/send/idna.hpp"

namespace postern::client {
namespace {

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string detect_content_type(std::string_view bytes) {
  std::unique_ptr<std::remove_pointer_t<magic_t>, decltype(&magic_close)> cookie(magic_open(MAGIC_MIME_TYPE),
                                                                                 &magic_close);
  if (!cookie || magic_load(cookie.get(), nullptr) != 0) return "application/octet-stream";
  const char* type = magic_buffer(cookie.get(), bytes.data(), bytes.size());
  if (!type || std::strchr(type, '/') == nullptr) return "application/octet-stream";
  return type;
}

std::optional<mime::attachment> read_attachment(const mime::attachment_spec& spec,
                                                attachment_problem& problem) {
  auto fail = [&](std::string why) -> std::optional<mime::attachment> {
    problem = {"message.attachment-unreadable", "cannot read attachment " + spec.path + ": " + why,
               EX_NOINPUT};
    return std::nullopt;
  };
  struct stat st {};
  if (::stat(spec.path.c_str(), &st) != 0) return fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  std::ifstream in(spec.path, std::ios::binary);
  if (!in) return fail(std::strerror(errno ? errno : EACCES));
  mime::attachment a;
  a.data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return fail("read error");
  a.content_type = spec.content_type.empty() ? detect_content_type(a.data) : spec.content_type;
  a.filename = spec.filename.empty() ? base_name(spec.path) : spec.filename;
  a.content_id = spec.content_id;
  return a;
}

built_message build_message(const mime::message& m, const std::optional<smtp::dsn_request>& dsn,
                            mime::compose_options options) {
  if (!options.domain_to_ascii)
    options.domain_to_ascii = [](std::string_view d) { return send::domain_to_ascii(d); };
  built_message out;
  mime::composed c = mime::compose(m, options);
  if (!c.ok()) {
    out.error = send::failure{c.error_code, c.error, ""};
    out.exit_code = c.error_code == "usage" ? EX_USAGE : EX_DATAERR;
    return out;
  }
  send::message msg;
  msg.envelope.mail_from = std::move(c.envelope_from);
  msg.envelope.rcpt_to = std::move(c.envelope_to);
  msg.envelope.dsn = dsn;
  msg.content = std::move(c.content);
  out.message = std::move(msg);
  return out;
}

}  // namespace postern::client
