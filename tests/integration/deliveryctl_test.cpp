// The built deliveryctl against a harness daemon: every command, human tables and --json, pagination with
// --all, the ops token, and the messages and exit statuses when the daemon is down or the usage is wrong.
#include <fstream>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

/// Runs deliveryctl with `--config <the daemon's config>` and `args`.
run_result ctl(const daemon_process& d, std::vector<std::string> args) {
  std::vector<std::string> argv{DELIVERYCTL_BINARY, "--config", d.config_path().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, 60s);
}

/// The output of a successful run, parsed as JSON.
json ctl_json(const daemon_process& d, std::vector<std::string> args) {
  auto r = ctl(d, std::move(args));
  INFO("deliveryctl output: " << r.output);
  REQUIRE(r.exit_code == 0);
  auto parsed = json::parse(r.output, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  return parsed;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

/// Registers `n` Twilio sends "<prefix>-<i>" one second apart; returns their ids.
std::vector<std::string> register_sends(httplib::Client& ops, const std::string& prefix, int n, seconds_point base) {
  json items = json::array();
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(prefix + "-" + std::to_string(i));
    char sid[40];
    std::snprintf(sid, sizeof sid, "SM%032d", i + 1);
    auto item = twilio_send(ids.back(), base + std::chrono::seconds{i}, prefix + sid);
    item["type"] = "campaign";
    item["source_id"] = "cmp-ctl";
    item["source_name"] = "겨울 세일";
    items.push_back(item);
  }
  auto out = body_of(post_sends(ops, items));
  REQUIRE(out["accepted"] == n);
  return ids;
}

} // namespace

TEST_CASE("deliveryctl: codes, send, health and --json", "[integration][deliveryctl]") {
  daemon_process d;
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto base = same_day_base();
  const std::string sid = "SM81000000000000000000000000000001";
  REQUIRE(body_of(post_sends(*ops, json::array({twilio_send("ctl-failed", base, sid)})))["accepted"] == 1);
  auto cb = post_twilio(*hooks, d.public_url(), twilio_callback(sid, "undelivered", "30003"));
  REQUIRE(cb);
  REQUIRE(cb->status == 200);

  SECTION("codes: a table, and --json as the daemon gives it") {
    auto r = ctl(d, {"codes"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.rfind("CODE   CATEGORY", 0) == 0);
    CHECK(contains(r.output, "10006  opted_out"));
    CHECK(contains(r.output, "Unsubscribed from marketing"));
    CHECK(ctl_json(d, {"--json", "codes"}) == get_json(*ops, "/v1/codes"));
  }

  SECTION("send: the fields, the reason and the history") {
    auto r = ctl(d, {"send", "ctl-failed"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.output, "status             failed\n"));
    CHECK(contains(r.output, "code               twilio:30003\n"));
    CHECK(contains(r.output, "reason             "));
    CHECK(contains(r.output, "vendor_message_id  " + sid + "\n"));
    CHECK(contains(r.output, "\nHistory\nAT "));
    CHECK(contains(r.output, "  intake   pending"));
    CHECK(contains(r.output, "  webhook  failed"));
    CHECK(ctl_json(d, {"send", "ctl-failed", "--json"}) == get_json(*ops, "/v1/sends/ctl-failed"));
  }

  SECTION("send: an unknown send is the daemon's 404 detail and exit 1") {
    auto r = ctl(d, {"send", "no such send"});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "deliveryctl: no send is registered as no such send (HTTP 404 not_found)\n");
  }

  SECTION("health") {
    auto r = ctl(d, {"health"});
    CHECK(r.exit_code == 0);
    CHECK(r.output == "deliveryd at 127.0.0.1:" + std::to_string(d.ops_port()) + " is healthy: its ledger commits\n");
    CHECK(ctl_json(d, {"--json", "health"}) == json{{"status", "ok"}});
  }
}

