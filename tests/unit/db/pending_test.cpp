/// ledger_reader::pending_by_vendor: the gauge of pending sends per vendor, counted by the writer in pending_sends.

#include <catch2/catch.hpp>

#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using core::status;
using counts = std::vector<std::pair<std::string, std::int64_t>>;

TEST_CASE("pending sends are counted per vendor; final, excluded and uncertain ones are not", "[db][pending]") {
  temp_dir dir;
  auto store = open_store(dir.ledger(), {{core::vendor::twilio, twilio_after}, {core::vendor::carrier, 2h}});
  auto reader = open_reader(dir.ledger());
  CHECK(reader->pending_by_vendor().value().empty());

  auto a = make_send("a", t0);
  auto b = make_send("b", t0 + 1s);
  b.vendor_message_id = "SM-b";
  auto c = make_send("c", t0 + 2s);
  c.vendor = core::vendor::carrier;
  auto excluded = make_send("x", t0 + 3s);
  excluded.vendor.reset();
  excluded.excluded = 10006;
  REQUIRE(register_committed(*store, {a, b, c, excluded}).accepted == 4);
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}, {"twilio", 2}});

  apply_committed(*store, {make_event("SM-b", status::sent, t0 + 5s, "b-delivered")});
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}, {"twilio", 1}});

  // a's deadline passes: uncertain is final for reporting, not pending.
  CHECK(fire_committed(*store, t0 + twilio_after) == 1);
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}});
}

TEST_CASE("the pending counts follow the transactions that change the sends: rollback, purge, re-post",
          "[db][pending]") {
  temp_dir dir;
  // No deadline for the carrier here: its send stays pending until the purge takes it.
  auto store = open_store(dir.ledger(), {{core::vendor::twilio, twilio_after}});
  auto reader = open_reader(dir.ledger());
  auto old = make_send("old", t0 - std::chrono::hours{24 * 400});
  old.vendor = core::vendor::carrier;
  REQUIRE(register_committed(*store, {old, make_send("a"), make_send("b")}).accepted == 3);
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}, {"twilio", 2}});

  // Rolled back with the sends they counted.
  store->begin().value();
  CHECK(store->register_sends({make_send("c")}, {}, t0).value().accepted == 1);
  CHECK(store->apply_events({make_event("SM-x", status::sent, t0, "held")}, t0).value().held == 1);
  store->rollback();
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}, {"twilio", 2}});

  // A re-post is a duplicate and counts nothing; a vendor id learnt later changes no state.
  auto a_with_id = make_send("a");
  a_with_id.vendor_message_id = "SM-a";
  auto again = register_committed(*store, {make_send("b"), a_with_id});
  CHECK(again.duplicates == 1);
  CHECK(again.updated == 1);
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}, {"twilio", 2}});

  // The purge takes the year-old send out, and its count with it.
  store->begin().value();
  CHECK(store->purge(t0, 365, 100).value().sends == 1);
  store->commit().value();
  CHECK(reader->pending_by_vendor().value() == counts{{"twilio", 2}}); // carrier's count is gone, not at zero

  // The counts agree with the sends themselves.
  std::map<std::string, std::int64_t> pending;
  for (const auto& id : all_sends(dir.ledger()))
    if (const auto row = send_of(dir.ledger(), id).row; row.status == "pending")
      ++pending[row.vendor];
  CHECK(reader->pending_by_vendor().value() == counts(pending.begin(), pending.end()));

  // A purge outside a transaction settles its counts itself, like every other write.
  auto older = make_send("older", t0 - std::chrono::hours{24 * 400});
  older.vendor = core::vendor::carrier;
  REQUIRE(register_committed(*store, {older}).accepted == 1);
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}, {"twilio", 2}});
  CHECK(store->purge(t0, 365, 100).value().sends == 1);
  CHECK(reader->pending_by_vendor().value() == counts{{"twilio", 2}});
}
