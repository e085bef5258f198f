#pragma once
/**
 * @file
 * SMTP reply parser (RFC 5321 §4.2, RFC 3463 enhanced status codes). Sans-I/O.
 */
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "postern/smtp/error.hpp"

namespace postern::smtp {

/** RFC 3463 enhanced status code "class.subject.detail", e.g. 5.7.8. */
struct enhanced_status {
  int klass = 0;                  ///< 2 success, 4 persistent transient failure, 5 permanent failure
  int subject = 0;                ///< the area: 1 addressing, 5 protocol, 7 security, …
  int detail = 0;                 ///< the detail within the subject
  std::string to_string() const;  ///< "5.7.8"
  /** Same class, subject and detail. */
  friend bool operator==(const enhanced_status&, const enhanced_status&) = default;
};

/** One complete (possibly multi-line) reply. */
struct reply {
  int code = 0;                             ///< 200..599
  std::optional<enhanced_status> enhanced;  ///< from the first line, when present
  std::vector<std::string> lines;  ///< text after "NNN-"/"NNN " of each line (enhanced code kept in the text)

  bool positive() const noexcept { return code >= 200 && code < 400; }      ///< 2xx or 3xx: go on
  bool intermediate() const noexcept { return code >= 300 && code < 400; }  ///< 3xx: send more (DATA, AUTH)
  bool transient() const noexcept { return code >= 400 && code < 500; }     ///< 4xx: try again later
  bool permanent() const noexcept { return code >= 500; }                   ///< 5xx: refused for good
  /** "250 a / b": the whole reply on one line, for one-line error messages. */
  std::string one_line() const;
  /** "250-a\n250 b" style rendering, for transcripts and error messages (a last line without text is "250").
   */
  std::string to_string() const;
};

/** Server bytes made safe for terminals and logs: "\\" doubled, other non-printables as `\xNN`. */
std::string escape_bytes(std::string_view bytes);

/** Bounds that a hostile server cannot push past. RFC 5321 allows 512 octets per line. */
struct reply_limits {
  std::size_t max_line = 4096;  ///< octets per line, CRLF included
  std::size_t max_lines = 256;  ///< lines per multi-line reply
};

/**
 * Incremental reply parser: feed bytes as they arrive, take replies as they complete.
 * It stops consuming at the end of each reply, so pipelined replies are split exactly.
 * Lenient where servers differ harmlessly: a bare LF ends a line as CRLF does, and a line
 * of only "NNN" is a last line without text. Strict where it matters: three digits with a
 * first digit 2-5, and the same code on every line of a reply.
 *
 *   reply_parser p;  std::error_code ec;
 *   auto used = p.feed("250-a\r\n250 ok\r\n", ec);   // used == 15, p.has_reply()
 *   reply r = p.take();
 */
class reply_parser {
 public:
  /** A parser that enforces @p limits. */
  explicit reply_parser(reply_limits limits = {});

  /**
   * Consumes bytes from @p in up to the end of the next complete reply.
   * @return bytes consumed; less than in.size() when a reply completed (call take() then feed the rest).
   * On error sets @p ec (errc::reply_line_too_long, reply_too_many_lines, bad_reply,
   * inconsistent_reply_code); the parser is then unusable and later calls set the same error.
   * A line is too long as soon as max_line octets arrive without its LF, so at most
   * max_line octets of one line are ever held. Consumes nothing while a reply waits for take().
   */
  std::size_t feed(std::string_view in, std::error_code& ec);

  /** True when a complete reply is ready for take(). */
  bool has_reply() const noexcept;
  /** Moves the completed reply out and readies the parser for the next one. */
  reply take();
  /** True when some bytes of an unfinished reply are held. */
  bool mid_reply() const noexcept;
  /** The raw bytes of the offending line after an error (for evidence; bounded by max_line). */
  const std::string& offending_bytes() const noexcept;

 private:
  reply_limits limits_;
  std::string line_;
  reply current_;
  std::string offending_;
  std::error_code error_;
  bool complete_ = false;
  bool failed_ = false;

  void parse_line(std::error_code& ec);
  void fail(errc e, std::error_code& ec);
};

/** Parses "d.ddd.ddd" followed by a space or the end of @p text (class 2, 4 or 5). */
std::optional<enhanced_status> parse_enhanced_status(std::string_view text) noexcept;

}  // namespace postern::smtp
