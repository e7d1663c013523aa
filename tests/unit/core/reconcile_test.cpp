/// The reconciliation state machine by example; its laws are in reconcile_properties_test.cpp.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/codes.hpp"
#include "core/reconcile.hpp"
#include "printing.hpp"

using namespace deliveryd::core;
using namespace std::chrono_literals;

namespace {

const timestamp t0 = from_millis(1'790'000'000'000); // late 2026

event make(status outcome, timestamp at, std::string code = {}, category cat = category::none,
           std::string text = {}) {
  event e;
  e.source = event_source::webhook;
  e.outcome = outcome;
  e.code = std::move(code);
  e.cat = cat;
  e.reason = std::move(text);
  e.vendor_time = at;
  return e;
}

send_state fold(std::vector<event> events) {
  send_state state;
  for (const auto& e : events)
    state = reconcile(state, e, t0).state;
  return state;
}

using effects = std::vector<effect>;

} // namespace

TEST_CASE("rank orders statuses", "[reconcile]") {
  CHECK(rank(status::pending) == 0);
  CHECK(rank(status::uncertain) == 1);
  CHECK(rank(status::failed) == 2);
  CHECK(rank(status::sent) == 3);
  CHECK(rank(status::excluded) == 4);
}

TEST_CASE("an event for an unregistered send is held", "[reconcile]") {
  const auto step = reconcile(std::nullopt, make(status::sent, t0), t0);
  CHECK(step.effects == effects{effect::hold});
  CHECK(step.state == send_state{});
}

TEST_CASE("Twilio: delivered, then a stale 'sent' callback", "[reconcile]") {
  // Twilio's own "sent" means handed to the carrier: the adapter maps it to pending.
  const auto delivered = make(status::sent, t0 + 5s);
  const auto stale = make(status::pending, t0 + 2s);
  const auto first = reconcile(send_state{}, delivered, t0 + 5s);
  CHECK(first.effects == effects{effect::append_history, effect::update_state});
  CHECK(first.state == send_state{status::sent, "", "", category::none, t0 + 5s});
  const auto second = reconcile(first.state, stale, t0 + 6s);
  CHECK(second.effects == effects{effect::append_history});
  CHECK(second.state == first.state);
}

TEST_CASE("a failure then a delivery ends sent, in either order", "[reconcile]") {
  const auto failure = make(status::failed, t0 + 10s, "twilio:30003", category::unreachable, "Unreachable");
  const auto delivery = make(status::sent, t0 + 1s);
  const auto a = fold({failure, delivery});
  const auto b = fold({delivery, failure});
  CHECK(a.current == status::sent);
  CHECK(a == b);
  CHECK(a.code.empty());
  CHECK(a.reason.empty());
  CHECK(a.cat == category::none);
}

TEST_CASE("between two failures the later vendor time wins, whatever the order", "[reconcile]") {
  const auto early = make(status::failed, t0 + 1s, "carrier:4401", category::unreachable, "power off");
  const auto late = make(status::failed, t0 + 9s, "carrier:4400", category::invalid_recipient, "no such number");
  const auto a = fold({early, late});
  const auto b = fold({late, early});
  CHECK(a == b);
  CHECK(a.code == "carrier:4400");
  CHECK(a.reason == "no such number");
  CHECK(a.cat == category::invalid_recipient);
  CHECK(a.decided_at == t0 + 9s);
}

TEST_CASE("between two failures at the same time the greater code wins", "[reconcile]") {
  const auto lesser = make(status::failed, t0, "kakao:3018", category::blocked, "b");
  const auto greater = make(status::failed, t0, "kakao:3019", category::blocked, "a");
  CHECK(fold({lesser, greater}).code == "kakao:3019");
  CHECK(fold({greater, lesser}).code == "kakao:3019");
  // Same time and code: the greater reason text decides.
  const auto x = make(status::failed, t0, "email:bounce", category::invalid_recipient, "mailbox full");
  const auto y = make(status::failed, t0, "email:bounce", category::invalid_recipient, "no such user");
  CHECK(fold({x, y}).reason == "no such user");
  CHECK(fold({y, x}).reason == "no such user");
}

TEST_CASE("uncertain is corrected by a definitive result", "[reconcile]") {
  const auto deadline = deadline_event(t0 + 72h);
  const auto uncertain = reconcile(send_state{}, deadline, t0 + 72h).state;
  CHECK(uncertain.current == status::uncertain);
  CHECK(uncertain.code == "ME09");
  CHECK(uncertain.reason == "Uncertain delivery status");

  const auto to_sent = reconcile(uncertain, make(status::sent, t0 + 1h), t0 + 73h);
  CHECK(to_sent.state.current == status::sent);
  CHECK(to_sent.effects == effects{effect::append_history, effect::update_state, effect::correction});

  const auto to_failed = reconcile(uncertain, make(status::failed, t0 + 1h, "kakao:3018"), t0 + 73h);
  CHECK(to_failed.state.current == status::failed);
  CHECK(to_failed.effects == effects{effect::append_history, effect::update_state, effect::correction});

  // Excluded outranks uncertain too, but it is not a vendor's correction.
  const auto to_excluded = reconcile(uncertain, make(status::excluded, t0, "10006"), t0 + 73h);
  CHECK(to_excluded.state.current == status::excluded);
  CHECK(to_excluded.effects == effects{effect::append_history, effect::update_state});
}

