#include "postern/queue/postgresql_url.hpp"

#include <gtest/gtest.h>

namespace postern::queue {
namespace {

TEST(PostgresqlUrl, RedactsThePassword) {
  EXPECT_EQ(redact_postgresql_url("postgresql://u:secret@db.example:5432/q"),
            "postgresql://u@db.example:5432/q");
  EXPECT_EQ(redact_postgresql_url("postgres://u@h/q?password=secret&sslmode=require"),
            "postgres://u@h/q?sslmode=require");
  EXPECT_EQ(redact_postgresql_url("postgresql://h/q?sslmode=require&password=x"),
            "postgresql://h/q?sslmode=require");
  EXPECT_EQ(redact_postgresql_url("postgresql:///q"), "postgresql:///q");
  EXPECT_EQ(redact_postgresql_url("postgresql://[::1]:5432/q"), "postgresql://[::1]:5432/q");
  EXPECT_EQ(redact_postgresql_url("postgresql://u:p%40ss@[::1]:5432"), "postgresql://u@[::1]:5432");
  EXPECT_EQ(redact_postgresql_url("postgresql://u:p@ss@[::1]:5432/q"), "postgresql://u@[::1]:5432/q");
  EXPECT_EQ(redact_postgresql_url("postgresql://u@h/q?password=a&password=b"), "postgresql://u@h/q");
  EXPECT_EQ(redact_postgresql_url("postgresql://u@h/q?passwordx=1"), "postgresql://u@h/q?passwordx=1");
  EXPECT_EQ(redact_postgresql_url("/var/lib/postern/queue.sqlite"), "/var/lib/postern/queue.sqlite");
}

// The cases the fuzzer found or libpq's reading implies: a "://" inside the query is no
// authority; a '?' in a password does not start the query; a percent-encoded key is decoded.
TEST(PostgresqlUrl, ReadsTheUrlAsLibpqDoes) {
  EXPECT_EQ(redact_postgresql_url("x?password=s&y=postgresql://u:p@h"), "x?y=postgresql://u:p@h");
  EXPECT_EQ(redact_postgresql_url("postgresql://u:pa?ss@h/q"), "postgresql://u@h/q");
  EXPECT_EQ(redact_postgresql_url("postgresql://u@x?password=s@h/q"), "postgresql://u@x");
  EXPECT_EQ(redact_postgresql_url("postgresql://h/q?pass%77ord=s&a=1"), "postgresql://h/q?a=1");
  EXPECT_EQ(redact_postgresql_url("postgresql://h?password=/&a:b@c"), "postgresql://h?a@c");
}

}  // namespace
}  // namespace postern::queue
