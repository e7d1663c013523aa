// GET /v1/log/sources, the month's campaigns and one-time messages for the console's chooser; and the ops queries
// beyond their happy paths: a ledger that fails while it is read is answered 503 with Retry-After (a storage
// failure, which a client retries), never 500, and the queries work again once the ledger can be read, without a
// restart.
#include <catch2/catch.hpp>


#include "harness.hpp"

using namespace it;

namespace {

/// Renames a table of the ledger from a connection of the test's own: every statement of the daemon's readers that
/// names it fails at its next step (SQLite and PostgreSQL re-prepare it and find no such table), as a damaged table would.
void rename_table(const daemon_process& d, const std::string& from, const std::string& to) {
  ledger_exec(d, "ALTER TABLE " + from + " RENAME TO " + to);
}

/// A send of a campaign (`type` "campaign") or one-time message, named `name` unless it is empty.
json sourced(const std::string& id, const std::string& type, const std::string& source, const std::string& name,
             seconds_point at) {
  auto s = twilio_send(id, at);
  s["type"] = type;
  s["source_id"] = source;
  if (!name.empty())
    s["source_name"] = name;
  return s;
}

} // namespace

TEST_CASE("queries: the month's sources, most sends first, with the totals of the summary", "[integration][queries]") {
  daemon_process d;
  auto ops = d.ops_client();
  const auto base = same_day_base();
  const auto month = seoul_date(base).substr(0, 7);
  json sends = json::array({
    sourced("c1", "campaign", "cmp-1", "November sale", base), sourced("c2", "campaign", "cmp-1", "", base),
    sourced("c3", "campaign", "cmp-1", "", base), sourced("o1", "one_time", "ot-9", "", base),
    sourced("o2", "one_time", "ot-9", "서비스 점검 안내", base), sourced("c4", "campaign", "cmp-2", "", base),
    twilio_send("f1", base), // a follow-up: in no source
  });
  REQUIRE(body_of(post_sends(*ops, sends))["accepted"] == 7);
  const auto got = get_json(*ops, "/v1/log/sources?month=" + month);
  CHECK(got["month"] == month);
  const json expected = json::array({
    {{"type", "campaign"}, {"source_id", "cmp-1"}, {"source_name", "November sale"}, {"total", 3}},
    {{"type", "one_time"}, {"source_id", "ot-9"}, {"source_name", "서비스 점검 안내"}, {"total", 2}},
    {{"type", "campaign"}, {"source_id", "cmp-2"}, {"source_name", nullptr}, {"total", 1}},
  });
  CHECK(got["sources"] == expected);
  for (const auto& s : got["sources"]) {
    const auto summary = get_json(*ops, "/v1/log/summary?month=" + month + "&" + s["type"].get<std::string>() + "="
                                          + s["source_id"].get<std::string>());
    CHECK(summary["total"] == s["total"]);
  }

  CHECK(get_json(*ops, "/v1/log/sources?month=2026-13", 400)["error"] == "invalid_query");
  CHECK(get_json(*ops, "/v1/log/sources", 400)["error"] == "invalid_query");
  CHECK(get_json(*ops, "/v1/log/sources?month=2020-01", 410)["error"] == "gone");
}

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
    "/v1/log/sources?month=" + month,
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
  rename_table(d, "sources", "sources_away");
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
  rename_table(d, "sources_away", "sources");
  for (const auto& target : targets) {
    INFO(target);
    auto res = ops->Get(target.c_str());
    REQUIRE(res);
    CHECK(res->status == 200);
  }
}
