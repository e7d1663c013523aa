// Which sends the ledger lists as due for a poll: from the first poll on, and no longer once a state stops their
// polling (core::state_stops_polling), whatever brought that state.
#include <catch2/catch.hpp>

#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

constexpr auto first_poll = std::chrono::minutes{1};

/// A ledger whose Kakao and Twilio sends are first polled a minute after deliveryd registered them.
std::unique_ptr<db::ledger_writer> polled_ledger(const temp_dir& dir) {
  auto options = ledger_at(dir.ledger(), {{core::vendor::twilio, twilio_after}, {core::vendor::kakao, twilio_after}});
  options.polls[core::vendor::kakao] = {true, first_poll};
  options.polls[core::vendor::twilio] = {true, first_poll};
  return open_store(options);
}

/// A send of `vendor` that the vendor knows as `message_id`.
adapters::intake::send_request vendor_send(std::string send_id, core::vendor vendor, std::string message_id) {
  auto s = send_with_id(std::move(send_id), std::move(message_id));
  s.vendor = vendor;
  s.medium = vendor == core::vendor::kakao ? core::medium::alimtalk : core::medium::sms;
  return s;
}

/// `make_event` as `vendor` reports it.
db::vendor_event event_of(core::vendor vendor, std::string message_id, core::status outcome, std::string key) {
  auto e = make_event(std::move(message_id), outcome, t0 + 10s, std::move(key),
                      outcome == core::status::failed ? "3018" : "");
  e.vendor = vendor;
  return e;
}

/// The message ids `vendor` should fetch at `now`.
std::vector<std::string> due(db::ledger_reader& reader, core::vendor vendor, core::timestamp now) {
  std::vector<std::string> ids;
  for (const auto& t : reader.due_polls(vendor, now, 100, {}, {}).value())
    ids.push_back(t.vendor_message_id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("a polled send is due from its first poll on", "[db][polls]") {
  temp_dir dir;
  auto store = polled_ledger(dir);
  REQUIRE(register_committed(*store, {vendor_send("k", core::vendor::kakao, "K1")}).accepted == 1);
  auto reader = open_reader(dir.ledger());
  CHECK(due(*reader, core::vendor::kakao, t0 + first_poll - 1ms).empty());
  CHECK(due(*reader, core::vendor::kakao, t0 + first_poll) == strings{"K1"});
  CHECK(due(*reader, core::vendor::twilio, t0 + first_poll).empty()); // per vendor
}

TEST_CASE("a Kakao send is no longer polled once a webhook makes it sent or failed; uncertain is", "[db][polls]") {
  temp_dir dir;
  auto store = polled_ledger(dir);
  REQUIRE(register_committed(*store, {vendor_send("a", core::vendor::kakao, "K1"),
                                      vendor_send("b", core::vendor::kakao, "K2"),
                                      vendor_send("c", core::vendor::kakao, "K3"),
                                      vendor_send("d", core::vendor::kakao, "K4")})
            .accepted == 4);
  apply_committed(*store, {event_of(core::vendor::kakao, "K1", core::status::sent, "K1|sent"),
                           event_of(core::vendor::kakao, "K2", core::status::failed, "K2|failed"),
                           event_of(core::vendor::kakao, "K3", core::status::uncertain, "K3|uncertain")});
  auto reader = open_reader(dir.ledger());
  CHECK(due(*reader, core::vendor::kakao, t0 + first_poll) == strings{"K3", "K4"});
}

TEST_CASE("a final Twilio send stays due: its price may still be fetched", "[db][polls]") {
  temp_dir dir;
  auto store = polled_ledger(dir);
  REQUIRE(register_committed(*store, {vendor_send("a", core::vendor::twilio, "SM1")}).accepted == 1);
  apply_committed(*store, {event_of(core::vendor::twilio, "SM1", core::status::sent, "SM1|sent")});
  auto reader = open_reader(dir.ledger());
  CHECK(due(*reader, core::vendor::twilio, t0 + first_poll) == strings{"SM1"});
}
