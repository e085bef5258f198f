#pragma once
/**
 * @file
 * DKIM's pure half (RFC 6376): splitting a message into header fields and body, the simple and
 * relaxed canonicalisations (§3.4), choosing the header fields a signature covers (§5.4.2), and
 * tag lists (§3.2). Sans-I/O and free of OpenSSL, so that it can be fuzzed; the signer that
 * hashes and signs what this part produces is in dkim/sign.hpp.
 *
 *   auto m = dkim::split_message("From: a@example.org\r\nSubject:  Hi \r\n\r\nBody  \r\n\r\n");
 *   dkim::canonicalize_body(m.body, dkim::canonicalization::relaxed);   // "Body\r\n"
 */
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::dkim {

/** The two canonicalisation algorithms of RFC 6376 §3.4. */
enum class canonicalization { simple, relaxed };

/** "simple" or "relaxed". */
std::string_view to_string(canonicalization c) noexcept;

/** The c= tag's two halves: how header fields and how the body are canonicalised. */
struct canonicalization_pair {
  canonicalization header = canonicalization::relaxed;  ///< the part before the '/'
  canonicalization body = canonicalization::relaxed;    ///< the part after it
};

/**
 * Parses a c= value: "relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed", or one
 * word alone ("relaxed" means relaxed/simple, RFC 6376 §3.5). nullopt for anything else.
 */
std::optional<canonicalization_pair> parse_canonicalization(std::string_view text);

/** "relaxed/relaxed" etc., as the c= tag carries it. */
std::string to_string(canonicalization_pair c);

/** One header field as it appears in the message. */
struct header_field {
  std::string_view name;  ///< the field name, without the colon and without white space before it
  /** The whole field: name, colon, value, continuation lines, and its final CRLF when it has one. */
  std::string_view raw;
};

/** A message cut into its header fields and its body. */
struct message_parts {
  std::vector<header_field> headers;  ///< in message order
  std::string_view body;              ///< everything after the empty line ("" when there is none)
};

/**
 * Splits a message with CRLF line ends (RFC 5322 §2.1) into header fields and body. A line
 * that starts with a space or tab continues the field before it; the first empty line ends the
 * header section. A message without one is all header. Lines without a colon are kept as fields
 * (their name is the whole line) so that nothing is silently dropped. The views point into
 * @p message.
 */
message_parts split_message(std::string_view message);

/**
 * One header field in canonical form, with a final CRLF (§3.4.1, §3.4.2). simple: unchanged
 * (a CRLF is added when missing); relaxed: the name lowercased, the field unfolded, runs of
 * white space made one space, white space at the end of the value and around the colon removed.
 */
std::string canonicalize_header(std::string_view raw_field, canonicalization c);

/**
 * The body in canonical form (§3.4.3, §3.4.4). simple: trailing empty lines removed, an empty
 * body becomes one CRLF; relaxed: white space at line ends removed and runs of white space made
 * one space, then trailing empty lines removed (an empty body stays empty). Both end every line,
 * the last included, with CRLF.
 */
std::string canonicalize_body(std::string_view body, canonicalization c);

/**
 * The fields the h= list @p names selects, in the order they are hashed (§5.4.2): for each name,
 * the last instance not yet taken, case-insensitively. A name with no instance left selects
 * nothing (that is how oversigning works: a field added later would have been taken).
 */
std::vector<header_field> select_headers(const std::vector<header_field>& headers,
                                         const std::vector<std::string>& names);

/**
 * The fields postern signs by default, in this order, when present: From, Sender, Reply-To,
 * Subject, Date, Message-ID, To, Cc, MIME-Version, Content-Type, Content-Transfer-Encoding,
 * Content-Disposition, In-Reply-To, References, List-Id, List-Unsubscribe,
 * List-Unsubscribe-Post.
 */
const std::vector<std::string>& default_header_names();

/**
 * The h= list for a message with @p headers: every name of @p wanted once per instance present
 * (names absent from the message are left out), then each name of @p oversign once more, so
 * that a field of that name added on the way breaks the signature. Names keep the spelling of
 * @p wanted.
 *
 *   signed_header_list(split_message(m).headers, default_header_names(), {"From"});
 *   // {"From", "Subject", "Date", "To", "From"} for a message with those fields
 */
std::vector<std::string> signed_header_list(const std::vector<header_field>& headers,
                                            const std::vector<std::string>& wanted,
                                            const std::vector<std::string>& oversign);

/** How many fields called @p name (any case) @p headers holds. */
std::size_t count_headers(const std::vector<header_field>& headers, std::string_view name);

/** One tag=value of a tag list. */
struct tag {
  std::string name;   ///< e.g. "v", "bh"
  std::string value;  ///< with the surrounding white space removed; folding inside kept as written
};

/**
 * Parses an RFC 6376 §3.2 tag list ("v=1; a=rsa-sha256; ..."; a DKIM-Signature value or a key
 * record). nullopt when it is not one: a tag name that is not ALPHA *(ALPHA / DIGIT / "_"), a
 * missing '=', a character outside VALCHAR and folding white space, or a tag given twice.
 */
std::optional<std::vector<tag>> parse_tag_list(std::string_view text);

/** The value of the tag called @p name in @p tags, or nullopt. */
std::optional<std::string> find_tag(const std::vector<tag>& tags, std::string_view name);

/**
 * Whether @p name is a domain name DKIM can put in d= (or a selector for s=): dot-separated
 * labels of letters, digits and hyphens, not starting or ending with a hyphen, at most 63
 * octets each and 253 in all. Internationalised names must be given as A-labels (xn--…).
 */
bool valid_domain(std::string_view name) noexcept;

/** Whether @p name is an RFC 5322 field name (printable ASCII except ':', at least one). */
bool valid_field_name(std::string_view name) noexcept;

}  // namespace postern::dkim
