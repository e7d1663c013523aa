/// fire_deadlines, and the writer's group transactions.

#include <catch2/catch.hpp>

#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using core::status;
using strings = std::vector<std::string>;

TEST_CASE("a pending send becomes uncertain ME09 at requested_at + uncertain_after, not before", "[db][deadline]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto s = make_send("a");
  s.vendor_message_id = "SM1";
  REQUIRE(register_committed(*store, {s}).accepted == 1);
  const auto due = t0 + twilio_after;

  CHECK(fire_committed(*store, due - 1ms) == 0);
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends") == "pending");
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM events") == 1);

  CHECK(fire_committed(*store, due + 250ms) == 1);
  const auto& path = dir.ledger();
  CHECK(peek_text(path, "SELECT status || '/' || code || '/' || category FROM sends") == "uncertain/ME09/unknown");
  CHECK_FALSE(peek_text(path, "SELECT reason FROM sends").empty());
  CHECK(peek_int(path, "SELECT decided_at FROM sends") == core::to_millis(due + 250ms));
  CHECK(peek_text(path, "SELECT deadline_at FROM sends") == "<null>");
  auto reader = open_reader(path);
  CHECK(history_of(*reader, "a") == strings{"intake/pending/", "deadline/uncertain/ME09"});
  CHECK(reader->find("a").value()->history.back().at == due + 250ms);

  // It fires once.
  CHECK(fire_committed(*store, due + 1h) == 0);
  CHECK(history_of(*reader, "a").size() == 2);

  // A later delivery corrects it, and the history keeps both.
  auto out = apply_committed(*store, {make_event("SM1", status::sent, due + 2h, "d1")});
  CHECK(out.applied == 1);
  CHECK(out.corrected == 1);
  CHECK(peek_text(path, "SELECT status || '/' || code FROM sends") == "sent/");
  CHECK(history_of(*reader, "a") == strings{"intake/pending/", "deadline/uncertain/ME09", "webhook/sent/"});
}

TEST_CASE("the exact moment of the deadline is due", "[db][deadline]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("a")}).accepted == 1);
  CHECK(fire_committed(*store, t0 + twilio_after) == 1);
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends") == "uncertain");
}

TEST_CASE("deadlines never fire for final sends", "[db][deadline]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto sent = make_send("sent");
  sent.vendor_message_id = "SM1";
  auto failed = make_send("failed");
  failed.vendor_message_id = "SM2";
  auto excluded = make_send("excluded");
  excluded.excluded = 10001;
  REQUIRE(register_committed(*store, {sent, failed, excluded}).accepted == 3);
  REQUIRE(apply_committed(*store, {make_event("SM1", status::sent, t0 + 1s, "d1"),
                                   make_event("SM2", status::failed, t0 + 1s, "f2", "twilio:30003",
                                              core::category::unreachable)})
            .applied == 2);

  CHECK(fire_committed(*store, t0 + 10 * twilio_after) == 0);
  CHECK(peek_text(dir.ledger(), "SELECT group_concat(status, ',') FROM (SELECT status FROM sends ORDER BY id)")
        == "sent,failed,excluded");
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM events WHERE source = 'deadline'") == 0);
}

TEST_CASE("a pending vendor event does not stop the deadline", "[db][deadline]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto s = make_send("a");
  s.vendor_message_id = "SM1";
  REQUIRE(register_committed(*store, {s}).accepted == 1);
  // Twilio "queued"/"sent" are pending: not a final result.
  REQUIRE(apply_committed(*store, {make_event("SM1", status::pending, t0 + 1s, "q")}).applied == 1);
  CHECK(fire_committed(*store, t0 + twilio_after) == 1);
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends") == "uncertain");
}

