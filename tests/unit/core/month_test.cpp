#include <catch2/catch.hpp>

#include "core/month.hpp"
#include "core/words.hpp"

namespace core = deliveryd::core;

TEST_CASE("a month's days run from the 1st to its last day, leap years included", "[month]") {
  CHECK(core::days_of(202611).size() == 30);
  CHECK(core::days_of(202611).front() == 20261101);
  CHECK(core::days_of(202611).back() == 20261130);
  CHECK(core::days_of(202612).back() == 20261231);
  CHECK(core::days_of(202602).back() == 20260228);
  CHECK(core::days_of(202802).back() == 20280229); // divisible by 4
  CHECK(core::days_of(210002).back() == 21000228); // by 100, not by 400
  CHECK(core::days_of(200002).back() == 20000229); // by 400
  for (int m = 1; m <= 12; ++m) {
    const auto days = core::days_of(2026 * 100 + m);
    for (std::size_t i = 0; i < days.size(); ++i) {
      INFO(days[i]);
      CHECK(core::parse_day(core::format_day(days[i])) == days[i]); // every one a real calendar day
      CHECK(core::month_of(days[i]) == 2026 * 100 + m);
    }
    CHECK_FALSE(core::parse_day(core::format_day(days.back() + 1))); // and the month ends there
  }
}

TEST_CASE("billing: sent and uncertain sends cost their unit price, the others nothing", "[month]") {
  CHECK(core::is_billable(core::status::sent));
  CHECK(core::is_billable(core::status::uncertain));
  CHECK_FALSE(core::is_billable(core::status::failed));
  CHECK_FALSE(core::is_billable(core::status::excluded));
  CHECK_FALSE(core::is_billable(core::status::pending));
}
