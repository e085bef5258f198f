#pragma once
/**
 * @file
 * `postern watch --prometheus FILE`: the node-exporter textfile (text exposition format 0.0.4)
 * of the latest profiles. Pure: the CLI writes the text to a temporary file and renames it.
 *
 *   std::string text = watch::render_prometheus(profiles, findings, now);
 */
#include <cstdint>
#include <string>
#include <vector>

#include "postern/watch/diff.hpp"
#include "postern/watch/profile.hpp"

namespace postern::watch {

/**
 * Metrics per target (label target="host:port"): postern_watch_up, postern_watch_cert_expiry_seconds
 * (leaf notAfter minus @p now), postern_watch_cert_not_after_timestamp_seconds,
 * postern_watch_tls_version_accepted{version}, postern_watch_client_ok{family},
 * postern_watch_findings{level}; and postern_watch_last_run_timestamp_seconds. Each with HELP and TYPE.
 */
std::string render_prometheus(const std::vector<profile>& profiles, const std::vector<finding>& findings,
                              std::int64_t now);

}  // namespace postern::watch
