// The exposition text of GET /metrics, from counters set here: exact values, the format's grammar, the
// histogram's shape; and the small readers of /proc text and the pending-count cache.
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "daemon/metrics.hpp"

using namespace deliveryd;
using daemon::format_metrics;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

/// sample line (name with labels) -> value
std::map<std::string, std::string> samples_of(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& line : lines_of(text))
    if (!line.empty() && line[0] != '#')
      out[line.substr(0, line.rfind(' '))] = line.substr(line.rfind(' ') + 1);
  return out;
}

/// Sets counters to known values (counters hold atomics: filled in place, never copied).
void fill(actors::counters& c) {
  actors::bump(c.of(core::vendor::twilio).events_received, 7);
  actors::bump(c.of(core::vendor::twilio).bad_signatures, 2);
  actors::bump(c.of(core::vendor::kakao).poll_not_found, 3);
  actors::bump(c.of(core::vendor::kakao).polls, 5);
  actors::bump(c.of(core::vendor::email).deadlines_fired, 1);
  auto& l = c.ledger;
  actors::bump(l.intake_accepted, 11);
  actors::bump(l.intake_rejected, 4);
  actors::bump(l.commits, 6);
  actors::bump(l.jobs_committed, 15);
  actors::bump(l.commit_us_sum, 2'500'750);
  actors::bump(l.commit_us_buckets[0], 2);  // <= 0.5 ms
  actors::bump(l.commit_us_buckets[2], 1);  // <= 2.5 ms
  actors::bump(l.commit_us_buckets[9], 2);  // <= 1 s
  actors::bump(l.commit_us_buckets[10], 1); // slower
  l.queue_depth.store(9);
  actors::bump(l.purged_sends, 100);
}

} // namespace

TEST_CASE("metrics: exact values of counters, gauges and process figures", "[metrics]") {
  actors::counters c;
  fill(c);
  daemon::process_sample p{123 * 4096, 17, 65536, 1764230400.5};
  const auto s = samples_of(format_metrics(c, daemon::pending_counts{{"twilio", 40}, {"kakao", 2}}, p));
  CHECK(s.at(R"(deliveryd_vendor_events_received_total{vendor="twilio"})") == "7");
  CHECK(s.at(R"(deliveryd_vendor_events_received_total{vendor="email"})") == "0");
  CHECK(s.at(R"(deliveryd_webhook_auth_failures_total{vendor="twilio"})") == "2");
  CHECK(s.at(R"(deliveryd_polls_total{vendor="kakao",result="not_found"})") == "3");
  CHECK(s.at(R"(deliveryd_polls_total{vendor="kakao",result="ok"})") == "5");
  CHECK(s.at(R"(deliveryd_polls_total{vendor="kakao",result="error"})") == "0");
  CHECK(s.at(R"(deliveryd_deadlines_fired_total{vendor="email"})") == "1");
  CHECK(s.at(R"(deliveryd_intake_sends_total{outcome="accepted"})") == "11");
  CHECK(s.at(R"(deliveryd_intake_sends_total{outcome="rejected"})") == "4");
  CHECK(s.at("deliveryd_ledger_commits_total") == "6");
  CHECK(s.at("deliveryd_ledger_jobs_committed_total") == "15");
  CHECK(s.at("deliveryd_ledger_queue_depth") == "9");
  CHECK(s.at("deliveryd_purged_sends_total") == "100");
  CHECK(s.at("deliveryd_purged_events_total") == "0");
  CHECK(s.at(R"(deliveryd_pending_sends{vendor="twilio"})") == "40");
  CHECK(s.at(R"(deliveryd_pending_sends{vendor="kakao"})") == "2");
  CHECK(s.at(R"(deliveryd_pending_sends{vendor="carrier"})") == "0");
  CHECK(s.at("deliveryd_process_resident_memory_bytes") == std::to_string(123 * 4096));
  CHECK(s.at("deliveryd_process_open_fds") == "17");
  CHECK(s.at("deliveryd_process_max_fds") == "65536");
  CHECK(s.at("deliveryd_process_start_time_seconds") == "1764230400.5");
}

TEST_CASE("metrics: the commit histogram is cumulative and ends with +Inf equal to _count", "[metrics]") {
  actors::counters c;
  fill(c);
  const auto s = samples_of(format_metrics(c, std::nullopt, {}));
  CHECK(s.at(R"(deliveryd_ledger_commit_seconds_bucket{le="0.0005"})") == "2");
  CHECK(s.at(R"(deliveryd_ledger_commit_seconds_bucket{le="0.001"})") == "2");
  CHECK(s.at(R"(deliveryd_ledger_commit_seconds_bucket{le="0.0025"})") == "3");
  CHECK(s.at(R"(deliveryd_ledger_commit_seconds_bucket{le="0.25"})") == "3");
  CHECK(s.at(R"(deliveryd_ledger_commit_seconds_bucket{le="1"})") == "5");
  CHECK(s.at(R"(deliveryd_ledger_commit_seconds_bucket{le="+Inf"})") == "6");
  CHECK(s.at("deliveryd_ledger_commit_seconds_count") == "6");
  CHECK(s.at("deliveryd_ledger_commit_seconds_sum") == "2.50075");
  // Bucket lines come in the order of their bounds, +Inf last.
  std::vector<std::string> order;
  for (const auto& line : lines_of(format_metrics(c, std::nullopt, {})))
    if (line.rfind("deliveryd_ledger_commit_seconds_bucket", 0) == 0)
      order.push_back(line.substr(line.find("le=")));
  REQUIRE(order.size() == actors::commit_latency_bounds_us.size() + 1);
  CHECK(order.front().rfind(R"(le="0.0005")", 0) == 0);
  CHECK(order.back().rfind(R"(le="+Inf")", 0) == 0);
}

