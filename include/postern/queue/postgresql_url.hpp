#pragma once
/**
 * @file
 * A PostgreSQL queue's URL as postern shows it: without its password. store::location() of a
 * PostgreSQL queue is this, and so is every error about it.
 *
 *   postern::queue::redact_postgresql_url("postgresql://q:secret@db/mail")  // "postgresql://q@db/mail"
 */
#include <string>
#include <string_view>

namespace postern::queue {

/** @p url without the password: the `:secret` of `user:secret@` and every `password=` query
    parameter are removed; everything else is kept as written (also for a string that is no URL). */
std::string redact_postgresql_url(std::string_view url);

}  // namespace postern::queue