TEST_CASE("a send that became final keeps its deadline until the sweep, which only clears it", "[db][deadline]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto open = send_with_id("open", "SM2");
  open.requested_at = t0 + 1s; // its deadline comes second
  REQUIRE(register_committed(*store, {send_with_id("done", "SM1"), open}).accepted == 2);
  REQUIRE(apply_committed(*store, {make_event("SM1", status::sent, t0 + 5s, "SM1|delivered")}).applied == 1);
  const auto& path = dir.ledger();
  CHECK(peek_int(path, "SELECT count(*) FROM sends WHERE deadline_at IS NOT NULL") == 2);

  // One send per sweep. The final one comes first: its deadline is cleared, nothing fires, and the full batch
  // says there may be more.
  const auto now = t0 + 1s + twilio_after;
  std::map<core::vendor, std::size_t> per_vendor;
  store->begin().value();
  const auto first = store->fire_deadlines(now, 1, &per_vendor).value();
  store->commit().value();
  CHECK(first.fired == 0);
  CHECK(first.more);
  CHECK(per_vendor.empty());
  CHECK(peek_text(path, "SELECT deadline_at FROM sends WHERE send_id = 'done'") == "<null>");
  CHECK(peek_text(path, "SELECT status FROM sends WHERE send_id = 'done'") == "sent");

  store->begin().value();
  const auto second = store->fire_deadlines(now, 1, &per_vendor).value();
  store->commit().value();
  CHECK(second.fired == 1);
  CHECK(per_vendor == std::map<core::vendor, std::size_t>{{core::vendor::twilio, 1}});
  CHECK(fire_committed(*store, now + 1h) == 0);

  CHECK(peek_int(path, "SELECT count(*) FROM sends WHERE deadline_at IS NOT NULL") == 0);
  CHECK(peek_text(path, "SELECT status || '/' || code FROM sends WHERE send_id = 'open'") == "uncertain/ME09");
  CHECK(peek_int(path, "SELECT count(*) FROM events WHERE source = 'deadline'") == 1);
  auto reader = open_reader(path);
  CHECK(history_of(*reader, "done") == strings{"intake/pending/", "webhook/sent/"});
}

TEST_CASE("fire_deadlines respects its limit, oldest deadline first", "[db][deadline]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  std::vector<adapters::intake::send_request> sends;
  for (int i = 0; i < 5; ++i)
    sends.push_back(make_send("s" + std::to_string(i), t0 - std::chrono::minutes{i}));
  REQUIRE(register_committed(*store, sends).accepted == 5);
  const auto now = t0 + twilio_after;

  CHECK(fire_committed(*store, now, 2) == 2);
  // The two oldest deadlines fired first.
  CHECK(peek_text(dir.ledger(), "SELECT group_concat(send_id, ',') FROM "
                                "(SELECT send_id FROM sends WHERE status = 'uncertain' ORDER BY send_id)")
        == "s3,s4");
  CHECK(fire_committed(*store, now, 2) == 2);
  CHECK(fire_committed(*store, now, 2) == 1);
  CHECK(fire_committed(*store, now, 2) == 0);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends WHERE status = 'uncertain' AND code = 'ME09'") == 5);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM events WHERE source = 'deadline'") == 5);
}

TEST_CASE("a rolled-back transaction leaves nothing", "[db][transaction]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("kept")}).accepted == 1);

  store->begin().value();
  CHECK(store->register_sends({make_send("a"), make_send("b")}, {}, t0).value().accepted == 2);
  CHECK(store->apply_events({make_event("SM9", status::sent, t0, "h")}, t0).value().held == 1);
  CHECK(store->fire_deadlines(t0 + 10h, 100).value().fired == 3);
  store->rollback();

  const auto& path = dir.ledger();
  CHECK(peek_text(path, "SELECT group_concat(send_id) FROM sends") == "kept");
  CHECK(peek_text(path, "SELECT status FROM sends") == "pending");
  CHECK(peek_int(path, "SELECT count(*) FROM events") == 1);

  // A rollback without a transaction is harmless, and the store still works.
  store->rollback();
  CHECK(store->probe());
  CHECK(register_committed(*store, {make_send("a")}).accepted == 1);
}

TEST_CASE("a committed transaction persists across reopening", "[db][transaction]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    store->begin().value();
    auto s = make_send("a");
    s.vendor_message_id = "SM1";
    CHECK(store->register_sends({s}, {}, t0).value().accepted == 1);
    CHECK(store->apply_events({make_event("SM1", status::sent, t0 + 1s, "d")}, t0).value().applied == 1);
    store->commit().value();
  }
  auto store = open_store(dir.ledger());
  auto reader = open_reader(dir.ledger());
  auto detail = reader->find("a").value();
  REQUIRE(detail);
  CHECK(detail->row.status == "sent");
  CHECK(detail->vendor_message_id == "SM1");
  CHECK(history_of(*reader, "a") == strings{"intake/pending/", "webhook/sent/"});
}

TEST_CASE("begin inside a transaction throws, the open transaction is unharmed", "[db][transaction]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  store->begin().value();
  CHECK(store->register_sends({make_send("a")}, {}, t0).value().accepted == 1);
  CHECK_THROWS_WITH(store->begin().value(), Catch::Contains("within a transaction"));
  store->commit().value();
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == 1);
}
