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
  std::string domain;                 ///< first word of the first line
  bool starttls = false;              ///< STARTTLS (RFC 3207)
  bool pipelining = false;            ///< PIPELINING (RFC 2920): commands may be sent without waiting
  bool eightbitmime = false;          ///< 8BITMIME (RFC 6152): BODY=8BITMIME accepted
  bool smtputf8 = false;              ///< SMTPUTF8 (RFC 6531): UTF-8 addresses accepted
  bool enhancedstatuscodes = false;   ///< ENHANCEDSTATUSCODES (RFC 2034): replies carry X.Y.Z codes
  bool dsn = false;                   ///< DSN (RFC 3461): delivery status notifications
  bool chunking = false;              ///< CHUNKING (RFC 3030): BDAT instead of DATA
  bool binarymime = false;            ///< BINARYMIME (RFC 3030)
  std::optional<std::uint64_t> size;  ///< SIZE value; 0 means "no fixed limit"; nullopt when absent
  std::vector<std::string> auth;      ///< mechanisms, upper-cased, from "AUTH a b" and "AUTH=a b"
  std::vector<std::string> keywords;  ///< every keyword, upper-cased, in order

  bool has(std::string_view keyword) const;         ///< any keyword, case-insensitive
  bool has_auth(std::string_view mechanism) const;  ///< @p mechanism is in auth, case-insensitive

  /** Parses a positive EHLO reply. Tolerates junk lines (they are ignored, not fatal). */
  static capabilities parse(const reply& ehlo_reply);
};

}  // namespace postern::smtp