TEST_CASE("deliveryctl: day pages, --all to the last page, filters", "[integration][deliveryctl]") {
  daemon_process d;
  auto ops = d.ops_client();
  const auto base = same_day_base();
  const auto date = seoul_date(base);
  const auto ids = register_sends(*ops, "ctl-day", 7, base);
  REQUIRE(body_of(post_sends(*ops, json::array({twilio_send("ctl-other", base + 30s)})))["accepted"] == 1);

  SECTION("--all --json: every row once, newest first, as the daemon's pages give them") {
    auto all = ctl_json(d, {"--json", "day", date, "--limit", "2", "--all"});
    CHECK(all["date"] == date);
    CHECK(all["next_cursor"].is_null());
    REQUIRE(all["rows"].size() == 8);
    json paged = json::array();
    std::string cursor;
    do {
      auto page = get_json(*ops, "/v1/log/day/" + date + "?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
      for (auto& row : page["rows"])
        paged.push_back(row);
      cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
    } while (!cursor.empty());
    CHECK(all["rows"] == paged);
    std::set<std::string> seen;
    for (const auto& row : all["rows"])
      CHECK(seen.insert(row["send_id"].get<std::string>()).second);
  }

  SECTION("--all as a table, with the campaign filter") {
    auto r = ctl(d, {"day", date, "--limit", "3", "--all", "--campaign", "cmp-ctl"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.rfind("TIME ", 0) == 0);
    for (const auto& id : ids)
      CHECK(count_of(r.output, " " + id + " ") == 1);
    CHECK_FALSE(contains(r.output, "ctl-other"));
    CHECK(contains(r.output, "겨울 세일 (cmp-ctl)"));
    CHECK(contains(r.output, "\n7 sends\n"));
  }

  SECTION("one page tells how to get the next") {
    auto r = ctl(d, {"day", date, "--limit", "3"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.output, "\n3 sends; more: --cursor "));
    CHECK(ctl_json(d, {"--json", "day", date, "--limit", "3"}) == get_json(*ops, "/v1/log/day/" + date + "?limit=3"));
  }

  SECTION("a bad filter is the daemon's 400 detail and exit 1") {
    auto r = ctl(d, {"day", date, "--status", "lost"});
    CHECK(r.exit_code == 1);
    CHECK(r.output.rfind("deliveryctl: ", 0) == 0);
    CHECK(contains(r.output, "(HTTP 400 "));
  }
}

TEST_CASE("deliveryctl: the daemon down is exit 2 with a clear message", "[integration][deliveryctl]") {
  daemon_process d;
  REQUIRE(d.terminate() == 0);
  for (const auto& command : {std::vector<std::string>{"health"}, std::vector<std::string>{"codes"}}) {
    auto r = ctl(d, command);
    CHECK(r.exit_code == 2);
    CHECK(r.output == "deliveryctl: cannot reach deliveryd at 127.0.0.1:" + std::to_string(d.ops_port())
                        + " (connection refused). Is the service running? (systemctl status deliveryd)\n");
  }
}

TEST_CASE("deliveryctl: bad usage is exit 64 with the usage text", "[integration][deliveryctl]") {
  for (const auto& args : {std::vector<std::string>{DELIVERYCTL_BINARY, "frobnicate"},
                           std::vector<std::string>{DELIVERYCTL_BINARY},
                           std::vector<std::string>{DELIVERYCTL_BINARY, "summary", "November"}}) {
    auto r = run_program(args, 20s);
    INFO(r.output);
    CHECK(r.exit_code == 64);
    CHECK(r.output.rfind("deliveryctl: ", 0) == 0);
    CHECK(contains(r.output, "usage: deliveryctl"));
  }
  auto help = run_program({DELIVERYCTL_BINARY, "--help"}, 20s);
  CHECK(help.exit_code == 0);
  CHECK(help.output.rfind("usage: deliveryctl", 0) == 0);
  auto missing = run_program({DELIVERYCTL_BINARY, "--config", "/nonexistent/deliveryd.toml", "health"}, 20s);
  CHECK(missing.exit_code == 78);
  CHECK(contains(missing.output, "/nonexistent/deliveryd.toml: cannot read deliveryd's configuration"));
}

TEST_CASE("deliveryctl: the ops token comes from [ops] token_file", "[integration][deliveryctl][auth]") {
  daemon_options options;
  options.ops_token = "ctl-test-token";
  daemon_process d{options};
  auto r = ctl(d, {"codes"});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  temp_dir dir;
  write_file(dir.path() / "wrong", "not-the-token\n");
  auto refused = ctl(d, {"--token-file", (dir.path() / "wrong").string(), "codes"});
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.output, "(HTTP 401 unauthorized)"));
  // Health needs no token, even one that cannot be read.
  auto health = ctl(d, {"--token-file", (dir.path() / "absent").string(), "health"});
  CHECK(health.exit_code == 0);
  auto unreadable = ctl(d, {"--token-file", (dir.path() / "absent").string(), "codes"});
  CHECK(unreadable.exit_code == 1);
  CHECK(contains(unreadable.output, "the ops token file " + (dir.path() / "absent").string() + " cannot be read"));
}

