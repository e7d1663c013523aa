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
  CHECK(send_of(dir.ledger(), "a").row.status == "pending");
  CHECK(send_of(dir.ledger(), "a").history.size() == 1);

  CHECK(fire_committed(*store, due + 250ms) == 1);
  const auto& path = dir.ledger();
  const auto row = send_of(path, "a").row;
  CHECK(row.status + "/" + row.code + "/" + row.category == "uncertain/ME09/unknown");
  CHECK_FALSE(row.reason.empty());
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
  CHECK(send_of(path, "a").row.status + "/" + send_of(path, "a").row.code == "sent/");
  CHECK(history_of(*reader, "a") == strings{"intake/pending/", "deadline/uncertain/ME09", "webhook/sent/"});
}

TEST_CASE("the exact moment of the deadline is due", "[db][deadline]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("a")}).accepted == 1);
  CHECK(fire_committed(*store, t0 + twilio_after) == 1);
  CHECK(send_of(dir.ledger(), "a").row.status == "uncertain");
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
  auto reader = open_reader(dir.ledger());
  CHECK(history_of(*reader, "sent") == strings{"intake/pending/", "webhook/sent/"});
  CHECK(history_of(*reader, "failed") == strings{"intake/pending/", "webhook/failed/twilio:30003"});
  CHECK(history_of(*reader, "excluded") == strings{"intake/excluded/10001"});
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
  CHECK(send_of(dir.ledger(), "a").row.status == "uncertain");
}

TEST_CASE("a send that became final keeps its deadline until the sweep, which only clears it", "[db][deadline]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto open = send_with_id("open", "SM2");
  open.requested_at = t0 + 1s; // its deadline comes second
  REQUIRE(register_committed(*store, {send_with_id("done", "SM1"), open}).accepted == 2);
  REQUIRE(apply_committed(*store, {make_event("SM1", status::sent, t0 + 5s, "SM1|delivered")}).applied == 1);
  const auto& path = dir.ledger();

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
  CHECK(send_of(path, "done").row.status == "sent");

  store->begin().value();
  const auto second = store->fire_deadlines(now, 1, &per_vendor).value();
  store->commit().value();
  CHECK(second.fired == 1);
  CHECK(per_vendor == std::map<core::vendor, std::size_t>{{core::vendor::twilio, 1}});
  CHECK(fire_committed(*store, now + 1h) == 0);

  CHECK(send_of(path, "open").row.status + "/" + send_of(path, "open").row.code == "uncertain/ME09");
  auto reader = open_reader(path);
  CHECK(history_of(*reader, "open") == strings{"intake/pending/", "deadline/uncertain/ME09"});
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
  const auto uncertain = [&] {
    strings ids;
    for (int i = 0; i < 5; ++i)
      if (send_of(dir.ledger(), "s" + std::to_string(i)).row.status == "uncertain")
        ids.push_back("s" + std::to_string(i));
    return ids;
  };
  CHECK(uncertain() == strings{"s3", "s4"});
  CHECK(fire_committed(*store, now, 2) == 2);
  CHECK(fire_committed(*store, now, 2) == 1);
  CHECK(fire_committed(*store, now, 2) == 0);
  CHECK(uncertain().size() == 5);
  auto reader = open_reader(dir.ledger());
  for (int i = 0; i < 5; ++i) // once each
    CHECK(history_of(*reader, "s" + std::to_string(i)) == strings{"intake/pending/", "deadline/uncertain/ME09"});
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
  CHECK(all_sends(path) == strings{"kept"});
  CHECK(history_of(*open_reader(path), "kept") == strings{"intake/pending/"});
  // The held event went too: a send registered with its id has none.
  REQUIRE(register_committed(*store, {send_with_id("late", "SM9")}).accepted == 1);
  CHECK(history_of(*open_reader(path), "late") == strings{"intake/pending/"});

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

TEST_CASE("begin inside a transaction is an error, the open transaction is unharmed", "[db][transaction]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  store->begin().value();
  CHECK(store->register_sends({make_send("a")}, {}, t0).value().accepted == 1);
  CHECK_FALSE(store->begin());
  store->commit().value();
  CHECK(all_sends(dir.ledger()) == strings{"a"});
}
