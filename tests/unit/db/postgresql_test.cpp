// What only the PostgreSQL back end does at open: a database that is not a ledger, and a ledger of a newer
// deliveryd, are refused with a sentence and left as they were. Tagged [.][postgresql]: they run in ctest's
// "db_tests on postgresql" entry only.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "db/postgresql/schema.hpp"
#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

TEST_CASE("postgresql: a database with other tables is refused and left as it was", "[.][postgresql]") {
  REQUIRE(on_postgresql());
  temp_dir dir;
  damage(dir.ledger(), "CREATE TABLE invoices (id int PRIMARY KEY); INSERT INTO invoices VALUES (7)");
  auto opened = db::open_writer(ledger_at(dir.ledger()));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().cause == db::fault::corrupt);
  CHECK_THAT(opened.error().message, Catch::Contains("not a deliveryd ledger"));
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 1);
  CHECK(peek_int(dir.ledger(), "SELECT id FROM invoices") == 7);
}

TEST_CASE("postgresql: a ledger of a newer deliveryd is refused, and one of this version opens again",
          "[.][postgresql]") {
  REQUIRE(on_postgresql());
  temp_dir dir;
  REQUIRE(register_committed(*open_store(dir.ledger()), {make_send("kept")}).accepted == 1);
  REQUIRE(db::open_writer(ledger_at(dir.ledger()))); // again, with its schema already there: nothing to do
  damage(dir.ledger(), "UPDATE deliveryd_meta SET value = '99' WHERE key = 'schema_version'");
  auto opened = db::open_writer(ledger_at(dir.ledger()));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().cause == db::fault::corrupt);
  CHECK_THAT(opened.error().message, Catch::Contains("schema version 99") && Catch::Contains("run a newer deliveryd"));
  damage(dir.ledger(), "UPDATE deliveryd_meta SET value = '" + std::to_string(db::postgresql::latest_schema_version())
                         + "' WHERE key = 'schema_version'");
  auto reopened = open_store(dir.ledger());
  CHECK(send_of(dir.ledger(), "kept").row.status == "pending");
}

TEST_CASE("postgresql: a ledger of schema version 1 is upgraded in place, its sends kept", "[.][postgresql]") {
  REQUIRE(on_postgresql());
  temp_dir dir;
  REQUIRE(register_committed(*open_store(dir.ledger()), {make_send("kept")}).accepted == 1);
  // What version 2 added, taken away again: the ledger as the first release of the PostgreSQL back end left it.
  damage(dir.ledger(), "DROP TABLE fetch_starts; DROP INDEX sends_by_claim; "
                       "UPDATE deliveryd_meta SET value = '1' WHERE key = 'schema_version'");
  std::vector<std::string> told;
  auto options = ledger_at(dir.ledger());
  options.on_progress = [&](const std::string& what) { told.push_back(what); };
  REQUIRE(db::open_writer(options));
  CHECK(peek_int(dir.ledger(), "SELECT value::int FROM deliveryd_meta WHERE key = 'schema_version'")
        == db::postgresql::latest_schema_version());
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM fetch_starts") == 0);
  REQUIRE_FALSE(told.empty());
  CHECK_THAT(told.front(), Catch::Contains("from schema version 1"));
  CHECK(send_of(dir.ledger(), "kept").row.status == "pending");
}

TEST_CASE("postgresql: two writers opening a new ledger at once create it once", "[.][postgresql]") {
  REQUIRE(on_postgresql());
  temp_dir dir;
  const auto options = ledger_at(dir.ledger());
  std::vector<std::thread> openers;
  std::atomic<int> opened{0};
  for (int i = 0; i < 3; ++i)
    openers.emplace_back([&] {
      if (db::open_writer(options))
        ++opened;
    });
  for (auto& t : openers)
    t.join();
  CHECK(opened == 3); // the migration lock: one created the schema, the others waited and found it there
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM deliveryd_meta WHERE key = 'schema_version'") == 1);
}
