#pragma once
/**
 * @file
 * Message content on the wire: CRLF normalisation and dot-stuffing (RFC 5321 §4.5.2). Sans-I/O.
 */
#include <cstddef>
#include <string>
#include <string_view>

namespace postern::smtp {

/** Facts about a message that decide MAIL parameters before it is sent. */
struct message_facts {
  std::size_t wire_size = 0;  ///< octets after CRLF normalisation, before dot-stuffing (what SIZE= announces)
  bool eight_bit = false;     ///< any octet ≥ 0x80
  bool has_nul = false;       ///< any NUL octet (no SMTP extension allows it in DATA)
  std::size_t longest_line = 0;  ///< octets, CRLF excluded
};

/** Facts about a message as given (any line ends); wire_size counts the final CRLF encode_data adds. */
message_facts scan_message(std::string_view message) noexcept;

/**
 * The same facts read from the DATA form (encode_data output): stuffed dots and the
 * terminator are not counted, so scan_encoded(encode_data(m)) equals scan_message(m).
 * The session uses it because it only receives the encoded form.
 */
message_facts scan_encoded(std::string_view wire) noexcept;

/**
 * The message as it goes on the wire before dot-stuffing: bare LF and bare CR become CRLF and
 * a final CRLF is added when missing (nothing else changes). This is the one CRLF
 * normalisation of postern: BDAT sends exactly these bytes, DATA sends them dot-stuffed, and
 * a signer (DKIM) must sign them. Idempotent; an empty message stays empty.
 *
 *   normalise_line_ends("a\nb") == "a\r\nb\r\n"
 */
std::string normalise_line_ends(std::string_view message);

/**
 * Converts a message to its DATA form: bare LF and bare CR become CRLF, a line starting
 * with "." gets another ".", a final CRLF is added when missing, and "." CRLF ends it.
 *
 *   encode_data("a\n.b") == "a\r\n..b\r\n.\r\n"
 */
std::string encode_data(std::string_view message);

/**
 * Inverse of encode_data for tests and servers: removes dot-stuffing and the terminator.
 * decode_data(encode_data(m)) is m with CRLF line ends and a final CRLF (when m is not empty).
 */
std::string decode_data(std::string_view wire);

}  // namespace postern::smtp
