/// apply_events: applied, duplicates, held events and their attachment, corrections, and the history order.

#include <catch2/catch.hpp>

#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using core::status;
using strings = std::vector<std::string>;

namespace {

/// An undelivered (30003) Twilio event.
db::vendor_event undelivered(std::string message_id, core::timestamp at, std::string dedupe_key) {
  return make_event(std::move(message_id), status::failed, at, std::move(dedupe_key), "twilio:30003",
                    core::category::unreachable);
}

} // namespace

TEST_CASE("an event for a registered send is applied", "[db][events]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {send_with_id("a", "SM1")}).accepted == 1);

  auto out = apply_committed(*store, {undelivered("SM1", t0 + 5s, "SM1/undelivered")}, t0 + 6s);
  CHECK(out.applied == 1);
  CHECK(out.held == 0);
  CHECK(out.duplicates == 0);
  CHECK(out.corrected == 0);

  const auto& path = dir.ledger();
  const auto row = send_of(path, "a").row;
  CHECK(row.status + "|" + row.code + "|" + row.category == "failed|twilio:30003|unreachable");
  CHECK_FALSE(row.reason.empty());
  // Final: its deadline passes without a word.
  CHECK(fire_committed(*store, t0 + twilio_after) == 0);
  CHECK(send_of(path, "a").row.status == "failed");
  // The payload is kept as received (an audit record the interface does not read back: SQLite's table).
  CHECK(peek_text(path, "SELECT raw FROM events WHERE source = 'webhook'") == "raw");

  auto reader = open_reader(path);
  CHECK(history_of(*reader, "a") == strings{"intake/pending/", "webhook/failed/twilio:30003"});
  auto detail = reader->find("a").value();
  REQUIRE(detail);
  CHECK(detail->history[1].vendor_status == "failed");
  CHECK(detail->history[1].at == t0 + 5s);
}

TEST_CASE("an event whose dedupe key is stored is a duplicate and changes nothing", "[db][events]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {send_with_id("a", "SM1")}).accepted == 1);
  REQUIRE(apply_committed(*store, {undelivered("SM1", t0 + 5s, "k1")}).applied == 1);

  // Same key, other content: the vendor's identity of the event decides, not its content.
  auto out = apply_committed(*store, {make_event("SM1", status::sent, t0 + 9s, "k1"),
                                      undelivered("SM1", t0 + 5s, "k1")});
  CHECK(out.duplicates == 2);
  CHECK(out.applied == 0);
  CHECK(send_of(dir.ledger(), "a").row.status == "failed");
  CHECK(send_of(dir.ledger(), "a").history.size() == 2);

  // Duplicates within one batch.
  auto twice = apply_committed(*store, {make_event("SM1", status::sent, t0 + 9s, "k2"),
                                        make_event("SM1", status::sent, t0 + 9s, "k2")});
  CHECK(twice.applied == 1);
  CHECK(twice.duplicates == 1);
  CHECK(send_of(dir.ledger(), "a").row.status == "sent");
  CHECK(send_of(dir.ledger(), "a").history.size() == 3);
}

TEST_CASE("events without a dedupe key are never duplicates", "[db][events]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {send_with_id("a", "SM1")}).accepted == 1);
  auto out = apply_committed(*store, {make_event("SM1", status::pending, t0 + 1s, ""),
                                      make_event("SM1", status::pending, t0 + 1s, "")});
  CHECK(out.applied == 2);
  CHECK(out.duplicates == 0);
  CHECK(send_of(dir.ledger(), "a").row.status == "pending");
  CHECK(send_of(dir.ledger(), "a").history.size() == 3);
}

TEST_CASE("events for an unknown message are held, then applied in arrival order when the send arrives",
          "[db][events]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  // The failure arrives first, then the delivery: applied in that order, the history reads failed, then sent.
  auto out = apply_committed(*store, {undelivered("SM1", t0 + 5s, "e1"),
                                      make_event("SM1", status::sent, t0 + 7s, "e2")});
  CHECK(out.held == 2);
  CHECK(out.applied == 0);
  CHECK(all_sends(dir.ledger()).empty()); // held events make no send

  // A held event that is re-delivered is still a duplicate.
  CHECK(apply_committed(*store, {undelivered("SM1", t0 + 5s, "e1")}).duplicates == 1);

  SECTION("registered with that vendor_message_id") {
    CHECK(register_committed(*store, {send_with_id("a", "SM1")}, {}, t0 + 20s).accepted == 1);
    auto reader = open_reader(dir.ledger());
    CHECK(history_of(*reader, "a")
          == strings{"intake/pending/", "webhook/failed/twilio:30003", "webhook/sent/"});
  }
  SECTION("the id attached later by an update") {
    REQUIRE(register_committed(*store, {make_send("a")}, {}, t0 + 10s).accepted == 1);
    CHECK(send_of(dir.ledger(), "a").row.status == "pending");
    CHECK(register_committed(*store, {send_with_id("a", "SM1")}, {}, t0 + 20s).updated == 1);
    auto reader = open_reader(dir.ledger());
    CHECK(history_of(*reader, "a")
          == strings{"intake/pending/", "intake/pending/", "webhook/failed/twilio:30003", "webhook/sent/"});
  }
  CHECK(send_of(dir.ledger(), "a").row.status == "sent");
  // The attached events keep their identity: a re-delivery is still a duplicate.
  auto again = apply_committed(*store, {make_event("SM1", status::sent, t0 + 7s, "e2")});
  CHECK(again.duplicates == 1);
  CHECK(again.applied == 0);
}

