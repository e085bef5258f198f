#pragma once
// The queue on PostgreSQL (libpq): one table shared by every relay and worker that opens the same
// URL, leases taken with FOR UPDATE SKIP LOCKED. open_store() calls open_postgresql() for
// postgresql:// and postgres:// locations; the semantics are those of include/postern/queue/store.hpp.
#include <memory>
#include <string>

#include "postern/queue/postgresql_url.hpp"
#include "postern/queue/store.hpp"

namespace postern::queue {

/** Connects to @p url (a libpq connection URI), creates or upgrades the queue's table and returns
    the store. One connection per store: use one store per thread. Throws store_error naming the
    location (without its password) and PostgreSQL's reason. */
std::unique_ptr<store> open_postgresql(const std::string& url);

}  // namespace postern::queue
