#include <catch2/catch.hpp>

#include "core/polling.hpp"

using namespace deliveryd::core;
using namespace std::chrono_literals;

namespace {
const timestamp requested = from_millis(1'795'000'000'000);
}

TEST_CASE("back-off doubles from its base, caps at an hour and jitters at most 20 %", "[polling]") {
  CHECK(backoff(30s, 1, 0.5) == 30s);
  CHECK(backoff(30s, 2, 0.5) == 60s);
  CHECK(backoff(30s, 4, 0.5) == 240s);
  CHECK(backoff(30s, 30, 0.5) == 1h);
  CHECK(backoff(30s, 1000, 0.5) == 1h);
  CHECK(backoff(30s, 1, 0.0) == 24s);
  CHECK(backoff(30s, 1, 0.999999) >= 35999ms);
  CHECK(backoff(30s, 1, 0.999999) <= 36s);
  CHECK(backoff(30s, 30, 1.0) == 72min);
}

TEST_CASE("Kakao: pending every interval, errors and 404 back off, finals stop", "[polling]") {
  const auto now = requested + 5min;
  auto pending = plan_kakao(poll_outcome::pending, 3, requested, now, 30s, 72h, 0.5);
  CHECK(pending.next == now + 30s);
  CHECK(pending.attempts == 0);
  auto error = plan_kakao(poll_outcome::error, 0, requested, now, 30s, 72h, 0.5);
  CHECK(error.next == now + 30s);
  CHECK(error.attempts == 1);
  auto again = plan_kakao(poll_outcome::not_found, error.attempts, requested, now, 30s, 72h, 0.5);
  CHECK(again.next == now + 60s);
  CHECK(again.attempts == 2);
  CHECK_FALSE(plan_kakao(poll_outcome::final_result, 5, requested, now, 30s, 72h, 0.5).next);
}

TEST_CASE("Kakao: uncertain is re-checked with growing delays until the re-check window closes", "[polling]") {
  auto first = plan_kakao(poll_outcome::uncertain, 0, requested, requested + 1min, 30s, 72h, 0.5);
  REQUIRE(first.next);
  auto second = plan_kakao(poll_outcome::uncertain, first.attempts, requested, *first.next, 30s, 72h, 0.5);
  REQUIRE(second.next);
  CHECK(*second.next - *first.next == 60s);
  CHECK_FALSE(plan_kakao(poll_outcome::uncertain, 9, requested, requested + 72h, 30s, 72h, 0.5).next);
}

TEST_CASE("Twilio: price keeps a final send polled until priced or the price window passes", "[polling]") {
  const auto now = requested + 2h;
  CHECK_FALSE(plan_twilio(poll_outcome::final_result, false, true, 0, requested, now, 1min, 24h, 72h, 0.5).next);
  auto unpriced = plan_twilio(poll_outcome::final_result, false, false, 0, requested, now, 1min, 24h, 72h, 0.5);
  CHECK(unpriced.next == now + 1min);
  CHECK_FALSE(plan_twilio(poll_outcome::final_result, false, false, 4, requested, requested + 24h, 1min, 24h, 72h, 0.5).next);
  auto pending = plan_twilio(poll_outcome::pending, false, false, 2, requested, now, 1min, 24h, 72h, 0.5);
  CHECK(pending.next == now + 4min);
  CHECK_FALSE(plan_twilio(poll_outcome::error, false, false, 2, requested, requested + 72h, 1min, 24h, 72h, 0.5).next);
  // A fetch that fails for a send already final in the ledger only waits for the price window.
  CHECK_FALSE(plan_twilio(poll_outcome::error, true, false, 2, requested, requested + 25h, 1min, 24h, 72h, 0.5).next);
  CHECK(plan_twilio(poll_outcome::error, true, false, 2, requested, requested + 2h, 1min, 24h, 72h, 0.5).next);
}

TEST_CASE("Kakao: nothing is polled past the re-check window, whatever the last answer", "[polling]") {
  for (auto outcome : {poll_outcome::pending, poll_outcome::error, poll_outcome::not_found, poll_outcome::uncertain})
    CHECK_FALSE(plan_kakao(outcome, 3, requested, requested + 72h, 30s, 72h, 0.5).next);
}

TEST_CASE("a Kakao send that is sent, failed or excluded is not fetched again; other states and vendors are",
          "[polling]") {
  for (auto s : {status::sent, status::failed, status::excluded})
    CHECK(state_stops_polling(vendor::kakao, s));
  for (auto s : {status::pending, status::uncertain})
    CHECK_FALSE(state_stops_polling(vendor::kakao, s));
  // Twilio fetches a final send until its price is known: its plan decides, not the state.
  for (auto v : {vendor::twilio, vendor::email, vendor::carrier})
    for (auto s : {status::pending, status::sent, status::failed, status::excluded, status::uncertain})
      CHECK_FALSE(state_stops_polling(v, s));
}
