// The storage interface's promise about failures: what fails comes back as a ledger_error with its cause, never as
// a back end's exception, and a failed transaction leaves nothing behind.
#include <catch2/catch.hpp>

#include <fstream>

#include "db/reader_pool.hpp"
#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;


TEST_CASE("a write that fails is an error value, and the rolled-back transaction stored nothing", "[db][interface]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("kept")}).accepted == 1);
  damage(dir.ledger(), "ALTER TABLE events RENAME TO events_gone");

  REQUIRE(store->begin());
  // The send's row is written, then its intake event cannot be: the call reports it instead of throwing.
  auto out = store->register_sends({make_send("lost")}, {}, t0);
  REQUIRE_FALSE(out);
  CHECK(out.error().cause == db::fault::unavailable);
  CHECK_THAT(out.error().message, Catch::Contains("events"));
  CHECK_THROWS_AS(out.value(), db::ledger_failure);
  store->rollback();

  damage(dir.ledger(), "ALTER TABLE events_gone RENAME TO events");
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == 1);
  // The writer goes on once the ledger is whole again.
  CHECK(register_committed(*store, {make_send("next")}).accepted == 1);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends WHERE send_id IN ('kept', 'next')") == 2);
}

TEST_CASE("a read that fails is an error value, and the connection reads again afterwards", "[db][interface]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("a")}).accepted == 1);
  db::reader_pool pool{ledger_at(dir.ledger())};
  auto lease = pool.acquire();
  REQUIRE(lease);
  auto& reader = **lease;
  REQUIRE(reader.find("a").value().has_value());

  damage(dir.ledger(), "ALTER TABLE sends RENAME TO sends_gone");
  auto found = reader.find("a");
  REQUIRE_FALSE(found);
  CHECK(found.error().cause == db::fault::unavailable);
  CHECK_THAT(found.error().message, Catch::Contains("sends"));
  auto page = reader.day(t0 - std::chrono::hours{1}, t0 + std::chrono::hours{1}, {}, 10, std::nullopt);
  CHECK_FALSE(page);

  damage(dir.ledger(), "ALTER TABLE sends_gone RENAME TO sends");
  auto again = reader.find("a");
  REQUIRE(again);
  CHECK(again->has_value());
}

TEST_CASE("a ledger that must not be opened says why, with its cause", "[db][sqlite][interface]") {
  temp_dir dir;
  SECTION("an empty file is damaged, never replaced") {
    std::ofstream{dir.ledger()};
    auto opened = db::open_writer(ledger_at(dir.ledger()));
    REQUIRE_FALSE(opened);
    CHECK(opened.error().cause == db::fault::corrupt);
    CHECK_THAT(opened.error().message, Catch::Contains("empty"));
  }
  SECTION("a ledger of a newer deliveryd") {
    open_store(dir.ledger()).reset();
    damage(dir.ledger(), "PRAGMA user_version = 99");
    auto opened = db::open_writer(ledger_at(dir.ledger()));
    REQUIRE_FALSE(opened);
    CHECK(opened.error().cause == db::fault::corrupt);
  }
  SECTION("a file that is not a ledger") {
    std::ofstream{dir.ledger()} << std::string(8192, 'x');
    auto opened = db::open_writer(ledger_at(dir.ledger()));
    REQUIRE_FALSE(opened);
    CHECK(opened.error().cause == db::fault::corrupt);
  }
  SECTION("a reader of a ledger that does not exist") {
    auto opened = db::open_reader(ledger_at(dir.ledger()));
    REQUIRE_FALSE(opened);
    CHECK(opened.error().cause == db::fault::unavailable);
  }
}
