#pragma once
/**
 * @file
 * `postern watch`: probe each target (postern/probe/probe.hpp), compare with the profile
 * stored last time, store the new one, prune old ones (docs/watch.md).
 *
 *   watch::options o;
 *   o.probe.targets = {{"127.0.0.1", 465}};
 *   auto r = watch::run(o);                 // throws std::runtime_error for state-database problems
 *   for (const auto& t : r.targets) for (const auto& f : t.findings) std::cout << f.summary << "\n";
 */
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "postern/probe/probe.hpp"
#include "postern/watch/diff.hpp"
#include "postern/watch/profile.hpp"

namespace postern::watch {

/** What run() watches, and how. */
struct options {
  probe::options probe;     ///< the targets and how to probe them
  std::string state_path;   ///< "" = store::default_path()
  compare_options compare;  ///< thresholds and the uses of the hosts
  std::int64_t keep_seconds =
      90 * 86400;                   ///< profiles older than this are pruned (the newest per target stays)
  std::optional<std::int64_t> now;  ///< the time to record; nullopt = the clock
};

/** One target: what was stored before, what was found now, and the findings. */
struct target_result {
  std::optional<profile> before;  ///< the previous profile, nullopt the first time
  profile now;                    ///< the profile just taken (and stored)
  std::vector<finding> findings;  ///< compare(before, now)
};

/** The result of run(). */
struct result {
  std::vector<target_result> targets;  ///< in the probe's target order (port 0 expanded)
  std::size_t pruned = 0;              ///< old profiles removed
  /** Every finding of every target. */
  std::vector<finding> all_findings() const;
};

/** The probe's view of one target as a profile taken at @p time. */
profile from_probe(const probe::target_report& t, std::int64_t time);

/** Probes, compares, stores and prunes. Network problems are findings; the database's throw. */
result run(const options& o);

}  // namespace postern::watch
