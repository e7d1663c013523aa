/// ledger_reader::pending_by_vendor: the gauge of pending sends per vendor, and the index that keeps it cheap.

#include <catch2/catch.hpp>

#include <SQLiteCpp/Statement.h>

#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using core::status;
using counts = std::vector<std::pair<std::string, std::int64_t>>;

TEST_CASE("pending sends are counted per vendor; final, excluded and uncertain ones are not", "[db][pending]") {
  temp_dir dir;
  auto store = open_store(dir.ledger(), {{core::vendor::twilio, twilio_after}, {core::vendor::carrier, 2h}});
  auto reader = open_reader(dir.ledger());
  CHECK(reader->pending_by_vendor().empty());

  auto a = make_send("a", t0);
  auto b = make_send("b", t0 + 1s);
  b.vendor_message_id = "SM-b";
  auto c = make_send("c", t0 + 2s);
  c.vendor = core::vendor::carrier;
  auto excluded = make_send("x", t0 + 3s);
  excluded.vendor.reset();
  excluded.excluded = 10006;
  REQUIRE(register_committed(*store, {a, b, c, excluded}).accepted == 4);
  CHECK(reader->pending_by_vendor() == counts{{"carrier", 1}, {"twilio", 2}});

  apply_committed(*store, {make_event("SM-b", status::sent, t0 + 5s, "b-delivered")});
  CHECK(reader->pending_by_vendor() == counts{{"carrier", 1}, {"twilio", 1}});

  // a's deadline passes: uncertain is final for reporting, not pending.
  CHECK(fire_committed(*store, t0 + twilio_after) == 1);
  CHECK(reader->pending_by_vendor() == counts{{"carrier", 1}});
}

TEST_CASE("the pending count reads a partial index of the pending sends, not the whole table", "[db][pending]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  SQLite::Database db{dir.ledger(), SQLite::OPEN_READONLY};
  SQLite::Statement plan{db, "EXPLAIN QUERY PLAN SELECT coalesce(vendor, ''), count(*) FROM sends "
                             "WHERE deadline_at IS NOT NULL GROUP BY 1"};
  std::string details;
  while (plan.executeStep())
    details += plan.getColumn(3).getString() + "\n";
  INFO(details);
  // sends_by_deadline today; a covering index of (vendor) WHERE deadline_at IS NOT NULL would serve it too.
  CHECK(details.find(" INDEX sends_") != std::string::npos);
  CHECK(details.find("SCAN sends\n") == std::string::npos);
}
