#pragma once
// The PostgreSQL queue (private). The pg branch implements it (postgresql_store.cpp); without it
// postgresql_unavailable.cpp throws store_error.
#include <memory>
#include <string>

#include "postern/queue/store.hpp"

namespace postern::queue {

/** Opens the queue at @p url (postgresql://… or postgres://…); throws store_error. */
std::unique_ptr<store> open_postgresql(const std::string& url);

}  // namespace postern::queue
