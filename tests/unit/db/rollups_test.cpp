// The per-day roll-ups must always equal what the sends themselves say: checked against a recount from the
// sends after random mixes of registrations, events, failover legs, deadlines, prices and purges. The roll-ups
// are each back end's own tables, so these checks read them with SQL (the same on both).
#include <random>

#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

using counts = std::map<std::tuple<std::string, std::string, std::int64_t, std::string, std::string>,
                        std::pair<std::int64_t, std::int64_t>>;

/// The roll-ups as stored, zero rows left out.
counts stored(const std::string& path) {
  counts out;
  for (const auto& r : peek_rows(path, "SELECT scope, scope_id, day, medium, status, sends, logical FROM rollups"))
    if (r[5] != "0" || r[6] != "0")
      out[{r[0], r[1], std::stoll(r[2]), r[3], r[4]}] = {std::stoll(r[5]), std::stoll(r[6])};
  return out;
}

/// The roll-ups recounted from the sends: legs count in `sends` only, a logical send once in `logical`.
counts recount(const std::string& path) {
  counts out;
  for (const auto& r : peek_rows(path, "SELECT type, coalesce(source_id, ''), day, medium, status, "
                                       "coalesce(logical_status, status), "
                                       "CASE WHEN fallback_of IS NULL THEN 0 ELSE 1 END FROM sends")) {
    const auto& type = r[0];
    const auto& source = r[1];
    const auto day = std::stoll(r[2]);
    const auto& medium = r[3];
    const bool leg = r[6] == "1";
    std::vector<std::pair<std::string, std::string>> scopes{{"all", ""}};
    if (!source.empty() && (type == "campaign" || type == "one_time"))
      scopes.emplace_back(type, source);
    for (const auto& [scope, id] : scopes) {
      out[{scope, id, day, medium, r[4]}].first += 1;
      if (!leg)
        out[{scope, id, day, medium, r[5]}].second += 1;
    }
  }
  for (auto it = out.begin(); it != out.end();)
    it = it->second == std::pair<std::int64_t, std::int64_t>{0, 0} ? out.erase(it) : std::next(it);
  return out;
}

} // namespace

TEST_CASE("roll-ups equal a recount from the sends after random histories", "[db][rollups]") {
  const auto seed = GENERATE(take(12, random(1u, 1'000'000u)));
  INFO("seed " << seed);
  std::mt19937 rng{seed};
  temp_dir dir;
  auto store = open_store(dir.ledger());
  const core::status outcomes[] = {core::status::pending, core::status::sent, core::status::failed,
                                   core::status::uncertain};
  std::vector<std::string> alimtalk_ids;
  int next = 0;
  for (int round = 0; round < 30; ++round) {
    std::vector<adapters::intake::send_request> batch;
    for (int i = 0; i < 5; ++i) {
      auto s = make_send("s" + std::to_string(next), t0 + std::chrono::hours{rng() % 72}, batch.size());
      const int shape = static_cast<int>(rng() % 4);
      s.type = shape == 0 ? core::send_type::campaign : shape == 1 ? core::send_type::one_time : core::send_type::workflow;
      if (shape < 2)
        s.source_id = "src" + std::to_string(rng() % 3);
      if (rng() % 4 == 0) {
        s.medium = core::medium::alimtalk;
        alimtalk_ids.push_back(s.send_id);
      } else if (!alimtalk_ids.empty() && rng() % 3 == 0) {
        s.medium = core::medium::lms;
        s.fallback_of = alimtalk_ids[rng() % alimtalk_ids.size()];
      } else if (rng() % 8 == 0) {
        s.vendor.reset();
        s.excluded = 10006;
      }
      if (s.vendor)
        s.vendor_message_id = "m" + std::to_string(next);
      batch.push_back(std::move(s));
      ++next;
    }
    register_committed(*store, batch);
    std::vector<db::vendor_event> events;
    for (int i = 0; i < 8; ++i) {
      const auto target = "m" + std::to_string(rng() % (next + 3)); // some for sends not registered yet
      const auto outcome = outcomes[rng() % 4];
      const auto code = outcome == core::status::failed ? "twilio:3000" + std::to_string(rng() % 9)
                        : outcome == core::status::uncertain ? "ME09" : "";
      events.push_back(make_event(target, outcome, t0 + std::chrono::seconds{rng() % 1000},
                                  target + "|" + std::to_string(rng() % 6), code, core::category::unknown));
    }
    apply_committed(*store, events);
    if (round % 7 == 6)
      fire_committed(*store, t0 + std::chrono::hours{round});
    CHECK(stored(dir.ledger()) == recount(dir.ledger()));
  }
  // Reopening in another zone moves every send to its day there and rebuilds the roll-ups to match.
  store.reset();
  // It says so, as long start-up work does (the daemon logs it and asks systemd for more start time).
  std::vector<std::string> said;
  auto options = ledger_at(dir.ledger());
  options.zone = "UTC";
  options.on_progress = [&](const std::string& what) { said.push_back(what); };
  auto opened = open_store(options);
  CHECK(stored(dir.ledger()) == recount(dir.ledger()));
  REQUIRE(said.size() == 1);
  CHECK_THAT(said[0], Catch::StartsWith("counting every send's day and the roll-ups in UTC"));
}

