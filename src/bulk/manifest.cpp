// JSON Lines of postern bulk: validated field by field, never throwing (fuzzed: fuzz_manifest).
#include "postern/bulk/manifest.hpp"

#include <nlohmann/json.hpp>

namespace postern::bulk {
namespace {
using json = nlohmann::json;

json parse(std::string_view line) { return json::parse(line.begin(), line.end(), nullptr, false); }
}  // namespace

manifest_entry parse_manifest_line(std::string_view line) {
  manifest_entry e;
  const json j = parse(line);
  if (j.is_discarded()) {
    e.error = "not JSON";
    return e;
  }
  if (!j.is_object()) {
    e.error = "not a JSON object";
    return e;
  }
  auto id = j.find("id");
  if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    e.error = "no \"id\" (a non-empty string)";
    return e;
  }
  e.id = id->get<std::string>();
  if (auto from = j.find("from"); from != j.end()) {
    if (!from->is_string()) {
      e.error = "\"from\" is not a string";
      return e;
    }
    e.from = from->get<std::string>();
  }
  auto to = j.find("to");
  if (to != j.end() && to->is_string()) {
    e.to.push_back(to->get<std::string>());
  } else if (to != j.end() && to->is_array()) {
    for (const auto& r : *to) {
      if (!r.is_string()) {
        e.error = "\"to\" holds something that is not a string";
        return e;
      }
      e.to.push_back(r.get<std::string>());
    }
  }
  if (e.to.empty() || (e.to.size() == 1 && e.to.front().empty())) {
    e.to.clear();
    e.error = "no \"to\" (a recipient, or an array of them)";
    return e;
  }
  const auto file = j.find("file");
  const auto data = j.find("data");
  if ((file == j.end()) == (data == j.end())) {
    e.error = "needs exactly one of \"file\" and \"data\"";
    return e;
  }
  const auto& src = file != j.end() ? *file : *data;
  if (!src.is_string() || src.get_ref<const std::string&>().empty()) {
    e.error = std::string("\"") + (file != j.end() ? "file" : "data") + "\" is not a non-empty string";
    return e;
  }
  (file != j.end() ? e.file : e.data) = src.get<std::string>();
  return e;
}

std::optional<result_entry> parse_result_line(std::string_view line) {
  const json j = parse(line);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto id = j.find("id");
  auto ok = j.find("ok");
  if (id == j.end() || !id->is_string() || ok == j.end() || !ok->is_boolean()) return std::nullopt;
  result_entry r;
  r.id = id->get<std::string>();
  r.ok = ok->get<bool>();
  if (auto c = j.find("cause"); c != j.end() && c->is_string())
    r.unknown = c->get<std::string>() == "smtp.outcome-unknown";
  return r;
}

// Ids from a manifest are valid UTF-8; any other bytes are replaced, never thrown on.
std::string journal_line(std::string_view id) {
  return json(std::string(id)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> parse_journal_line(std::string_view line) {
  const json j = parse(line);
  if (j.is_discarded() || !j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

}  // namespace postern::bulk
