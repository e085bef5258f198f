#pragma once
/**
 * @file
 * Building complete MIME messages (RFC 5322, RFC 2045–2049): text and HTML alternatives,
 * inline parts referenced by Content-ID (multipart/related), attachments (multipart/mixed),
 * Cc, Bcc kept out of the header, Reply-To, extra header fields, UTF-8 display names (RFC 2047)
 * and file names (RFC 2231 plus the old `name=`). Sans-I/O: it takes bytes and content types;
 * reading files and guessing types is client/attachment.hpp's job.
 *
 *   mime::message m;
 *   m.from = "Jörg Müller <j@example.org>";
 *   m.to = {"ann@example.org"};
 *   m.subject = "Newsletter";
 *   m.text = "Hello\n";
 *   m.html = "<p>Hello <img src=\"cid:logo\"></p>";
 *   m.inline_parts.push_back({png_bytes, "image/png", "logo.png", "logo"});
 *   m.attachments.push_back({pdf_bytes, "application/pdf", "Preisliste März.pdf", ""});
 *   mime::composed c = mime::compose(m);
 *   if (!c.ok()) std::cerr << c.error_code << ": " << c.error << "\n";
 *   // c.content: the final CRLF message; c.envelope_from / c.envelope_to: for SMTP
 */
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

/** One mailbox: "Jörg Müller <j@example.org>" is {"Jörg Müller", "j@example.org"}. */
struct mailbox {
  std::string display_name;  ///< UTF-8, without quotes; "" when there is none
  std::string address;       ///< the addr-spec, `local@domain` (a quoted local part keeps its quotes)
};

/**
 * One RFC 5322 §3.4 mailbox: `addr-spec` or `[display-name] <addr-spec>`, with UTF-8 allowed
 * anywhere (RFC 6532). The display name may be a quoted string (`"Doe, John" <j@x>`).
 * @return nullopt for anything else: no "@", an empty local part or domain, white space or
 * specials in the address, CR/LF or other control characters, several addresses.
 *
 *   parse_mailbox("Jörg <j@example.org>")   // {"Jörg", "j@example.org"}
 *   parse_mailbox("a@b, c@d")               // nullopt
 */
std::optional<mailbox> parse_mailbox(std::string_view text);

/** An extra header field for compose(). */
struct header_field {
  std::string name;   ///< e.g. "List-Unsubscribe"
  std::string value;  ///< UTF-8, one line (RFC 2047-encoded when not plain ASCII)
};

/**
 * "Name: value" as --header takes it. The name is 1–76 printable ASCII characters without ":"
 * or white space (RFC 5322 ftext); the value may be UTF-8 and holds no CR, LF or NUL.
 * @return nullopt for anything else (a line break in either is header injection).
 */
std::optional<header_field> parse_header_field(std::string_view text);

/** True for the fields compose() writes itself (From, To, Subject, Date, Content-*, …),
    which an extra header must not duplicate. Case-insensitive. */
bool is_reserved_header(std::string_view name) noexcept;

/** An attachment or an inline part: bytes with a type and a name. */
struct attachment {
  std::string data;          ///< the bytes, any octets (always sent base64)
  std::string content_type;  ///< "image/png", may carry parameters; "" = application/octet-stream
  std::string filename;      ///< UTF-8; "" = no file name
  std::string content_id;    ///< inline parts: the ID the HTML references as "cid:ID" (no <>)
};

/** What --attach / --inline say: "FILE;type=T;name=N;cid=ID" (every key optional). */
struct attachment_spec {
  std::string path;          ///< the file (may not contain ";")
  std::string content_type;  ///< type=: overrides detection; "" = detect
  std::string filename;      ///< name=: overrides the file's own name; "" = the path's last component
  std::string content_id;    ///< cid=: for inline parts
};

/**
 * Parses an --attach / --inline argument. Keys are case-insensitive; a value runs to the next
 * ";". @p problem (when given) says what is wrong on failure.
 * @return nullopt for an empty path, an unknown or repeated key, a key without "=", an empty
 * value, a control character, or a type that is not "type/subtype".
 *
 *   parse_attachment_spec("logo.png;cid=logo")   // {"logo.png", "", "", "logo"}
 */
std::optional<attachment_spec> parse_attachment_spec(std::string_view text, std::string* problem = nullptr);

/** A message for compose(): every address as "Name <a@b>" or "a@b" text. */
struct message {
  std::string from;                      ///< the author (From) and the envelope sender
  std::vector<std::string> to;           ///< To, one mailbox each
  std::vector<std::string> cc;           ///< Cc
  std::vector<std::string> bcc;          ///< envelope only: never in the header
  std::vector<std::string> reply_to;     ///< Reply-To
  std::string subject;                   ///< UTF-8
  std::optional<std::string> text;       ///< text/plain part (UTF-8, LF or CRLF)
  std::optional<std::string> html;       ///< text/html part; with text: multipart/alternative
  std::vector<attachment> inline_parts;  ///< with html: multipart/related (each needs content_id)
  std::vector<attachment> attachments;   ///< multipart/mixed
  std::vector<header_field> headers;     ///< extra fields, after the standard ones
  std::optional<std::chrono::system_clock::time_point> date;  ///< default: now
  std::string message_id;  ///< default: generated "<random@domain-of-from>"
};

/** Choices compose() cannot make from the message alone. */
struct compose_options {
  /** true only when the server is known to offer 8BITMIME: UTF-8 text parts may then go as
      8bit; false (the default, as messages are built before connecting): quoted-printable. */
  bool allow_8bit = false;
  /** IDNA for header addresses: a UTF-8 domain under an ASCII local part is written as its
      A-label so the message needs no SMTPUTF8; unset: domains stay as given. Addresses with a
      UTF-8 local part stay UTF-8 (RFC 6532): they need SMTPUTF8 anyway. */
  std::function<std::optional<std::string>(std::string_view)> domain_to_ascii;
};

/** The outcome of compose(). */
struct composed {
  std::string content;                   ///< the message: CRLF line ends, no line over 998 octets
  std::string envelope_from;             ///< the From address
  std::vector<std::string> envelope_to;  ///< To, Cc and Bcc addresses, without duplicates
  std::string error_code;                ///< "" or a docs/causes.md code: message.bad-address, …
  std::string error;                     ///< the problem in plain words, naming the culprit
  bool ok() const noexcept { return error_code.empty(); }  ///< built
};

/**
 * Builds the message. Structure: the text alone, or the HTML alone (multipart/related with
 * inline parts), or multipart/alternative of both; inside multipart/mixed when there are
 * attachments. Text parts are 7bit when ASCII with short lines, 8bit when allowed, else
 * quoted-printable; attachments are base64. Every boundary is random and checked to be absent
 * from the content. Date, Message-ID and MIME-Version are always present.
 * @return an error (message.bad-address, message.bad-header, usage) and no content when an
 * address does not parse, an extra header is malformed or reserved, an inline part has no
 * content_id or there is no HTML to reference it, or there is no recipient.
 */
composed compose(const message& m, const compose_options& options = {});

/**
 * An RFC 2231 parameter: `name="ascii"` when plain ASCII fits, else `name*=UTF-8''%XX…`,
 * split into `name*0*=…; name*1*=…` continuations of at most 60 characters.
 * @return the parameter(s) joined with ";\r\n " (ready to follow "; " in a header field).
 */
std::string rfc2231_parameter(std::string_view name, std::string_view utf8_value);

}  // namespace postern::mime