TEST_CASE("deliveryctl: summary and export of the month", "[integration][deliveryctl][reports]") {
  daemon_process d;
  auto ops = d.ops_client();
  const auto base = same_day_base();
  const auto month = seoul_date(base).substr(0, 7);
  const auto ids = register_sends(*ops, "ctl-month", 5, base);

  SECTION("summary: --json as the daemon gives it, a table otherwise") {
    CHECK(ctl_json(d, {"--json", "summary", month}) == get_json(*ops, "/v1/log/summary?month=" + month));
    auto r = ctl(d, {"summary", month, "--campaign", "cmp-ctl"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.rfind("Month " + month + " (Asia/Seoul), campaign cmp-ctl: 5 sends\n", 0) == 0);
    CHECK(contains(r.output, "\npending        5\n"));
    CHECK(contains(r.output, "\nsms            5"));
    CHECK(contains(r.output, "\n" + seoul_date(base) + "      5        5"));
  }

  SECTION("export: JSONL and XLSX files, nothing half-written left behind") {
    temp_dir dir;
    const auto jsonl = dir.path() / "month.jsonl";
    auto r = ctl(d, {"export", month, "--format", "jsonl", "-o", jsonl.string()});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.rfind("wrote " + jsonl.string() + " (", 0) == 0);
    std::ifstream in{jsonl};
    std::set<std::string> exported;
    for (std::string line; std::getline(in, line);) {
      auto row = json::parse(line, nullptr, false);
      REQUIRE(row.is_object());
      exported.insert(row["send_id"].get<std::string>());
    }
    CHECK(exported == std::set<std::string>(ids.begin(), ids.end()));
    const auto xlsx = dir.path() / "month.xlsx";
    auto x = ctl(d, {"--json", "export", month, "--format", "xlsx", "-o", xlsx.string(), "--campaign", "cmp-ctl"});
    INFO(x.output);
    CHECK(x.exit_code == 0);
    auto written = json::parse(x.output, nullptr, false);
    CHECK(written["file"] == xlsx.string());
    CHECK(written["bytes"] == fs::file_size(xlsx));
    CHECK(read_file(xlsx).rfind("PK\x03\x04", 0) == 0); // a zip container
    CHECK_FALSE(fs::exists(xlsx.string() + ".part"));
    CHECK_FALSE(fs::exists(jsonl.string() + ".part"));
  }

  SECTION("export: the daemon's error, and no file") {
    temp_dir dir;
    auto r = ctl(d, {"export", "1999-01", "--format", "jsonl", "-o", (dir.path() / "old.jsonl").string()});
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, "(HTTP 410 "));
    CHECK_FALSE(fs::exists(dir.path() / "old.jsonl"));
    CHECK_FALSE(fs::exists(dir.path() / "old.jsonl.part"));
  }
}
