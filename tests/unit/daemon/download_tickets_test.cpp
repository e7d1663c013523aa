#include <catch2/catch.hpp>

#include "daemon/download_tickets.hpp"

using deliveryd::daemon::download_tickets;
namespace core = deliveryd::core;

namespace {

const core::timestamp t0 = core::from_millis(1'790'000'000'000);

httplib::Params export_query(const std::string& month) { return {{"month", month}, {"format", "xlsx"}}; }

} // namespace

TEST_CASE("a download ticket works once, for its own query", "[tickets]") {
  download_tickets book;
  auto a = book.issue(export_query("2026-11"), t0);
  auto b = book.issue(export_query("2026-10"), t0);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a != *b);
  CHECK(a->size() == 43);
  CHECK(book.waiting() == 2);
  auto got = book.redeem(*b, t0 + std::chrono::seconds{1});
  REQUIRE(got);
  CHECK(*got == export_query("2026-10"));
  CHECK_FALSE(book.redeem(*b, t0 + std::chrono::seconds{2})); // used
  CHECK_FALSE(book.redeem("", t0));
  CHECK_FALSE(book.redeem(a->substr(0, 42), t0));              // not a ticket it gave
  CHECK_FALSE(book.redeem(*a + "x", t0));
  CHECK(book.redeem(*a, t0) == export_query("2026-11"));
  CHECK(book.waiting() == 0);
}

TEST_CASE("a download ticket expires after its lifetime, and at most capacity wait", "[tickets]") {
  download_tickets book;
  auto late = book.issue(export_query("2026-11"), t0);
  REQUIRE(late);
  CHECK_FALSE(book.redeem(*late, t0 + download_tickets::lifetime));
  auto in_time = book.issue(export_query("2026-11"), t0);
  CHECK(book.redeem(*in_time, t0 + download_tickets::lifetime - std::chrono::milliseconds{1}));

  for (std::size_t i = 0; i < download_tickets::capacity; ++i)
    REQUIRE(book.issue(export_query("2026-11"), t0));
  CHECK_FALSE(book.issue(export_query("2026-11"), t0));   // full
  CHECK(book.issue(export_query("2026-11"), t0 + download_tickets::lifetime)); // the others expired: room again
  CHECK(book.waiting() == 1);
}
