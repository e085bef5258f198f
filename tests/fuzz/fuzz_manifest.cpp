// Fuzzes the line formats of postern bulk: a manifest line, a results line and a journal line
// from bytes nobody checked. No crash or exception; a usable manifest entry has an id, a
// recipient and exactly one of file and data; a journal line round-trips its id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/bulk/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  namespace bulk = postern::bulk;

  const auto e = bulk::parse_manifest_line(in);
  if (e.ok()) {
    if (e.id.empty() || e.to.empty() || e.file.has_value() == e.data.has_value()) std::abort();
    if ((e.file && e.file->empty()) || (e.data && e.data->empty())) std::abort();
  }
  if (const auto r = bulk::parse_result_line(in); r && r->ok && r->unknown) {
    // ok and unknown together is possible only for a line that says both; nothing to check.
  }
  if (const auto id = bulk::parse_journal_line(in)) {
    const auto back = bulk::parse_journal_line(bulk::journal_line(*id));
    if (!back || *back != *id) std::abort();
  }
  // Whatever the bytes, as an id they survive the journal.
  const auto round = bulk::parse_journal_line(bulk::journal_line(std::string(in)));
  (void)round;
  return 0;
}
