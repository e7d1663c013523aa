// GET /metrics over real HTTP after intake and Twilio callbacks: exact counts, the exposition grammar, the
// commit histogram's shape, the ops bearer token (required for /metrics, not for /healthz), and the names that
// ps -T shows for the daemon's threads.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

/// The samples of an exposition: "name{labels}" -> value, in order of appearance.
struct scrape {
  std::string text;
  std::vector<std::string> lines;
  std::map<std::string, double> values;

  double at(const std::string& key) const {
    INFO("sample " << key);
    auto it = values.find(key);
    REQUIRE(it != values.end());
    return it->second;
  }
};

scrape read_metrics(httplib::Client& ops) {
  auto res = ops.Get("/metrics");
  INFO("GET /metrics -> " << describe(res));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
  scrape s;
  s.text = res->body;
  std::istringstream in{res->body};
  for (std::string line; std::getline(in, line);) {
    s.lines.push_back(line);
    if (!line.empty() && line[0] != '#') {
      const auto space = line.rfind(' ');
      const auto value = line.substr(space + 1);
      s.values[line.substr(0, space)] = value == "+Inf" ? HUGE_VAL : std::stod(value);
    }
  }
  return s;
}

/// Every line is a HELP, the TYPE right after it, or a sample of the family they announced.
void check_grammar(const scrape& s) {
  const std::regex help{R"(# HELP (deliveryd_[a-z_]+) \S.*)"};
  const std::regex type{R"(# TYPE (deliveryd_[a-z_]+) (counter|gauge|histogram|summary|untyped))"};
  const std::regex sample{R"((deliveryd_[a-z_]+)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")"
                          R"((,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? )"
                          R"(([-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|[-+]Inf|NaN))"};
  std::string family, family_type, previous;
  std::set<std::string> helped, typed;
  REQUIRE(!s.text.empty());
  CHECK(s.text.back() == '\n');
  for (const auto& line : s.lines) {
    INFO("line: " << line);
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      family = m[1];
      CHECK(helped.insert(family).second);
    } else if (std::regex_match(line, m, type)) {
      CHECK(m[1] == family);
      CHECK(previous.rfind("# HELP " + family + " ", 0) == 0);
      CHECK(typed.insert(family).second);
      family_type = m[2];
    } else {
      REQUIRE(std::regex_match(line, m, sample));
      const std::string name = m[1];
      if (family_type == "histogram")
        CHECK((name == family + "_bucket" || name == family + "_sum" || name == family + "_count"));
      else
        CHECK(name == family);
    }
    previous = line;
  }
  CHECK(helped == typed);
}

/// The buckets of deliveryd_ledger_commit_seconds are cumulative and end with +Inf = _count.
void check_histogram(const scrape& s) {
  std::vector<std::pair<std::string, double>> buckets;
  const std::string prefix = "deliveryd_ledger_commit_seconds_bucket{le=\"";
  for (const auto& line : s.lines)
    if (line.rfind(prefix, 0) == 0) {
      const auto le = line.substr(prefix.size(), line.find('"', prefix.size()) - prefix.size());
      buckets.emplace_back(le, std::stod(line.substr(line.rfind(' ') + 1)));
    }
  REQUIRE(buckets.size() == 11);
  CHECK(buckets.front().first == "0.0005");
  CHECK(buckets.back().first == "+Inf");
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    INFO("bucket le=" << buckets[i].first);
    CHECK(buckets[i].second >= buckets[i - 1].second);
    if (i + 1 < buckets.size())
      CHECK(std::stod(buckets[i].first) > std::stod(buckets[i - 1].first));
  }
  CHECK(buckets.back().second == s.at("deliveryd_ledger_commit_seconds_count"));
  CHECK(s.at("deliveryd_ledger_commit_seconds_count") >= 1);
  CHECK(s.at("deliveryd_ledger_commit_seconds_sum") > 0);
}

} // namespace