TEST_CASE("metrics: every line is a HELP, a TYPE or a sample of the family announced before it", "[metrics]") {
  actors::counters c;
  fill(c);
  const auto text = format_metrics(c, std::nullopt, {});
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  const std::regex help{R"(# HELP (deliveryd_[a-z_]+) [^\n]+)"};
  const std::regex type{R"(# TYPE (deliveryd_[a-z_]+) (counter|gauge|histogram))"};
  const std::regex sample{
    R"((deliveryd_[a-z_]+)(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? (-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?|\+Inf))"};
  std::string family, family_type;
  std::set<std::string> announced;
  for (const auto& line : lines_of(text)) {
    INFO(line);
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      family = m[1];
      CHECK(announced.insert(family).second); // one HELP per family
    } else if (std::regex_match(line, m, type)) {
      CHECK(m[1] == family); // TYPE right after its HELP
      family_type = m[2];
    } else {
      REQUIRE(std::regex_match(line, m, sample));
      const std::string name = m[1];
      if (family_type == "histogram")
        CHECK((name == family + "_bucket" || name == family + "_sum" || name == family + "_count"));
      else
        CHECK(name == family);
    }
  }
  // Pending without a value: the family is announced, without samples.
  CHECK(announced.count("deliveryd_pending_sends") == 1);
  CHECK(text.find("deliveryd_pending_sends{") == std::string::npos);
  CHECK(text.find("\ndeliveryd_process_open_fds ") == std::string::npos);
}

TEST_CASE("metrics: microseconds as exact decimal seconds", "[metrics]") {
  CHECK(daemon::micros_as_seconds(0) == "0");
  CHECK(daemon::micros_as_seconds(500) == "0.0005");
  CHECK(daemon::micros_as_seconds(2500) == "0.0025");
  CHECK(daemon::micros_as_seconds(1'000'000) == "1");
  CHECK(daemon::micros_as_seconds(12'000'001) == "12.000001");
}

TEST_CASE("metrics: resident memory and start time from /proc text", "[metrics]") {
  CHECK(daemon::resident_bytes_of("2500 1200 300 10 0 900 0\n", 4096) == 1200u * 4096u);
  CHECK_FALSE(daemon::resident_bytes_of("", 4096));
  CHECK_FALSE(daemon::resident_bytes_of("2500 x", 4096));
  // comm with a space and a parenthesis; starttime (field 22) is 5000 ticks = 50 s after boot.
  const std::string stat = "4242 (deliv ery)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 9 0 5000 123 45";
  auto started = daemon::start_time_of(stat, 100, 1050.0, 1'000'000.0);
  REQUIRE(started);
  CHECK(*started == Approx(1'000'000.0 - 1000.0));
  CHECK_FALSE(daemon::start_time_of("4242 (x) S 1 2", 100, 1.0, 1.0));
  const auto own = daemon::sample_process();
  CHECK(own.resident_bytes.value_or(0) > 0);
  CHECK(own.open_fds.value_or(0) >= 3);
  CHECK(daemon::process_start_time().value_or(0) > 1.6e9);
}

TEST_CASE("metrics: pending counts are cached for the TTL, failures are not", "[metrics]") {
  daemon::pending_cache cache{std::chrono::seconds{10}};
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours{1};
  int calls = 0;
  auto query = [&]() -> std::optional<daemon::pending_counts> {
    ++calls;
    return daemon::pending_counts{{"twilio", calls}};
  };
  CHECK(cache.get(query, t0)->front().second == 1);
  CHECK(cache.get(query, t0 + std::chrono::seconds{9})->front().second == 1);
  CHECK(calls == 1);
  CHECK(cache.get(query, t0 + std::chrono::seconds{10})->front().second == 2);
  daemon::pending_cache failing{std::chrono::seconds{10}};
  int failures = 0;
  auto broken = [&]() -> std::optional<daemon::pending_counts> {
    ++failures;
    return std::nullopt;
  };
  CHECK_FALSE(failing.get(broken, t0));
  CHECK_FALSE(failing.get(broken, t0 + std::chrono::seconds{1}));
  CHECK(failures == 2);
}

TEST_CASE("metrics: the ledger's backlog, its limit and the overload refusals", "[metrics]") {
  actors::counters c;
  actors::backlog gate{1000};
  REQUIRE(gate.try_admit(600));
  REQUIRE_FALSE(gate.try_admit(500));
  gate.refused();
  const auto text = format_metrics(c, std::nullopt, {}, &gate);
  const auto s = samples_of(text);
  CHECK(s.at("deliveryd_ledger_backlog_items") == "600");
  CHECK(s.at("deliveryd_ledger_backlog_limit") == "1000");
  CHECK(s.at("deliveryd_overloaded_total") == "2");
  // Each sample follows its own family's TYPE line.
  const auto type = text.find("# TYPE deliveryd_overloaded_total counter\n");
  REQUIRE(type != std::string::npos);
  CHECK(text.find("deliveryd_overloaded_total 2") > type);
  // Without a gate the families stay and carry no sample.
  const auto bare = samples_of(format_metrics(c, std::nullopt, {}));
  CHECK(bare.count("deliveryd_ledger_backlog_items") == 0);
}
