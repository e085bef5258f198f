#pragma once
/**
 * @file
 * Findings as JSON (nlohmann::json): the one rendering send, doctor and probe share.
 */
#include <nlohmann/json.hpp>
#include <vector>

#include "postern/diagnose/finding.hpp"

namespace postern::diagnose {

/** [{"code", "severity", "summary", "evidence": [...], "remedies": [{"action", "command", "security_note"}]}]
 */
nlohmann::json findings_json(const std::vector<finding>& findings);

}  // namespace postern::diagnose
