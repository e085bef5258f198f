#include "queue/postgresql_store.hpp"

#include <gtest/gtest.h>

namespace postern::queue {
namespace {

TEST(PostgresqlUrl, RedactsThePassword) {
  EXPECT_EQ(redact_postgresql_url("postgresql://u:secret@db.example:5432/q"), "postgresql://u@db.example:5432/q");
  EXPECT_EQ(redact_postgresql_url("postgres://u@h/q?password=secret&sslmode=require"),
            "postgres://u@h/q?sslmode=require");
  EXPECT_EQ(redact_postgresql_url("postgresql://h/q?sslmode=require&password=x"), "postgresql://h/q?sslmode=require");
  EXPECT_EQ(redact_postgresql_url("postgresql:///q"), "postgresql:///q");
  EXPECT_EQ(redact_postgresql_url("postgresql://[::1]:5432/q"), "postgresql://[::1]:5432/q");
  EXPECT_EQ(redact_postgresql_url("postgresql://u:p%40ss@[::1]:5432"), "postgresql://u@[::1]:5432");
}

}  // namespace
}  // namespace postern::queue
