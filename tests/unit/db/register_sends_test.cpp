/// register_sends: accepted, duplicates, updates, conflicts and the merged rejections of an intake request.

#include <catch2/catch.hpp>

#include "core/codes.hpp"
#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using adapters::intake::rejection;
using adapters::intake::send_request;

namespace {

/// A campaign send with every optional field but `excluded` set.
send_request full_send() {
  auto s = make_send("full");
  s.type = core::send_type::campaign;
  s.source_id = "c1";
  s.source_name = "Black Friday";
  s.vendor_message_id = "SM1";
  s.fallback_of = "ak-1";
  return s;
}

/// One way to make a re-post differ from full_send(), and the field the rejection must name.
struct difference {
  const char* field;
  void (*change)(send_request&);
};

} // namespace

TEST_CASE("a new send is accepted, pending, with its deadline and an intake entry", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  const auto now = t0 + 3s;
  auto out = register_committed(*store, {make_send("a")}, {}, now);
  CHECK(out.accepted == 1);
  CHECK(out.duplicates == 0);
  CHECK(out.updated == 0);
  CHECK(out.rejected.empty());

  const auto& path = dir.ledger();
  auto detail = send_of(path, "a");
  CHECK(detail.row.status == "pending");
  CHECK(detail.row.code.empty());
  CHECK(detail.row.requested_at == t0);
  CHECK(detail.vendor_message_id.empty());
  REQUIRE(detail.history.size() == 1);
  CHECK(detail.history[0].source == "intake");
  CHECK(detail.history[0].status == "pending");
  CHECK(detail.history[0].at == now);

  // Its deadline is uncertain_after from requested_at, to the millisecond.
  CHECK(fire_committed(*store, t0 + twilio_after - 1ms) == 0);
  CHECK(fire_committed(*store, t0 + twilio_after) == 1);
  CHECK(send_of(path, "a").row.status == "uncertain");
}

TEST_CASE("a send of a vendor without uncertain_after gets no deadline", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto s = make_send("c");
  s.vendor = core::vendor::carrier;
  CHECK(register_committed(*store, {s}).accepted == 1);
  CHECK(fire_committed(*store, t0 + 365 * 24h) == 0);
  CHECK(send_of(dir.ledger(), "c").row.status == "pending");
}

TEST_CASE("an excluded send is stored excluded with the code table's reason", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto s = make_send("x");
  s.vendor.reset();
  s.excluded = 10001;
  const auto now = t0 + 1s;
  CHECK(register_committed(*store, {s}, {}, now).accepted == 1);

  const auto* info = core::find_code("10001");
  REQUIRE(info != nullptr);
  const auto& path = dir.ledger();
  auto detail = send_of(path, "x");
  CHECK(detail.row.status == "excluded");
  CHECK(detail.row.code == "10001");
  CHECK(detail.row.reason == std::string{info->reason});
  CHECK(detail.row.category == std::string{core::to_string(info->cat)});
  CHECK(detail.row.vendor.empty());
  REQUIRE(detail.history.size() == 1);
  CHECK(detail.history[0].at == now);

  auto reader = open_reader(path);
  CHECK(history_of(*reader, "x") == std::vector<std::string>{"intake/excluded/10001"});

  // Excluded is final: deadlines never touch it, even with a vendor that has one.
  auto with_vendor = make_send("y");
  with_vendor.excluded = 10000;
  CHECK(register_committed(*store, {with_vendor}).accepted == 1);
  CHECK(fire_committed(*store, t0 + 48h) == 0);
  CHECK(send_of(path, "y").row.status == "excluded");
  CHECK(history_of(*reader, "y") == std::vector<std::string>{"intake/excluded/10000"});
}

TEST_CASE("re-posting an identical send is a duplicate", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {full_send()}).accepted == 1);
  auto out = register_committed(*store, {full_send()}, {}, t0 + 1min);
  CHECK(out.accepted == 0);
  CHECK(out.duplicates == 1);
  CHECK(out.updated == 0);
  CHECK(out.rejected.empty());
  CHECK(send_of(dir.ledger(), "full").history.size() == 1); // no history entry for a duplicate
}

