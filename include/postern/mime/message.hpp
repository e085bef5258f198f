#pragma once
/**
 * @file Building simple RFC 5322 messages, and the encodings they need
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

struct simple_message {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;                 ///< UTF-8; encoded per RFC 2047 when not plain ASCII
  std::string text;                    ///< UTF-8 body; LF or CRLF line ends
  std::optional<std::chrono::system_clock::time_point> date;  ///< default: now
  std::string message_id;              ///< default: generated "<random@domain-of-from>"
};

/**
 * The message as CRLF text: Date, From, To, [Cc], Subject, Message-ID, MIME-Version,
 * Content-Type text/plain; charset=utf-8 (us-ascii when ASCII), and a
 * Content-Transfer-Encoding of 7bit, 8bit, or quoted-printable when a line exceeds 998 octets.
 */
std::string build(const simple_message& m);

/** RFC 2047 header value: unchanged when printable ASCII, else =?UTF-8?B?...?= words, folded so no line exceeds 76 octets. */
std::string encode_header_value(std::string_view utf8, std::size_t header_name_length);

std::string base64_encode(std::string_view in);
/** nullopt on bad input. Whitespace is skipped. */
std::optional<std::string> base64_decode(std::string_view in);
/** RFC 2045 §6.7 quoted-printable with soft line breaks at 76 characters; input line ends become CRLF. */
std::string quoted_printable_encode(std::string_view in);

/** RFC 5322 date-time, e.g. "Sat, 28 Nov 2026 01:56:45 +0000". */
std::string format_date(std::chrono::system_clock::time_point t);

}  // namespace postern::mime
