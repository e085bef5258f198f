#include "postern/diagnose/json.hpp"

namespace postern::diagnose {

nlohmann::json findings_json(const std::vector<finding>& findings) {
  auto a = nlohmann::json::array();
  for (const auto& f : findings) {
    auto rem = nlohmann::json::array();
    for (const auto& r : f.remedies)
      rem.push_back({{"action", r.action}, {"command", r.command}, {"security_note", r.security_note}});
    a.push_back({{"code", f.code},
                 {"severity", to_string(f.severity)},
                 {"summary", f.summary},
                 {"evidence", f.evidence},
                 {"remedies", rem}});
  }
  return a;
}

}  // namespace postern::diagnose
