// Several daemons on one shared PostgreSQL ledger (contract, "Several hosts: the shared ledger"): three daemons of
// this build, each with its own ports and host_id, on one database of the throwaway cluster. Tagged
// [.][postgresql]: they run in ctest's "integration on postgresql" entry only.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <random>
#include <mutex>
#include <set>
#include <thread>

#include "fake_vendor.hpp"
#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

/// Three daemons of `options` on one shared ledger.
struct group {
  temp_dir shared;
  std::array<std::unique_ptr<daemon_process>, 3> daemons;

  explicit group(daemon_options options = {}) {
    REQUIRE(on_postgresql()); // one ledger for several daemons is the PostgreSQL back end's
    options.ledger_path = shared.path() / "ledger.db";
    for (auto& d : daemons)
      d = std::make_unique<daemon_process>(options);
  }
  daemon_process& operator[](std::size_t i) { return *daemons[i]; }
};

} // namespace

TEST_CASE("several hosts: overlapping intake at three daemons at once accepts each send exactly once",
          "[.][postgresql][multi-host]") {
  group g;
  const auto at = same_day_base();
  constexpr int sends = 900;
  // Daemon i is given sends [300 i, 300 i + 600) modulo 900: every send reaches two daemons, in batches of 50
  // posted by two clients per daemon at once.
  std::atomic<long> accepted{0}, duplicates{0}, other{0};
  std::mutex failures_mutex;
  std::string failures;
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i)
    for (int half = 0; half < 2; ++half)
      clients.emplace_back([&, i, half] {
        auto ops = g[static_cast<std::size_t>(i)].ops_client();
        for (int b = 0; b < 6; ++b) {
          json items = json::array();
          for (int k = 0; k < 50; ++k) {
            const int n = (300 * i + 300 * half + 50 * b + k) % sends;
            items.push_back(twilio_send("mh-" + std::to_string(n), at, "SMmh" + std::to_string(n)));
          }
          auto res = post_sends(*ops, items);
          if (!res || res->status != 200) {
            ++other;
            std::lock_guard lock{failures_mutex};
            failures += describe(res) + "\n";
            continue;
          }
          const auto answer = json::parse(res->body);
          accepted += answer["accepted"].get<long>();
          duplicates += answer["duplicates"].get<long>();
          other += static_cast<long>(answer["rejected"].size());
        }
      });
  for (auto& t : clients)
    t.join();
  INFO(failures);
  CHECK(other == 0);
  CHECK(accepted == sends);
  CHECK(duplicates == sends);
  // Every daemon sees all of them, each once, in the day log and in the summary.
  for (std::size_t i = 0; i < 3; ++i) {
    auto ops = g[i].ops_client();
    std::set<std::string> seen;
    std::string cursor;
    do {
      auto page = get_json(*ops, "/v1/log/day/" + seoul_date(at) + "?limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor));
      for (const auto& row : page["rows"])
        CHECK(seen.insert(row["send_id"].get<std::string>()).second);
      cursor = page.value("next_cursor", json{}).is_string() ? page["next_cursor"].get<std::string>() : "";
    } while (!cursor.empty());
    CHECK(seen.size() == sends);
    const auto summary = get_json(*ops, "/v1/log/summary?month=" + seoul_date(at).substr(0, 7));
    CHECK(summary["total"] == sends);
  }
  CHECK(ledger_int(g[0], "SELECT count(*) FROM events WHERE source = 'intake'") == sends);
}

