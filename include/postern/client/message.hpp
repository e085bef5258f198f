#pragma once
/**
 * @file
 * From a mime::message to a send::message ready for client::submit(): attachments read from
 * files (content types from their bytes, libmagic), header domains as IDNA A-labels, the
 * envelope taken from From/To/Cc/Bcc, and the DSN request. Everything is checked before
 * anything connects: a bad address, header or attachment is an error and nothing is sent.
 *
 *   mime::message m{.from = "Jörg <j@example.org>", .to = {"ann@example.org"}, .subject = "Hi",
 *                   .text = "Hello\n"};
 *   client::attachment_problem p;
 *   auto logo = client::read_attachment({.path = "logo.png", .content_id = "logo"}, p);
 *   if (!logo) { std::cerr << p.code << ": " << p.summary << "\n"; return p.exit_code; }
 *   m.inline_parts.push_back(*logo);
 *   auto b = client::build_message(m);
 *   if (!b.message) { std::cerr << b.error->code << ": " << b.error->summary << "\n"; return b.exit_code; }
 *   request.messages.push_back(*b.message);
 */
#include <optional>
#include <string>
#include <string_view>

#include "postern/mime/compose.hpp"
#include "postern/send/send.hpp"
#include "postern/smtp/dsn.hpp"

namespace postern::client {

/** Why an attachment could not be read. */
struct attachment_problem {
  std::string code;     ///< "message.attachment-unreadable"
  std::string summary;  ///< names the file and the system's reason
  int exit_code = 66;   ///< EX_NOINPUT
};

/**
 * The content type libmagic reads from @p bytes ("image/png", "text/plain", …);
 * "application/octet-stream" when it cannot tell.
 */
std::string detect_content_type(std::string_view bytes);

/**
 * Reads @p spec.path (a regular file) into an attachment: the type from spec.content_type or
 * else detect_content_type(); the file name from spec.filename or else the path's last
 * component; spec.content_id as is.
 * @return nullopt with @p problem filled when the file is missing, not a regular file, or unreadable.
 */
std::optional<mime::attachment> read_attachment(const mime::attachment_spec& spec,
                                                attachment_problem& problem);

/** The result of build_message(): a message, or the problem and its exit code. */
struct built_message {
  std::optional<send::message> message;  ///< ready for request::messages
  std::optional<send::failure> error;    ///< message.bad-address (65), message.bad-header (65), usage (64)
  int exit_code = 0;                     ///< sysexits.h value for error
};

/**
 * mime::compose() with send::domain_to_ascii for header domains; the envelope is From's address
 * and every To/Cc/Bcc address; @p dsn goes into envelope.dsn.
 * @param m the message
 * @param dsn the DSN request for its envelope; nullopt: none
 * @param options allow_8bit and the like; domain_to_ascii is set here when unset.
 */
built_message build_message(const mime::message& m,
                            const std::optional<smtp::dsn_request>& dsn = std::nullopt,
                            mime::compose_options options = {});

}  // namespace postern::client
