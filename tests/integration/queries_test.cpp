// The ops queries beyond their happy paths: a ledger that fails while it is read is answered 503 with
// Retry-After (a storage failure, which a client retries), never 500, and the queries work again once the ledger
// can be read, without a restart.
#include <catch2/catch.hpp>

#include <SQLiteCpp/Database.h>

#include "harness.hpp"

using namespace it;

namespace {

/// Renames a table of the ledger from a connection of the test's own: every statement of the daemon's readers that
/// names it fails at its next step (SQLite re-prepares it and finds no such table), as a damaged table would.
void rename_table(const daemon_process& d, const std::string& from, const std::string& to) {
  SQLite::Database db{d.ledger_path().string(), SQLite::OPEN_READWRITE};
  db.setBusyTimeout(10000);
  db.exec("ALTER TABLE " + from + " RENAME TO " + to);
}

} // namespace

TEST_CASE("queries: a ledger read that fails is 503 with Retry-After, and the queries recover", "[integration][queries]") {
  daemon_process d;
  auto ops = d.ops_client();
  const auto base = same_day_base();
  REQUIRE(body_of(post_sends(*ops, json::array({twilio_send("rf-1", base, "SM5555")})))["accepted"] == 1);
  const auto day = seoul_date(base);
  const auto month = day.substr(0, 7);
  const std::vector<std::string> targets{
    "/v1/log/day/" + day,
    "/v1/sends/rf-1",
    "/v1/log/summary?month=" + month,
    "/v1/log/export?month=" + month + "&format=jsonl",
    "/v1/log/export?month=" + month + "&format=xlsx",
  };
  for (const auto& target : targets) {
    INFO(target);
    auto res = ops->Get(target.c_str());
    REQUIRE(res);
    CHECK(res->status == 200);
  }

  rename_table(d, "sends", "sends_away");
  rename_table(d, "rollups", "rollups_away");
  for (const auto& target : targets) {
    INFO(target);
    auto res = ops->Get(target.c_str());
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK(res->get_header_value("Retry-After") == "5");
    CHECK(res->get_header_value("Content-Type") == "application/json");
    CHECK_FALSE(res->has_header("Content-Disposition")); // no half-promised download
    auto body = body_of(res);
    CHECK(body["error"] == "unavailable");
    CHECK_THAT(body["detail"].get<std::string>(), Catch::Contains("the ledger could not be read"));
  }

  rename_table(d, "sends_away", "sends");
  rename_table(d, "rollups_away", "rollups");
  for (const auto& target : targets) {
    INFO(target);
    auto res = ops->Get(target.c_str());
    REQUIRE(res);
    CHECK(res->status == 200);
  }
}