TEST_CASE("several hosts: callbacks spread over three daemons, before and after intake, settle as on one",
          "[.][postgresql][multi-host]") {
  group g;
  const auto at = same_day_base();
  constexpr int sends = 120;
  std::mt19937 random{20261206};
  // Per send: its intake and two callbacks (sent, then delivered or undelivered 30003), in a random order, each to a
  // random daemon; the sends go side by side, one thread per daemon.
  struct step {
    int send;
    int kind; // 0 intake, 1 sent, 2 the final callback
  };
  std::array<std::vector<step>, 3> plan;
  for (int n = 0; n < sends; ++n) {
    std::array<int, 3> kinds{0, 1, 2};
    std::shuffle(kinds.begin(), kinds.end(), random);
    for (int kind : kinds)
      plan[random() % 3].push_back({n, kind});
  }
  for (auto& steps : plan)
    std::shuffle(steps.begin(), steps.end(), random);
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 3; ++i)
    threads.emplace_back([&, i] {
      auto ops = g[i].ops_client();
      auto hooks = g[i].webhooks_client();
      for (const auto& s : plan[i]) {
        const auto sid = "SMcb" + std::to_string(s.send);
        auto res = s.kind == 0   ? post_sends(*ops, json::array({twilio_send("cb-" + std::to_string(s.send), at, sid)}))
                   : s.kind == 1 ? post_twilio(*hooks, g[i].public_url(), twilio_callback(sid, "sent"))
                   : s.send % 3 == 0
                     ? post_twilio(*hooks, g[i].public_url(), twilio_callback(sid, "undelivered", "30003"))
                     : post_twilio(*hooks, g[i].public_url(), twilio_callback(sid, "delivered"));
        if (!res || res->status != 200)
          ++refused;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(refused == 0);
  auto ops = g[1].ops_client();
  for (int n = 0; n < sends; ++n) {
    const auto s = get_json(*ops, "/v1/sends/cb-" + std::to_string(n));
    INFO("cb-" << n << ": " << s.dump());
    CHECK(s["status"] == (n % 3 == 0 ? "failed" : "sent"));
    CHECK(s["history"].size() == 3); // intake and both callbacks, none held back, none twice
  }
  CHECK(ledger_int(g[2], "SELECT count(*) FROM events WHERE send IS NULL") == 0);
  // The roll-ups, which three daemons added to side by side, equal a recount.
  CHECK(ledger_int(g[0], "SELECT sum(logical) FROM rollups WHERE scope = 'all'") == sends);
  CHECK(ledger_int(g[0], "SELECT count(*) FROM (SELECT r.day, r.medium, r.status, r.logical FROM rollups r "
                         "WHERE r.scope = 'all' AND r.logical <> (SELECT count(*) FROM sends s WHERE s.day = r.day "
                         "AND s.medium = r.medium AND coalesce(s.logical_status, s.status) = r.status "
                         "AND s.fallback_of IS NULL)) AS wrong")
        == 0);
  const auto summary = get_json(*ops, "/v1/log/summary?month=" + seoul_date(at).substr(0, 7));
  CHECK(summary["by_status"]["failed"] == sends / 3);
  CHECK(summary["by_status"]["sent"] == sends - sends / 3);
}

TEST_CASE("several hosts: an ME09 deadline fires once for the group", "[.][postgresql][multi-host]") {
  daemon_options options;
  options.twilio_extra = "uncertain_after = \"2s\"\n";
  group g{options};
  auto ops = g[0].ops_client();
  const auto now = now_seconds();
  json items = json::array();
  for (int n = 0; n < 40; ++n)
    items.push_back(twilio_send("dl-" + std::to_string(n), now, "SMdl" + std::to_string(n)));
  REQUIRE(body_of(post_sends(*ops, items))["accepted"] == 40);
  for (int n = 0; n < 40; ++n) {
    auto at = g[static_cast<std::size_t>(n % 3)].ops_client();
    const auto sent = wait_for_send(*at, "dl-" + std::to_string(n),
                                    [](const json& s) { return s["status"] == "uncertain"; }, 15s);
    CHECK(sent["code"] == "ME09");
  }
  // Every daemon swept for a few more ticks: still one deadline entry per send.
  std::this_thread::sleep_for(2500ms);
  CHECK(ledger_int(g[1], "SELECT count(*) FROM events WHERE source = 'deadline'") == 40);
  CHECK(ledger_int(g[1], "SELECT count(*) FROM sends WHERE deadline_at IS NOT NULL") == 0);
}

TEST_CASE("several hosts: a due poll is fetched by one daemon at a time", "[.][postgresql][multi-host]") {
  auto fake = make_fake_kakao();
  daemon_options options;
  options.extra_toml = kakao_section(fake, "1s");
  constexpr int sends = 30;
  for (int n = 0; n < sends; ++n) // pending: the vendor has no result yet
    fake.script(kakao_path("mp-" + std::to_string(n)), {{200, kakao_answer("mp-" + std::to_string(n), "")}});
  group g{options};
  auto ops = g[0].ops_client();
  json items = json::array();
  for (int n = 0; n < sends; ++n)
    items.push_back({{"send_id", "poll-" + std::to_string(n)}, {"type", "follow_up"}, {"medium", "alimtalk"},
                     {"vendor", "kakao"}, {"contact", "010-1234-5678"},
                     {"requested_at", seoul_rfc3339(now_seconds())}, {"vendor_message_id", "mp-" + std::to_string(n)}});
  REQUIRE(body_of(post_sends(*ops, items))["accepted"] == sends);
  std::this_thread::sleep_for(6s);
  CHECK(fake.bad_auth() == 0);
  // Every claim was either applied or is in flight: none is left behind by a daemon that claimed more than it
  // started (it would keep that send from every daemon for a minute).
  CHECK(ledger_int(g[0], "SELECT count(*) FROM sends WHERE poll_claimed_until IS NOT NULL AND next_poll_at < "
                         "(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 3000")
        == 0);
  std::string warnings; // a fetch that failed (a time-out) is applied as such, and the vendor may still answer it
  for (std::size_t i = 0; i < 3; ++i) {
    const auto log = g[i].log();
    for (auto at = log.find("poll_failed"); at != std::string::npos; at = log.find("poll_failed", at + 1))
      warnings += log.substr(at, log.find('\n', at) - at) + "\n";
  }
  INFO(warnings);
  int fetches = 0;
  for (int n = 0; n < sends; ++n) {
    auto made = fake.signed_at(kakao_path("mp-" + std::to_string(n)));
    std::sort(made.begin(), made.end());
    fetches += static_cast<int>(made.size());
    CHECK(made.size() >= 2); // the group does poll every send
    // Three daemons, one claim: a send is fetched again only after its poll interval (1 s, less its jitter), never
    // by two daemons together.
    for (std::size_t k = 1; k < made.size(); ++k) {
      INFO("mp-" << n << " fetch " << k);
      CHECK(made[k] - made[k - 1] >= 500);
    }
  }
  INFO("fetches: " << fetches);
  CHECK(fetches <= sends * 8); // about one per second each over 6 s; three daemons without claims would make three
}

namespace {

/// `n` Alimtalk sends of the Kakao fake, requested now, pending at the vendor: each is polled about every second.
json pending_alimtalk(fake_vendor& fake, const std::string& prefix, int n) {
  json items = json::array();
  for (int i = 0; i < n; ++i) {
    const auto id = prefix + std::to_string(i);
    fake.script(kakao_path(id), {{200, kakao_answer(id, "")}});
    items.push_back({{"send_id", "send-" + id}, {"type", "follow_up"}, {"medium", "alimtalk"}, {"vendor", "kakao"},
                     {"contact", "010-1234-5678"}, {"requested_at", seoul_rfc3339(now_seconds())},
                     {"vendor_message_id", id}});
  }
  return items;
}

long long epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

TEST_CASE("several hosts: the vendor account's fetch limits hold for the group", "[.][postgresql][multi-host]") {
  // Three daemons, each allowed 8 at once and 50 a second on its own: without the group's limits the account would
  // see 24 at once and 150 a second.
  auto fake = make_fake_kakao();
  std::string limit;
  SECTION("50 fetches started a second") {
    limit = "rate";
  }
  SECTION("8 fetches at once") {
    limit = "concurrency";
    fake.delay = 400ms; // 8 at once is then 20 a second: the rate never binds
  }
  daemon_options options;
  options.extra_toml = kakao_section(fake, "1s");
  group g{options};
  auto ops = g[0].ops_client();
  REQUIRE(body_of(post_sends(*ops, pending_alimtalk(fake, "lim-", 300)))["accepted"] == 300);
  const auto start = epoch_ms();
  std::this_thread::sleep_for(6s);
  const int made = fake.made_since(start);
  // Fetches by when the daemons signed them, in windows a little shorter than a second: a start may reach the
  // vendor later than the claim that counted it, by a thread's hand-over.
  const int per_window = fake.max_signed_within(800ms);
  std::cout << "several hosts, fetch limits (" << limit << "): " << made << " fetches in 6 s, at most " << per_window
            << " signed within 0.8 s, at most " << fake.max_in_flight() << " at once\n";
  CHECK(fake.bad_auth() == 0);
  CHECK(fake.max_in_flight() <= 8);
  CHECK(per_window <= 50);
  if (limit == "rate") {
    CHECK(made >= 120); // and the group does fetch: 50 a second, from its first second
  } else {
    CHECK(fake.max_in_flight() >= 6);
    CHECK(made >= 50);
  }
}

TEST_CASE("several hosts: a daemon killed while it holds poll claims leaves them to the others within a minute",
          "[.][postgresql][multi-host][lease]") {
  auto fake = make_fake_kakao();
  fake.delay = 3s; // fetches that last: the daemon is killed in the middle of them
  daemon_options options;
  options.extra_toml = kakao_section(fake, "1s");
  group g{options};
  const std::string victim = "it-" + std::to_string(g[0].webhooks_port()); // the harness's host_id
  g[1].terminate();
  g[2].terminate(); // daemon 0 alone claims at first
  auto ops = g[0].ops_client();
  REQUIRE(body_of(post_sends(*ops, pending_alimtalk(fake, "claim-", 20)))["accepted"] == 20);
  const std::string held_now = "SELECT vendor_message_id, poll_claimed_until FROM sends WHERE poll_claimed_by = '"
                               + victim + "' AND poll_claimed_until > (extract(epoch FROM clock_timestamp()) * 1000)::bigint";
  auto claims = ledger_rows(g[0], held_now);
  for (int i = 0; i < 100 && claims.size() < 8; ++i) {
    std::this_thread::sleep_for(100ms);
    claims = ledger_rows(g[0], held_now);
  }
  REQUIRE(claims.size() == 8); // the account's 8 at once, all this daemon's, each fetch lasting 3 s
  g[0].kill_hard();
  const auto killed = epoch_ms();
  fake.delay = 0ms; // from now on the account's limits hold nothing back but the dead daemon's claims
  claims = ledger_rows(g[1], held_now); // what it still held when it died
  REQUIRE(claims.size() == 8);
  g[1].start();
  g[2].start();
  // The others take each claimed send over once its claim has passed (60 s after it was taken), not before.
  long long last_takeover = 0;
  for (const auto& row : claims) {
    const auto& id = row[0];
    const auto until = std::stoll(row[1]);
    std::vector<long long> after;
    for (const auto deadline = std::chrono::steady_clock::now() + 75s; std::chrono::steady_clock::now() < deadline;) {
      after.clear();
      for (auto t : fake.signed_at(kakao_path(id)))
        if (t >= killed)
          after.push_back(t);
      if (!after.empty())
        break;
      std::this_thread::sleep_for(250ms);
    }
    INFO(id << ", claimed until " << until << ", killed at " << killed);
    REQUIRE_FALSE(after.empty());
    const auto first = *std::min_element(after.begin(), after.end());
    CHECK(first >= until - 50); // no other daemon fetched it while the claim held (same clock; its rounding)
    last_takeover = std::max(last_takeover, first - killed);
  }
  std::cout << "several hosts, poll claims of a killed daemon: " << claims.size() << " taken over, the last "
            << last_takeover << " ms after the kill\n";
  CHECK(last_takeover <= 62000); // within the minute of the lease, and the pollers' next tick
  CHECK(fake.bad_auth() == 0);
}

TEST_CASE("several hosts: SIGKILL of one daemon under load loses nothing that any daemon acknowledged",
          "[.][postgresql][multi-host]") {
  group g;
  const auto at = same_day_base();
  std::mutex mutex;
  std::vector<std::string> acked_sends;     // send ids whose intake any daemon answered 200
  std::vector<std::string> acked_callbacks; // send ids whose "delivered" callback was answered 200
  std::atomic<bool> stop{false};
  std::atomic<long> not_acked{0};
  std::vector<std::thread> clients;
  // Intake at all three daemons, two clients each, batches of 20 new sends.
  for (std::size_t i = 0; i < 3; ++i)
    for (int c = 0; c < 2; ++c)
      clients.emplace_back([&, i, c] {
        auto ops = g[i].ops_client();
        for (int n = 0; !stop; ++n) {
          json items = json::array();
          std::vector<std::string> ids;
          for (int k = 0; k < 20; ++k) {
            ids.push_back("k" + std::to_string(i) + "-" + std::to_string(c) + "-" + std::to_string(n) + "-" + std::to_string(k));
            items.push_back(twilio_send(ids.back(), at, "SM" + ids.back()));
          }
          auto res = post_sends(*ops, items);
          if (!res || res->status != 200) {
            ++not_acked;
            std::this_thread::sleep_for(50ms);
            continue;
          }
          std::lock_guard lock{mutex};
          acked_sends.insert(acked_sends.end(), ids.begin(), ids.end());
        }
      });
  // Callbacks at daemon 2 (it survives) for sends acknowledged so far.
  clients.emplace_back([&] {
    auto hooks = g[2].webhooks_client();
    std::size_t next = 0;
    while (!stop) {
      std::string id;
      {
        std::lock_guard lock{mutex};
        if (next < acked_sends.size())
          id = acked_sends[next++];
      }
      if (id.empty()) {
        std::this_thread::sleep_for(10ms);
        continue;
      }
      auto res = post_twilio(*hooks, g[2].public_url(), twilio_callback("SM" + id, "delivered"));
      if (res && res->status == 200) {
        std::lock_guard lock{mutex};
        acked_callbacks.push_back(id);
      }
    }
  });
  std::this_thread::sleep_for(2s);
  g[1].kill_hard(); // in the middle of its group commits
  std::this_thread::sleep_for(2s);
  stop = true;
  for (auto& t : clients)
    t.join();
  INFO("acknowledged " << acked_sends.size() << " sends and " << acked_callbacks.size() << " callbacks; "
                       << not_acked << " intake requests not acknowledged");
  REQUIRE(acked_sends.size() > 200);
  REQUIRE(acked_callbacks.size() > 50);

  // Everything acknowledged is there, as each survivor sees it, and the callbacks are reflected.
  std::set<std::string> stored;
  for (const auto& row : ledger_rows(g[0], "SELECT send_id FROM sends"))
    stored.insert(row[0]);
  std::size_t lost = 0;
  for (const auto& id : acked_sends)
    lost += stored.count(id) == 0;
  CHECK(lost == 0);
  std::set<std::string> sent;
  for (const auto& row : ledger_rows(g[0], "SELECT send_id FROM sends WHERE status = 'sent'"))
    sent.insert(row[0]);
  std::size_t unreflected = 0;
  for (const auto& id : acked_callbacks)
    unreflected += sent.count(id) == 0;
  CHECK(unreflected == 0);
  std::cout << "several hosts, SIGKILL: acknowledged " << acked_sends.size() << " sends and " << acked_callbacks.size()
            << " callbacks at three daemons, one killed; lost " << lost << ", callbacks not reflected " << unreflected
            << "\n";
  // The survivors go on; the killed one starts again on the same ledger and sees it all.
  auto ops = g[0].ops_client();
  CHECK(body_of(post_sends(*ops, json::array({twilio_send("after-kill", at)})))["accepted"] == 1);
  g[1].start();
  auto again = g[1].ops_client();
  const auto summary = get_json(*again, "/v1/log/summary?month=" + seoul_date(at).substr(0, 7));
  CHECK(summary["total"].get<std::size_t>() == stored.size() + 1);
}
