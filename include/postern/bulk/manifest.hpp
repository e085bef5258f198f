#pragma once
/**
 * @file
 * The line formats of `postern bulk` (docs/bulk.md), sans-I/O: manifest lines in, results lines
 * out, and what a results file says for `--resume`.
 *
 *   auto e = bulk::parse_manifest_line(R"({"id":"m1","from":"a@x.org","to":["b@y.org"],"file":"m1.eml"})");
 *   if (!e.ok()) std::cerr << e.error << "\n";
 */
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::bulk {

/** One manifest line: a JSON object. */
struct manifest_entry {
  std::string id;                   ///< required, non-empty: reported back, and what --resume skips by
  std::string from;                 ///< envelope sender; "" = the command's --from / the account's
  std::vector<std::string> to;      ///< recipients: "to" as a string or an array of strings
  std::optional<std::string> file;  ///< the RFC 5322 file ("file")
  std::optional<std::string> data;  ///< or the RFC 5322 text itself ("data")
  std::string error;                ///< why the line is unusable; "" when it is fine

  /** The line is usable. */
  bool ok() const noexcept { return error.empty(); }
};

/**
 * Parses one line (without its line end). Checks types: id a non-empty string, from a string,
 * to a string or array of strings (at least one), exactly one of file and data, a string. Unknown
 * keys are ignored. Never throws; error says what is wrong, and id is filled when it could be read.
 */
manifest_entry parse_manifest_line(std::string_view line);

/** What one line of an earlier results file says about its message, for --resume. */
struct result_entry {
  std::string id;        ///< the message's id
  bool ok = false;       ///< it was delivered
  bool unknown = false;  ///< its outcome is unknown (cause smtp.outcome-unknown)
};

/** A results line as `postern bulk` writes it; nullopt for anything else (a torn last line too). */
std::optional<result_entry> parse_result_line(std::string_view line);

/** A journal line (the id of a message whose final dot was about to be written): the id as a JSON
    string, e.g. "\"m1\"". */
std::string journal_line(std::string_view id);
/** The id of a journal line; nullopt for a torn or foreign line. */
std::optional<std::string> parse_journal_line(std::string_view line);

}  // namespace postern::bulk