TEST_CASE("vendor prices are counted once per send, per currency, and follow a changed price", "[db][rollups]") {
  temp_dir dir;
  auto store = open_store(dir.ledger(), {});
  auto s = make_send("p1");
  s.vendor_message_id = "SMp1";
  s.type = core::send_type::campaign;
  s.source_id = "c1";
  register_committed(*store, {s});
  auto poll = [&](std::string price) {
    db::poll_update u;
    u.vendor = core::vendor::twilio;
    u.vendor_message_id = "SMp1";
    u.price = std::move(price);
    u.price_unit = "USD";
    u.received_at = t0;
    store->begin().value();
    store->apply_polls({u}, t0).value();
    store->commit().value();
  };
  poll("-0.00790");
  poll("-0.00790");
  auto reader = open_reader(dir.ledger());
  const auto day = core::zone::locate("Asia/Seoul")->day_of(t0);
  CHECK(reader->summary("all", "", day, day).value().price_micros == std::map<std::string, std::int64_t>{{"USD", 7900}});
  CHECK(reader->summary("campaign", "c1", day, day).value().price_micros.at("USD") == 7900);
  poll("-0.01000");
  CHECK(reader->summary("all", "", day, day).value().price_micros.at("USD") == 10000);
}

TEST_CASE("purge removes sends, their events and roll-ups of days before the retention window, in steps",
          "[db][rollups][purge]") {
  temp_dir dir;
  auto store = open_store(dir.ledger(), {});
  std::vector<adapters::intake::send_request> old_sends, new_sends;
  for (int i = 0; i < 25; ++i)
    old_sends.push_back(make_send("old" + std::to_string(i), t0 - std::chrono::days{400}, old_sends.size()));
  for (int i = 0; i < 5; ++i)
    new_sends.push_back(make_send("new" + std::to_string(i), t0 - std::chrono::days{10}, new_sends.size()));
  register_committed(*store, old_sends, {}, t0 - std::chrono::days{400});
  register_committed(*store, new_sends, {}, t0);
  apply_committed(*store, {make_event("held-forever", core::status::sent, t0 - std::chrono::days{400}, "h|1")});
  std::vector<std::size_t> steps;
  for (int step = 0; step < 10; ++step) {
    store->begin().value();
    auto out = store->purge(t0, 365, 10).value();
    store->commit().value();
    steps.push_back(out.sends);
    if (!out.more)
      break;
  }
  CHECK(steps == std::vector<std::size_t>{10, 10, 5});
  CHECK(all_sends(dir.ledger()) == std::vector<std::string>{"new0", "new1", "new2", "new3", "new4"});
  // The year-old held event went too: a send registered with its id now has none.
  register_committed(*store, {send_with_id("late", "held-forever")}, {}, t0);
  CHECK(history_of(*open_reader(dir.ledger()), "late") == std::vector<std::string>{"intake/pending/"});
  CHECK(stored(dir.ledger()) == recount(dir.ledger()));
}

TEST_CASE("the purge step that takes the last old sends says so, even when they fill the step exactly",
          "[db][purge]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  std::vector<adapters::intake::send_request> old_sends;
  for (int i = 0; i < 20; ++i)
    old_sends.push_back(make_send("old" + std::to_string(i), t0 - std::chrono::days{400}, old_sends.size()));
  register_committed(*store, old_sends, {}, t0 - std::chrono::days{400});
  std::vector<std::pair<std::size_t, bool>> steps;
  for (int step = 0; step < 3; ++step) {
    store->begin().value();
    auto out = store->purge(t0, 365, 10).value();
    store->commit().value();
    steps.emplace_back(out.sends, out.more);
    if (!out.more)
      break;
  }
  // No third, empty step: a daemon killed after the second would otherwise never say the purge was complete.
  CHECK(steps == std::vector<std::pair<std::size_t, bool>>{{10, true}, {10, false}});
}