TEST_CASE("the same send twice in one batch: accepted, then a duplicate", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto out = register_committed(*store, {make_send("a", t0, 0), make_send("a", t0, 1)});
  CHECK(out.accepted == 1);
  CHECK(out.duplicates == 1);
  CHECK(all_sends(dir.ledger()) == std::vector<std::string>{"a"});
  CHECK(send_of(dir.ledger(), "a").history.size() == 1);
}

TEST_CASE("re-posting without optional fields that are stored is a duplicate", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {full_send()}).accepted == 1);
  auto lean = full_send();
  lean.source_id.clear();
  lean.source_name.clear();
  lean.vendor_message_id.reset();
  lean.fallback_of.reset();
  auto out = register_committed(*store, {lean});
  CHECK(out.duplicates == 1);
  CHECK(out.updated == 0);
  CHECK(out.rejected.empty());
  // What was stored stays stored.
  auto stored = send_of(dir.ledger(), "full");
  CHECK(stored.row.source_name == "Black Friday");
  CHECK(stored.vendor_message_id == "SM1");
  CHECK(stored.fallback_of == "ak-1");
}

TEST_CASE("re-posting with a vendor_message_id the send did not have is an update", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("a")}).accepted == 1);
  auto with_id = make_send("a");
  with_id.vendor_message_id = "SM9";
  auto out = register_committed(*store, {with_id}, {}, t0 + 2s);
  CHECK(out.updated == 1);
  CHECK(out.accepted == 0);
  CHECK(out.duplicates == 0);
  CHECK(out.rejected.empty());
  auto updated = send_of(dir.ledger(), "a");
  CHECK(updated.vendor_message_id == "SM9");
  CHECK(updated.row.status == "pending");
  REQUIRE(updated.history.size() == 2); // the update is an intake entry of its own
  CHECK(updated.history[1].source == "intake");
  CHECK(updated.history[1].at == t0 + 2s);
  // Events about SM9 now reach the send.
  CHECK(apply_committed(*store, {make_event("SM9", core::status::sent, t0 + 3s, "SM9|sent")}).applied == 1);

  // The same re-post again is now a duplicate.
  auto again = register_committed(*store, {with_id});
  CHECK(again.duplicates == 1);
  CHECK(again.updated == 0);
}

TEST_CASE("any other difference is a conflict that names the field", "[db][intake]") {
  const auto diff = GENERATE(values<difference>({
    {"type", [](send_request& s) { s.type = core::send_type::one_time; }},
    {"medium", [](send_request& s) { s.medium = core::medium::lms; }},
    {"contact", [](send_request& s) { s.contact = "+821099998888"; }},
    {"requested_at", [](send_request& s) { s.requested_at += std::chrono::milliseconds{1}; }},
    {"source_id", [](send_request& s) { s.source_id = "c2"; }},
    {"source_name", [](send_request& s) { s.source_name = "Cyber Monday"; }},
    {"vendor", [](send_request& s) { s.vendor = core::vendor::carrier; }},
    {"vendor_message_id", [](send_request& s) { s.vendor_message_id = "SM2"; }},
    {"fallback_of", [](send_request& s) { s.fallback_of = "ak-2"; }},
    {"excluded", [](send_request& s) { s.excluded = 10001; }},
  }));
  CAPTURE(diff.field);
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {full_send()}).accepted == 1);

  auto changed = full_send();
  changed.index = 7;
  diff.change(changed);
  auto out = register_committed(*store, {changed}, {}, t0 + 1min);
  CHECK(out.accepted == 0);
  CHECK(out.duplicates == 0);
  CHECK(out.updated == 0);
  REQUIRE(out.rejected.size() == 1);
  CHECK(out.rejected[0].index == 7);
  CHECK(out.rejected[0].send_id == "full");
  CHECK(out.rejected[0].error == "conflict");
  CHECK_THAT(out.rejected[0].detail, Catch::Contains(std::string{"different "} + diff.field));

  // Nothing of the re-post was stored.
  auto stored = send_of(dir.ledger(), "full");
  const auto& r = stored.row;
  CHECK(r.type + "|" + r.medium + "|" + r.contact + "|" + r.source_id + "|" + r.source_name + "|" + r.vendor + "|"
          + stored.vendor_message_id + "|" + stored.fallback_of + "|" + r.status
        == "campaign|sms|+821012345678|c1|Black Friday|twilio|SM1|ak-1|pending");
  CHECK(r.requested_at == t0);
  CHECK(stored.history.size() == 1);
}

