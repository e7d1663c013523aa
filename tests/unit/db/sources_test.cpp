// The month's campaigns and one-time messages (schema v7's `sources`, read by GET /v1/log/sources) must equal
// what the sends say: checked against a recount after random registrations, a purge that cuts a month, a
// reopening in another zone, and the upgrade of a v6 ledger.
#include <algorithm>
#include <random>

#include "../../support/schema_history.hpp"
#include "core/month.hpp"
#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

/// (month, type, source_id) -> (logical sends, name).
using source_map = std::map<std::tuple<std::int64_t, std::string, std::string>, std::pair<std::int64_t, std::string>>;

/// The sources as stored, rows without sends left out.
source_map stored(const std::string& path) {
  source_map out;
  for (const auto& r : peek_rows(path, "SELECT month, scope, scope_id, logical, name FROM sources WHERE logical != 0"))
    out[{std::stoll(r[0]), r[1], r[2]}] = {std::stoll(r[3]), r[4]};
  return out;
}

/// Only the numbers of sends of a source map: a purge may remove the send that named a source, whose name stays.
std::map<std::tuple<std::int64_t, std::string, std::string>, std::int64_t> totals(const source_map& sources) {
  std::map<std::tuple<std::int64_t, std::string, std::string>, std::int64_t> out;
  for (const auto& [key, value] : sources)
    out[key] = value.first;
  return out;
}

/// The sources recounted from the sends, in C++: a logical send (not a failover leg) counts once in its month; the
/// name is the one of the latest send (by registration) that has one.
source_map recount(const std::string& path) {
  source_map out;
  for (const auto& r : peek_rows(path, "SELECT day / 100, type, source_id, coalesce(source_name, ''), "
                                       "CASE WHEN fallback_of IS NULL THEN 1 ELSE 0 END FROM sends "
                                       "WHERE type IN ('campaign', 'one_time') AND source_id IS NOT NULL ORDER BY id")) {
    auto& [logical, name] = out[{std::stoll(r[0]), r[1], r[2]}];
    logical += std::stoll(r[4]);
    if (!r[3].empty())
      name = r[3];
  }
  for (auto it = out.begin(); it != out.end();)
    it = it->second.first == 0 ? out.erase(it) : std::next(it);
  return out;
}

/// A campaign (`campaign` true) or one-time message send of source `source`, named `name` (or not, when "").
adapters::intake::send_request sourced(const std::string& id, bool campaign, const std::string& source,
                                       const std::string& name, core::timestamp at, std::size_t index = 0) {
  auto s = make_send(id, at, index);
  s.type = campaign ? core::send_type::campaign : core::send_type::one_time;
  s.source_id = source;
  s.source_name = name;
  return s;
}

} // namespace

TEST_CASE("sources equal a recount from the sends after random registrations and another zone", "[db][sources]") {
  const auto seed = GENERATE(take(8, random(1u, 1'000'000u)));
  INFO("seed " << seed);
  std::mt19937 rng{seed};
  temp_dir dir;
  auto store = open_store(dir.ledger());
  const std::string names[] = {"", "Spring sale", "봄 세일", "Renamed"};
  std::vector<std::string> alimtalk_ids;
  int next = 0;
  for (int round = 0; round < 20; ++round) {
    std::vector<adapters::intake::send_request> batch;
    for (int i = 0; i < 6; ++i) {
      // Over about three months, so that sources span month ends (in Seoul and, after reopening, in UTC).
      const auto at = t0 + std::chrono::hours{rng() % (24 * 90)};
      auto s = sourced("s" + std::to_string(next++), rng() % 2 == 0, "src" + std::to_string(rng() % 4),
                       names[rng() % 4], at, batch.size());
      if (rng() % 5 == 0)
        s.type = core::send_type::workflow; // no source at all: counted nowhere
      if (rng() % 4 == 0) {
        s.medium = core::medium::alimtalk;
        alimtalk_ids.push_back(s.send_id);
      } else if (!alimtalk_ids.empty() && rng() % 3 == 0) {
        s.medium = core::medium::lms; // a failover leg: never a send of its own in the sources
        s.fallback_of = alimtalk_ids[rng() % alimtalk_ids.size()];
      }
      batch.push_back(std::move(s));
    }
    register_committed(*store, batch);
    if (round % 5 == 4) // the same sends again: duplicates count nothing
      register_committed(*store, batch);
    CHECK(stored(dir.ledger()) == recount(dir.ledger()));
  }
  REQUIRE_FALSE(stored(dir.ledger()).empty());
  store.reset();
  auto options = ledger_at(dir.ledger());
  options.zone = "UTC";
  auto opened = open_store(options);
  CHECK(stored(dir.ledger()) == recount(dir.ledger()));
}

