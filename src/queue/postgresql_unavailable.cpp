// Built until the pg branch replaces this file with postgresql_store.cpp.
#include "queue/postgresql_store.hpp"

namespace postern::queue {

std::unique_ptr<store> open_postgresql(const std::string& url) {
  (void)url;
  throw store_error("PostgreSQL queues need the pg branch");
}

}  // namespace postern::queue
