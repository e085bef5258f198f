#pragma once
/**
 * @file
 * EHLO capability parsing (RFC 5321 §4.1.1.1 and the extension RFCs). Sans-I/O.
 */
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/smtp/reply.hpp"

namespace postern::smtp {

/** What the server announced in its 250 reply to EHLO. Keywords are matched case-insensitively. */
struct capabilities {
  std::string domain;  ///< first word of the first line
  bool starttls = false;
  bool pipelining = false;
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool enhancedstatuscodes = false;
  bool dsn = false;
  bool chunking = false;
  bool binarymime = false;
  std::optional<std::uint64_t> size;  ///< SIZE value; 0 means "no fixed limit"; nullopt when absent
  std::vector<std::string> auth;      ///< mechanisms, upper-cased, from "AUTH a b" and "AUTH=a b"
  std::vector<std::string> keywords;  ///< every keyword, upper-cased, in order

  bool has(std::string_view keyword) const;  ///< any keyword, case-insensitive
  bool has_auth(std::string_view mechanism) const;

  /** Parses a positive EHLO reply. Tolerates junk lines (they are ignored, not fatal). */
  static capabilities parse(const reply& ehlo_reply);
};

}  // namespace postern::smtp
