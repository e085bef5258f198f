#pragma once
// The SQLite queue (private): one file, WAL, synchronous=FULL, one transaction per call;
// take_due() runs under BEGIN IMMEDIATE so two processes never lease the same row.
#include <memory>
#include <string>

#include "postern/queue/store.hpp"

namespace postern::queue {

/** Opens (creating) the queue file @p path; throws store_error. */
std::unique_ptr<store> open_sqlite(const std::string& path);

}  // namespace postern::queue