TEST_CASE("excluded outranks everything and the table gives its reason", "[reconcile]") {
  const auto excluded = make(status::excluded, t0, "10006");
  const auto state = fold({make(status::sent, t0), excluded, make(status::failed, t0 + 1s, "twilio:1")});
  CHECK(state.current == status::excluded);
  CHECK(state.code == "10006");
  CHECK(state.reason == "Unsubscribed from marketing");
  CHECK(state.cat == category::opted_out);
}

TEST_CASE("pending never changes a final state and a duplicate changes nothing", "[reconcile]") {
  const auto failed = reconcile(send_state{}, make(status::failed, t0, "twilio:30005"), t0).state;
  const auto after_pending = reconcile(failed, make(status::pending, t0 + 1h), t0);
  CHECK(after_pending.state == failed);
  CHECK(after_pending.effects == effects{effect::append_history});
  const auto again = reconcile(failed, make(status::failed, t0, "twilio:30005"), t0);
  CHECK(again.state == failed);
  CHECK(again.effects == effects{effect::append_history});
}

TEST_CASE("a send is sent from its first delivery report", "[reconcile]") {
  const auto a = make(status::sent, t0 + 3s);
  const auto b = make(status::sent, t0 + 8s);
  CHECK(fold({a, b}).decided_at == t0 + 3s);
  CHECK(fold({b, a}).decided_at == t0 + 3s);
}

TEST_CASE("state_of normalises what an event alone sets", "[reconcile]") {
  auto sent = make(status::sent, t0, "twilio:0", category::blocked, "ok");
  CHECK(state_of(sent) == send_state{status::sent, "", "", category::none, t0});
  CHECK(state_of(make(status::pending, t0 + 1h, "x")) == send_state{});

  auto uncertain = make(status::uncertain, t0, "kakao:3005", category::vendor_error, "no report");
  CHECK(state_of(uncertain) ==
        send_state{status::uncertain, "ME09", "Uncertain delivery status", category::unknown, t0});

  // A failure without a category gets the table's or unknown; without text, the category's description.
  CHECK(state_of(make(status::failed, t0, "twilio:30003")) ==
        send_state{status::failed, "twilio:30003", std::string{describe(category::unknown)}, category::unknown,
                   t0});
  CHECK(state_of(make(status::excluded, t0, "10001")).cat == category::blocked);
  CHECK(state_of(make(status::excluded, t0, "10500")).reason == describe(category::unknown));
}

TEST_CASE("reason_for prefers the table, then the vendor, then the category", "[reconcile]") {
  CHECK(reason_for(status::excluded, "10006", "vendor says", category::opted_out) ==
        "Unsubscribed from marketing");
  CHECK(reason_for(status::failed, "twilio:30003", "Unreachable destination handset", category::unreachable) ==
        "Unreachable destination handset");
  CHECK(reason_for(status::failed, "twilio:30003", "", category::unreachable) == describe(category::unreachable));
  CHECK(reason_for(status::failed, "", "", category::none) == describe(category::unknown));
  CHECK(reason_for(status::uncertain, "ME09", "", category::unknown) == "Uncertain delivery status");
  CHECK(reason_for(status::sent, "10006", "text", category::blocked).empty());
  CHECK(reason_for(status::pending, "", "text", category::blocked).empty());
}

TEST_CASE("deadline_event and deadline_due", "[reconcile]") {
  const auto e = deadline_event(t0);
  CHECK(e.source == event_source::deadline);
  CHECK(e.outcome == status::uncertain);
  CHECK(e.code == "ME09");
  CHECK(e.reason == "Uncertain delivery status");
  CHECK(e.cat == category::unknown);
  CHECK(e.vendor_time == t0);
  CHECK(e.dedupe_key == "deadline");

  const send_state pending{};
  CHECK_FALSE(deadline_due(pending, t0, 72h, t0 + 72h - 1ms));
  CHECK(deadline_due(pending, t0, 72h, t0 + 72h));
  CHECK(deadline_due(pending, t0, 72h, t0 + 100h));
  for (const auto s : {status::sent, status::failed, status::excluded, status::uncertain}) {
    const send_state final_state{s, "", "", category::none, t0};
    CHECK_FALSE(deadline_due(final_state, t0, 72h, t0 + 100h));
  }
}
