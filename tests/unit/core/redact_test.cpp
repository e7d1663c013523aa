// What a log line or an error may show of a PostgreSQL connection string: everything but the password.
#include <catch2/catch.hpp>

#include "core/redact.hpp"

using deliveryd::core::conninfo_password;
using deliveryd::core::redact_conninfo;

TEST_CASE("a connection string's password is replaced, in a URI and in libpq's keywords", "[core][redact]") {
  CHECK(redact_conninfo("postgresql://deliveryd:s3cr%40t@db1:5432/ledger?sslmode=require")
        == "postgresql://deliveryd:***@db1:5432/ledger?sslmode=require");
  CHECK(redact_conninfo("postgres://u:pw@h/db") == "postgres://u:***@h/db");
  CHECK(redact_conninfo("postgresql://db1/ledger?user=d&password=pw&sslmode=require")
        == "postgresql://db1/ledger?user=d&password=***&sslmode=require");
  CHECK(redact_conninfo("host=db1 user=d password=pw dbname=ledger") == "host=db1 user=d password=*** dbname=ledger");
  CHECK(redact_conninfo("host=db1 password = 'a b\\'c' dbname=ledger") == "host=db1 password = *** dbname=ledger");
  // Nothing to hide: unchanged, a user name included.
  CHECK(redact_conninfo("postgresql://deliveryd@db1/ledger") == "postgresql://deliveryd@db1/ledger");
  CHECK(redact_conninfo("host=/run/postgresql dbname=ledger") == "host=/run/postgresql dbname=ledger");
}

TEST_CASE("the password of a connection string is found, to be kept out of messages", "[core][redact]") {
  CHECK(conninfo_password("postgresql://deliveryd:s3cr%40t@db1/ledger") == "s3cr%40t");
  CHECK(conninfo_password("host=db1 password='a b' dbname=x") == "a b");
  CHECK(conninfo_password("postgresql://h/db?password=pw") == "pw");
  CHECK(conninfo_password("postgresql://deliveryd@db1/ledger").empty());
  CHECK(conninfo_password("host=db1").empty());
}