TEST_CASE("held events wait for their own vendor", "[db][events]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(apply_committed(*store, {make_event("SM1", status::sent, t0 + 1s, "e1")}).held == 1);
  auto other = send_with_id("carrier-send", "SM1");
  other.vendor = core::vendor::carrier;
  REQUIRE(register_committed(*store, {other}).accepted == 1);
  CHECK(history_of(*open_reader(dir.ledger()), "carrier-send") == strings{"intake/pending/"});
  // Still held: Twilio's send with that id gets it.
  REQUIRE(register_committed(*store, {send_with_id("twilio-send", "SM1")}).accepted == 1);
  CHECK(history_of(*open_reader(dir.ledger()), "twilio-send") == strings{"intake/pending/", "webhook/sent/"});
}

TEST_CASE("an uncertain send corrected by a later definitive result", "[db][events]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {send_with_id("a", "SM1"), send_with_id("b", "SM2")}).accepted == 2);
  // Kakao-style "report timed out": the vendor itself says uncertain.
  auto out = apply_committed(*store, {make_event("SM1", status::uncertain, t0 + 1s, "u1"),
                                      make_event("SM2", status::uncertain, t0 + 1s, "u2")});
  REQUIRE(out.applied == 2);
  for (const char* id : {"a", "b"})
    CHECK(send_of(dir.ledger(), id).row.status + "/" + send_of(dir.ledger(), id).row.code == "uncertain/ME09");

  auto fixed = apply_committed(*store, {make_event("SM1", status::sent, t0 + 9s, "d1"),
                                        undelivered("SM2", t0 + 9s, "f2")});
  CHECK(fixed.applied == 2);
  CHECK(fixed.corrected == 2);
  CHECK(send_of(dir.ledger(), "a").row.status + "/" + send_of(dir.ledger(), "a").row.code == "sent/");
  CHECK(send_of(dir.ledger(), "b").row.status + "/" + send_of(dir.ledger(), "b").row.code == "failed/twilio:30003");
  auto reader = open_reader(dir.ledger());
  CHECK(history_of(*reader, "a") == strings{"intake/pending/", "webhook/uncertain/ME09", "webhook/sent/"});

  // A pending event after the correction changes nothing and corrects nothing.
  auto late = apply_committed(*store, {make_event("SM1", status::pending, t0 + 10s, "p1")});
  CHECK(late.corrected == 0);
  CHECK(send_of(dir.ledger(), "a").row.status == "sent");
}

TEST_CASE("conflicting results are settled by rank, not arrival", "[db][events]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {send_with_id("a", "SM1")}).accepted == 1);
  CHECK(apply_committed(*store, {make_event("SM1", status::sent, t0 + 2s, "d")}).applied == 1);
  CHECK(apply_committed(*store, {undelivered("SM1", t0 + 9s, "f")}).applied == 1);
  CHECK(send_of(dir.ledger(), "a").row.status == "sent");
  auto reader = open_reader(dir.ledger());
  // The losing event is still in the history, with the state after it (still sent).
  CHECK(history_of(*reader, "a") == strings{"intake/pending/", "webhook/sent/", "webhook/sent/"});
}

TEST_CASE("an event for a send whose registration was rolled back is held, not given to the send that took its "
          "place", "[db][events]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {send_with_id("first", "SM0")}).accepted == 1);
  // The writer learns SM1's send and row, then the transaction goes; on SQLite the next send takes that row id.
  REQUIRE(store->begin());
  REQUIRE(store->register_sends({send_with_id("gone", "SM1")}, {}, t0).value().accepted == 1);
  store->rollback();
  REQUIRE(register_committed(*store, {send_with_id("b", "SM2")}).accepted == 1);

  auto out = apply_committed(*store, {undelivered("SM1", t0 + 5s, "SM1/undelivered")}, t0 + 6s);
  CHECK(out.applied == 0);
  CHECK(out.held == 1);
  CHECK(send_of(dir.ledger(), "b").row.status == "pending");
  CHECK_FALSE(find_send(dir.ledger(), "gone"));
  // The send registered later gets the held event, as any held event.
  REQUIRE(register_committed(*store, {send_with_id("late", "SM1")}).accepted == 1);
  CHECK(send_of(dir.ledger(), "late").row.status == "failed");
}