TEST_CASE("adding a field other than vendor_message_id is a conflict", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("a")}).accepted == 1);
  auto named = make_send("a");
  named.source_name = "added later";
  auto out = register_committed(*store, {named});
  REQUIRE(out.rejected.size() == 1);
  CHECK(out.rejected[0].error == "conflict");
  CHECK_THAT(out.rejected[0].detail, Catch::Contains("different source_name"));
  CHECK(send_of(dir.ledger(), "a").row.source_name.empty());
}

TEST_CASE("a vendor_message_id that belongs to another send is a conflict", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto owner = make_send("owner");
  owner.vendor_message_id = "SM1";
  REQUIRE(register_committed(*store, {owner, make_send("plain")}).accepted == 2);

  SECTION("a new send") {
    auto thief = make_send("thief", t0, 3);
    thief.vendor_message_id = "SM1";
    auto out = register_committed(*store, {thief});
    CHECK(out.accepted == 0);
    REQUIRE(out.rejected.size() == 1);
    CHECK(out.rejected[0].index == 3);
    CHECK(out.rejected[0].send_id == "thief");
    CHECK(out.rejected[0].error == "conflict");
    CHECK_THAT(out.rejected[0].detail, Catch::Contains("SM1 already belongs to another send"));
    CHECK_FALSE(find_send(dir.ledger(), "thief"));
  }
  SECTION("an update of a send without one") {
    auto update = make_send("plain");
    update.vendor_message_id = "SM1";
    auto out = register_committed(*store, {update});
    CHECK(out.updated == 0);
    REQUIRE(out.rejected.size() == 1);
    CHECK(out.rejected[0].error == "conflict");
    CHECK(send_of(dir.ledger(), "plain").vendor_message_id.empty());
  }
  SECTION("two new sends of one batch") {
    auto first = make_send("first", t0, 0);
    first.vendor_message_id = "SM5";
    auto second = make_send("second", t0, 1);
    second.vendor_message_id = "SM5";
    auto out = register_committed(*store, {first, second});
    CHECK(out.accepted == 1);
    REQUIRE(out.rejected.size() == 1);
    CHECK(out.rejected[0].send_id == "second");
    CHECK(out.rejected[0].error == "conflict");
  }
  SECTION("the same id at another vendor is no conflict") {
    auto other = make_send("carrier-send");
    other.vendor = core::vendor::carrier;
    other.vendor_message_id = "SM1";
    auto out = register_committed(*store, {other});
    CHECK(out.accepted == 1);
    CHECK(out.rejected.empty());
  }
}

TEST_CASE("the store's conflicts merge with the parser's rejections in item order", "[db][intake]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto s0 = make_send("s0", t0, 0);
  s0.vendor_message_id = "SM1";
  auto s2 = make_send("s2", t0, 2);
  auto s3 = make_send("s3", t0, 3);
  s3.vendor_message_id = "SM1"; // taken by s0 of the same batch
  auto s5 = make_send("s5", t0, 5);
  std::vector<rejection> parsed{{1, "p1", "invalid", "medium must be one of ..."},
                                {4, "", "missing_field", "send_id is required"},
                                {6, "p6", "bad_contact", "contact is not a phone number"}};
  auto out = register_committed(*store, {s0, s2, s3, s5}, parsed);
  CHECK(out.accepted == 3);
  REQUIRE(out.rejected.size() == 4);
  std::vector<std::size_t> order;
  std::vector<std::string> words;
  for (const auto& r : out.rejected) {
    order.push_back(r.index);
    words.push_back(r.error);
  }
  CHECK(order == std::vector<std::size_t>{1, 3, 4, 6});
  CHECK(words == std::vector<std::string>{"invalid", "conflict", "missing_field", "bad_contact"});
  CHECK(out.rejected[1].send_id == "s3");
  CHECK(out.rejected[0].detail == "medium must be one of ...");
}
