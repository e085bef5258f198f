#pragma once
/**
 * @file
 * Building simple RFC 5322 messages, and the encodings they need
 * (RFC 2047 encoded words, base64, quoted-printable). Sans-I/O.
 *
 *   mime::simple_message m{.from = "a@example.org", .to = {"b@example.org"},
 *                          .subject = "Grüße", .text = "Hallo\n"};
 *   std::string rfc5322 = mime::build(m);
 */
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

/** A plain-text message for build(): the header fields and a UTF-8 body. */
struct simple_message {
  std::string from;             ///< the From field: "a@example.org" or "Name <a@example.org>"
  std::vector<std::string> to;  ///< the To field, one address each
  std::vector<std::string> cc;  ///< the Cc field, one address each; empty = no Cc
  std::string subject;          ///< UTF-8; encoded per RFC 2047 when not plain ASCII
  std::string text;             ///< UTF-8 body; LF or CRLF line ends
  std::optional<std::chrono::system_clock::time_point> date;  ///< default: now
  std::string message_id;  ///< default: generated "<random@domain-of-from>"
};

/** Choices build() leaves to the caller. */
struct build_options {
  /// false when the server lacks 8BITMIME (RFC 6152): a non-ASCII body is then sent quoted-printable.
  bool allow_8bit = true;
};

/**
 * The message as CRLF text: Date, From, To, [Cc], Subject, Message-ID, MIME-Version,
 * Content-Type text/plain; charset=us-ascii when the body is ASCII, else utf-8, and a
 * Content-Transfer-Encoding of 7bit (ASCII), 8bit (UTF-8), or quoted-printable when a line
 * exceeds 998 octets or the text holds a NUL or a bare CR. Body line ends become CRLF and the
 * message ends with CRLF. From/To/Cc are used as given, except that a non-ASCII display name in
 * "Name <addr>" is RFC 2047-encoded and CR/LF are replaced by spaces (no header injection).
 *
 *   std::string rfc5322 = mime::build({.from = "a@example.org", .to = {"b@example.org"}, .text = "Hi\n"});
 */
std::string build(const simple_message& m);
/** As build(m), with @p options (e.g. no 8bit body for servers without 8BITMIME). */
std::string build(const simple_message& m, const build_options& options);

/**
 * RFC 2047 header value. Printable ASCII is kept as is (only folded at spaces when long); anything
 * else, or text containing "=?", becomes =?UTF-8?B?...?= words of at most 75 characters, split only
 * between whole UTF-8 characters and folded so that no line exceeds 76 octets.
 * @param utf8 the value, UTF-8
 * @param header_name_length what precedes the value on the first line, e.g. 9 for "Subject: ".
 * @return the value without a trailing CRLF; continuation lines start with one space.
 *
 *   "Subject: " + encode_header_value("Grüße", 9)   // "Subject: =?UTF-8?B?R3LDvMOfZQ==?="
 */
std::string encode_header_value(std::string_view utf8, std::size_t header_name_length);

/** RFC 4648 §4 base64 with padding, on one line. */
std::string base64_encode(std::string_view in);
/**
 * nullopt on bad input (characters outside the alphabet, misplaced '=', a dangling sextet).
 * Whitespace (SP, HTAB, CR, LF) is skipped; missing padding is accepted.
 */
std::optional<std::string> base64_decode(std::string_view in);
/**
 * RFC 2045 §6.7 quoted-printable: '=' and non-printables as =XX, whitespace before a line end
 * encoded, soft line breaks "=\r\n" so that no line exceeds 76 characters. Input line ends (LF
 * or CRLF) become CRLF; a bare CR is data (=0D).
 */
std::string quoted_printable_encode(std::string_view in);

/** RFC 5322 date-time, e.g. "Sat, 28 Nov 2026 01:56:45 +0000". */
std::string format_date(std::chrono::system_clock::time_point t);

/** "<32 random hex digits@domain>", the domain taken from @p from ("Name <a@d>" or "a@d"), or
 * "postern.invalid". */
std::string generate_message_id(std::string_view from);

}  // namespace postern::mime
