#include "sqlite/shared_database.hpp"

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace postern::sqlite {

sqlite3* open_shared_database(const std::string& path, std::string_view what,
                              std::chrono::milliseconds busy) {
  std::error_code ec;
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);  // a failure shows in the open
  sqlite3* db = nullptr;
  const auto fail = [&](const std::string& reason) {
    sqlite3_close(db);
    return std::runtime_error("cannot open " + std::string(what) + " " + path + ": " + reason);
  };
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    throw fail(db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_busy_timeout(db, static_cast<int>(busy.count()));
  char* err = nullptr;
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, &err) != SQLITE_OK) {
    std::string reason = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw fail(reason);
  }
  return db;
}

}  // namespace postern::sqlite