TEST_CASE("the sources of a month: most sends first, named by the latest send with a name", "[db][sources]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  const auto zone = *core::zone::locate("Asia/Seoul");
  const auto month = core::month_of(zone.day_of(t0));
  register_committed(*store, {sourced("a1", true, "cmp-a", "A first", t0, 0), sourced("b1", true, "cmp-b", "", t0, 1),
                              sourced("o1", false, "ot-1", "Notice", t0, 2)});
  register_committed(*store, {sourced("a2", true, "cmp-a", "A renamed", t0, 0), sourced("a3", true, "cmp-a", "", t0, 1),
                              sourced("b2", true, "cmp-b", "", t0, 2), sourced("o2", false, "ot-1", "", t0, 3),
                              sourced("o3", false, "ot-1", "", t0, 4)});
  auto reader = open_reader(dir.ledger());
  const auto sources = reader->sources(month).value();
  REQUIRE(sources.size() == 3);
  // cmp-a and ot-1 both have 3: the type breaks the tie (campaign first), then the id.
  CHECK((sources[0].type == "campaign" && sources[0].source_id == "cmp-a" && sources[0].name == "A renamed"
         && sources[0].total == 3));
  CHECK((sources[1].type == "one_time" && sources[1].source_id == "ot-1" && sources[1].name == "Notice"
         && sources[1].total == 3));
  CHECK((sources[2].type == "campaign" && sources[2].source_id == "cmp-b" && sources[2].name.empty()
         && sources[2].total == 2));
  // The totals are what the month summary of each filter counts.
  const auto days = core::days_of(month);
  for (const auto& s : sources) {
    std::int64_t logical = 0;
    for (const auto& r : reader->summary(s.type, s.source_id, days.front(), days.back()).value().rows)
      logical += r.logical;
    CHECK(logical == s.total);
  }
  CHECK(reader->sources(core::next_month(month)).value().empty());
}

TEST_CASE("a purge that cuts a month leaves the sources of its kept days, and drops the months before",
          "[db][sources][purge]") {
  const std::size_t step = GENERATE(2, 100); // the sends of both months in one step, or spread over several
  INFO("purge step " << step);
  temp_dir dir;
  auto store = open_store(dir.ledger(), {});
  const auto zone = *core::zone::locate("Asia/Seoul");
  // The purge keeps the days from the day of (now - 365 days) on: `cut` is that day's start.
  const auto first_kept = zone.day_of(t0 - std::chrono::days{365});
  const auto cut = zone.start_of_day(first_kept);
  std::vector<adapters::intake::send_request> sends;
  for (int i = 0; i < 4; ++i) // the month before the cut's month: wholly purged
    sends.push_back(sourced("old" + std::to_string(i), true, "cmp", "Old", cut - std::chrono::days{40}, sends.size()));
  for (int i = 0; i < 3; ++i) // the cut's month, before the cut
    sends.push_back(sourced("gone" + std::to_string(i), true, "cmp", "Cut", cut - std::chrono::hours{1}, sends.size()));
  for (int i = 0; i < 2; ++i) // the cut's month, after it
    sends.push_back(sourced("kept" + std::to_string(i), true, "cmp", "", cut + std::chrono::hours{1}, sends.size()));
  REQUIRE(core::month_of(zone.day_of(cut - std::chrono::hours{1})) == core::month_of(first_kept));
  register_committed(*store, sends, {}, cut - std::chrono::days{40});
  for (bool more = true; more;) {
    store->begin().value();
    more = store->purge(t0, 365, step).value().more;
    store->commit().value();
  }
  CHECK(all_sends(dir.ledger()) == std::vector<std::string>{"kept0", "kept1"});
  // The month before is gone, not negative (a row of the SQLite back end's own table).
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sources") == 1);
  CHECK(totals(stored(dir.ledger())) == totals(recount(dir.ledger())));
  auto reader = open_reader(dir.ledger());
  const auto kept = reader->sources(core::month_of(first_kept)).value();
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].total == 2);
  CHECK(kept[0].name == "Cut"); // the name stays that of the latest named send registered
}

TEST_CASE("a version 6 ledger counts the sources of every month when it is upgraded", "[db][sqlite][sources][open]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    register_committed(*store, {sourced("a", true, "cmp", "Sale", t0, 0), sourced("b", true, "cmp", "", t0, 1),
                                sourced("c", false, "ot", "", t0 + std::chrono::days{40}, 2)});
  }
  const auto before = stored(dir.ledger());
  REQUIRE(before.size() == 2);
  {
    SQLite::Database raw{dir.ledger(), SQLite::OPEN_READWRITE};
    revert_to_v6(raw);
    raw.exec("PRAGMA user_version = 6;");
  }
  std::vector<std::string> said;
  auto options = ledger_at(dir.ledger());
  options.on_progress = [&](const std::string& what) { said.push_back(what); };
  REQUIRE(open_store(options));
  CHECK(peek_int(dir.ledger(), "PRAGMA user_version") == 7);
  CHECK(stored(dir.ledger()) == before);
  INFO(Catch::Detail::stringify(said));
  CHECK(std::any_of(said.begin(), said.end(), [](const std::string& line) {
    return line.starts_with("schema version 7: counting the campaigns and one-time messages of each month");
  }));
}
