#pragma once
// Internal (not installed as a header): the one way postern opens a SQLite file that several
// postern processes use at once — the host memory, the watch state and the queue.
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <string_view>

namespace postern::sqlite {

/** Opens @p path read-write, creating it and its folder, in WAL mode (readers never block the
    writer) with a busy timeout of @p busy (other processes' short write locks are waited for, not
    failed on). The caller owns the handle (sqlite3_close). Throws std::runtime_error
    "cannot open WHAT PATH: REASON" with @p what naming the file for the user. */
sqlite3* open_shared_database(const std::string& path, std::string_view what, std::chrono::milliseconds busy);

}  // namespace postern::sqlite
