#pragma once
/**
 * @file
 * Reading addresses out of an existing RFC 5322 message, as `sendmail -t` needs: the
 * address lists of To/Cc/Bcc, the header fields that carry them, and removing a field (Bcc)
 * without touching any other byte. Sans-I/O, standard library only.
 *
 *   auto rcpts = mime::parse_address_list("Ann <ann@example.org>, \"Doe, J\" <j@example.org>");
 *   // {"ann@example.org", "j@example.org"}
 *   std::string sent = mime::remove_header(message, "Bcc");
 */
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

/**
 * The addr-specs of an RFC 5322 §3.4 address-list (a To/Cc/Bcc value), in order, as an SMTP
 * envelope wants them: display names, comments "(…)" and folding whitespace dropped; angle
 * addresses "<…>" unwrapped (an obsolete source route "@a,@b:" dropped); group syntax
 * ("team: a@x, b@y;", "undisclosed-recipients:;") flattened to its members; quoted local parts
 * kept quoted ("\"j,doe\"@example.org"). A local part without a domain ("root") is kept, as
 * sendmail does. Entries that are not an address (a bare display name, "<>", stray specials,
 * control characters) are skipped; the rest of the list is still read.
 * @param value the field body, folded or unfolded (CR and LF count as white space).
 *
 *   parse_address_list("undisclosed-recipients:;")              // {}
 *   parse_address_list("a@x (Ann), Team: b@y, <c@z>;")           // {"a@x", "b@y", "c@z"}
 */
std::vector<std::string> parse_address_list(std::string_view value);

/**
 * Bodies of every header field named @p name (case-insensitive), in order, unfolded (the line
 * break before each continuation line removed) and trimmed of surrounding white space. Only
 * the header block is searched: it ends at the first empty line (LF or CRLF line ends).
 *
 *   header_values("To: a@x,\r\n b@y\r\nSubject: s\r\n\r\nTo: not@header\r\n", "to")
 *   // {"a@x, b@y"}
 */
std::vector<std::string> header_values(std::string_view message, std::string_view name);

/** True if the header block has at least one field named @p name (case-insensitive). */
bool has_header(std::string_view message, std::string_view name);

/**
 * @p message with every header field named @p name (case-insensitive) removed, each with its
 * continuation lines. Every other byte is kept as it was: line ends (CRLF, LF, a missing final
 * one), the order of the other fields, the body. Removing twice equals removing once.
 *
 *   remove_header("To: a@x\r\nBcc: b@y,\r\n c@z\r\n\r\nbody", "bcc")   // "To: a@x\r\n\r\nbody"
 */
std::string remove_header(std::string_view message, std::string_view name);

/**
 * The addresses of all the header fields named in @p fields (in the order of @p fields, then of
 * the message), without duplicates: the first occurrence is kept; two addresses are the same
 * when their local parts are equal and their domains equal ignoring case.
 *
 *   header_addresses(message, {"To", "Cc", "Bcc"})
 */
std::vector<std::string> header_addresses(std::string_view message,
                                          std::initializer_list<std::string_view> fields);

/** Appends @p more to @p list, skipping addresses already present (compared as in header_addresses). */
void append_unique(std::vector<std::string>& list, const std::vector<std::string>& more);

}  // namespace postern::mime
