// The throwaway PostgreSQL cluster the shared-ledger tests stand on (tests/support/postgres_cluster.hpp): it
// starts as Debian's PostgreSQL 15 with durable commits, keeps committed data across a crash of the server, and
// leaves nothing behind; the benchmarks' kept cluster stays for its next owner.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <libpq-fe.h>
#include <pqxx/pqxx>

#include "../../support/postgres_cluster.hpp"

using deliveryd::testing::postgres_cluster;

namespace {

/// The single value a query gives, on a connection of its own.
std::string one_value(const postgres_cluster& cluster, const std::string& sql) {
  pqxx::connection c{cluster.connection_string()};
  pqxx::nontransaction tx{c};
  return tx.exec1(sql)[0].as<std::string>();
}

} // namespace

TEST_CASE("a throwaway cluster is PostgreSQL 15 on a socket of its own, with durable commits", "[postgres]") {
  postgres_cluster cluster;
  CHECK(std::stoi(one_value(cluster, "SHOW server_version_num")) / 10000 == 15);
  CHECK(one_value(cluster, "SHOW fsync") == "on");
  CHECK(one_value(cluster, "SHOW synchronous_commit") == "on");
  CHECK(one_value(cluster, "SHOW listen_addresses").empty()); // no TCP port
  CHECK(std::filesystem::exists(cluster.dir() / ".s.PGSQL.5432"));
}

TEST_CASE("what was committed survives an immediate stop, and clients see the server go and come back",
          "[postgres]") {
  postgres_cluster cluster;
  {
    pqxx::connection c{cluster.connection_string()};
    pqxx::work tx{c};
    tx.exec0("CREATE TABLE kept (id int PRIMARY KEY)");
    tx.exec0("INSERT INTO kept SELECT generate_series(1, 1000)");
    tx.commit();
  }
  // A client connected before the crash: asked with libpq itself, since libpqxx 6.4 leaks libpq's result of a
  // statement that fails on a broken connection, and libpq's connection when a connect fails (LeakSanitizer shows
  // both): the shared-ledger back end must not reach those paths through libpqxx, or must free what they leave.
  PGconn* held = PQconnectdb(cluster.connection_string().c_str());
  REQUIRE(PQstatus(held) == CONNECTION_OK);
  cluster.stop(postgres_cluster::stop_mode::immediate);
  CHECK_FALSE(cluster.running());
  PGresult* refused = PQexec(held, "SELECT 1");
  CHECK(PQresultStatus(refused) == PGRES_FATAL_ERROR);
  PQclear(refused);
  PQfinish(held);
  CHECK(PQping(cluster.connection_string().c_str()) == PQPING_NO_RESPONSE);

  cluster.start();
  CHECK(PQping(cluster.connection_string().c_str()) == PQPING_OK);
  CHECK(one_value(cluster, "SELECT count(*) FROM kept") == "1000");
}

TEST_CASE("a cluster's folder is gone once it is", "[postgres]") {
  std::filesystem::path dir;
  {
    postgres_cluster cluster;
    dir = cluster.dir();
    REQUIRE(std::filesystem::exists(dir / "data" / "PG_VERSION"));
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("a kept cluster keeps its data for the next owner, with its settings, and has one owner at a time",
          "[postgres]") {
  auto pattern = (std::filesystem::temp_directory_path() / "deliveryd-kept-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  // The server runs as nobody when the tests run as root: it must reach its folder.
  std::filesystem::permissions(pattern, std::filesystem::perms::owner_all | std::filesystem::perms::group_exec
                                          | std::filesystem::perms::others_exec);
  const std::filesystem::path dir = std::filesystem::path{pattern} / "pg";
  {
    postgres_cluster cluster{dir, {"shared_buffers=64MB"}};
    CHECK(cluster.query("postgres", "SHOW shared_buffers") == std::vector<std::vector<std::string>>{{"64MB"}});
    CHECK(cluster.query("postgres", "SHOW fsync") == std::vector<std::vector<std::string>>{{"on"}});
    CHECK(cluster.server_pid() > 0);
    cluster.query("postgres", "CREATE TABLE kept (id int)");
    cluster.query("postgres", "INSERT INTO kept VALUES (7)");
    CHECK_THROWS_AS((postgres_cluster{dir, {}}), std::runtime_error);
  }
  CHECK(std::filesystem::exists(dir / "data" / "PG_VERSION"));
  {
    postgres_cluster cluster{dir, {}};
    CHECK(cluster.query("postgres", "SELECT id FROM kept") == std::vector<std::vector<std::string>>{{"7"}});
    CHECK(cluster.query("postgres", "SHOW shared_buffers") == std::vector<std::vector<std::string>>{{"128MB"}});
  }
  std::filesystem::remove_all(pattern);
}