TEST_CASE("metrics: counts of intake, callbacks, bad signatures and pending sends", "[integration][metrics]") {
  daemon_process d;
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto base = same_day_base();
  const std::string sid_one = "SM71000000000000000000000000000001";
  const std::string sid_two = "SM71000000000000000000000000000002";
  const json sends = json::array({twilio_send("mt-1", base + 1s, sid_one), twilio_send("mt-2", base + 2s, sid_two)});
  CHECK(body_of(post_sends(*ops, sends))["accepted"] == 2);
  CHECK(body_of(post_sends(*ops, json::array({sends[0]})))["duplicates"] == 1);
  auto bad_item = twilio_send("mt-bad", base + 3s, std::nullopt, "not a number");
  CHECK(body_of(post_sends(*ops, json::array({bad_item})))["rejected"].size() == 1);

  auto delivered = post_twilio(*hooks, d.public_url(), twilio_callback(sid_one, "delivered"));
  REQUIRE(delivered);
  CHECK(delivered->status == 200);
  auto forged = post_twilio(*hooks, d.public_url(), twilio_callback(sid_two, "delivered"), twilio_path,
                            "not-the-auth-token");
  REQUIRE(forged);
  CHECK(forged->status == 403);

  const auto s = read_metrics(*ops);
  check_grammar(s);
  check_histogram(s);
  CHECK(s.at(R"(deliveryd_intake_sends_total{outcome="accepted"})") == 2);
  CHECK(s.at(R"(deliveryd_intake_sends_total{outcome="duplicate"})") == 1);
  CHECK(s.at(R"(deliveryd_intake_sends_total{outcome="rejected"})") == 1);
  CHECK(s.at(R"(deliveryd_intake_sends_total{outcome="updated"})") == 0);
  CHECK(s.at(R"(deliveryd_vendor_events_received_total{vendor="twilio"})") == 1);
  CHECK(s.at(R"(deliveryd_vendor_events_stored_total{vendor="twilio"})") == 1);
  CHECK(s.at(R"(deliveryd_webhook_auth_failures_total{vendor="twilio"})") == 1);
  CHECK(s.at(R"(deliveryd_webhook_auth_failures_total{vendor="email"})") == 0);
  CHECK(s.at(R"(deliveryd_polls_total{vendor="twilio",result="ok"})") == 0);
  CHECK(s.at(R"(deliveryd_pending_sends{vendor="twilio"})") == 1); // mt-2; mt-1 was delivered
  CHECK(s.at(R"(deliveryd_pending_sends{vendor="kakao"})") == 0);
  // Three intake requests, each a job answered after a commit, and one callback: a job as well on PostgreSQL, a
  // record of the ack log that the ledger applied on SQLite.
  CHECK(s.at("deliveryd_ledger_jobs_committed_total") >= 3);
  CHECK(s.at("deliveryd_ledger_jobs_committed_total") + s.at("deliveryd_ack_log_applied_records_total") >= 4);
  CHECK(s.at("deliveryd_ledger_commits_total") >= 1);
  CHECK(s.at("deliveryd_ledger_commit_failures_total") == 0);
  CHECK(s.at("deliveryd_ledger_queue_depth") >= 0);
  CHECK(s.at("deliveryd_process_resident_memory_bytes") > 1e6);
  CHECK(s.at("deliveryd_process_open_fds") >= 3);
  const double now = static_cast<double>(clock_type::now().time_since_epoch() / 1s);
  CHECK(s.at("deliveryd_process_start_time_seconds") > now - 120);
  CHECK(s.at("deliveryd_process_start_time_seconds") <= now + 2);
}

TEST_CASE("metrics: with [ops] token_file, /metrics needs the bearer token and /healthz does not",
          "[integration][metrics][auth]") {
  daemon_options options;
  options.ops_token = "metrics-test-token";
  daemon_process d{options};
  auto anonymous = make_client(d.ops_port());
  auto refused = anonymous->Get("/metrics");
  INFO(describe(refused));
  REQUIRE(refused);
  CHECK(refused->status == 401);
  CHECK(body_of(refused)["error"] == "unauthorized");
  auto wrong = make_client(d.ops_port());
  wrong->set_bearer_token_auth("metrics-test-tokex");
  CHECK(wrong->Get("/metrics")->status == 401);
  CHECK(anonymous->Get("/healthz")->status == 200);
  auto ops = d.ops_client(); // carries the token
  check_grammar(read_metrics(*ops));
}

TEST_CASE("threads: ps -T and /proc tell the ledger, its sync, the checkpointer and the listeners apart",
          "[integration][ops]") {
  daemon_process d;
  auto ops = d.ops_client();
  // One intake answered means the ledger has committed and synced, so each of its threads has started.
  const json sends = json::array({twilio_send("th-1", same_day_base(), "SM72000000000000000000000000000001")});
  REQUIRE(body_of(post_sends(*ops, sends))["accepted"] == 1);
  // A thread takes its creator's name until it names itself, its first step: a listener's worker started by the
  // accept thread a moment ago shows as a second "webhooks-accept". Those names settle at once; read again until
  // the accept threads are single (or 2 s passed, and the checks below say what was seen).
  std::multiset<std::string> names;
  for (const auto until = std::chrono::steady_clock::now() + 2s;;) {
    names.clear();
    for (const auto& task : fs::directory_iterator{"/proc/" + std::to_string(d.pid()) + "/task"}) {
      std::ifstream comm{task.path() / "comm"};
      std::string name;
      if (std::getline(comm, name))
        names.insert(name);
    }
    if ((names.count("webhooks-accept") <= 1 && names.count("ops-accept") <= 1)
        || std::chrono::steady_clock::now() >= until)
      break;
    std::this_thread::sleep_for(20ms);
  }
  INFO("thread names: " << [&] {
    std::string all;
    for (const auto& n : names)
      all += n + " ";
    return all;
  }());
  CHECK(names.count("ledger") == 1);
  // SQLite's: the WAL's fdatasync beside the next transaction, and its checkpoints. PostgreSQL's commits are
  // durable when they return, and its server checkpoints.
  CHECK(names.count("ledger-sync") == (on_postgresql() ? 0 : 1));
  CHECK(names.count("checkpointer") == (on_postgresql() ? 0 : 1));
  CHECK(names.count("ops-accept") == 1);
  CHECK(names.count("webhooks-accept") == 1);
  CHECK(names.count("http-ops") >= 1);
  CHECK(names.count("http-webhooks") >= 1);
}
