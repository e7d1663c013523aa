// GET /v1/log/summary over real HTTP: a month of sends across days, campaigns, one-time messages, media and
// outcomes (through intake and webhooks), every number of the summary checked, and the month boundary in
// Asia/Seoul in every view.
#include <catch2/catch.hpp>

#include <cstdio>
#include <ctime>

#include "harness.hpp"
#include "month_support.hpp"
#include "vendor_hooks.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

/// The instant of "YYYY-MM-DDThh:mm:ss+09:00".
seconds_point seoul(const std::string& date, const std::string& time) {
  std::tm tm{};
  std::sscanf((date + " " + time).c_str(), "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
              &tm.tm_min, &tm.tm_sec);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return seconds_point{std::chrono::seconds{timegm(&tm)}} - 9h;
}

/// The month before the current one in Seoul, "YYYY-MM".
std::string previous_month() {
  const auto today = seoul_date(now_seconds());
  int year = std::stoi(today.substr(0, 4)), month = std::stoi(today.substr(5, 2)) - 1;
  if (month == 0)
    month = 12, --year;
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02d", year, month);
  return text;
}

json send(const std::string& id, const std::string& type, const std::string& source, const std::string& medium,
          const std::string& vendor, seconds_point at, const std::string& vmid) {
  json s{{"send_id", id}, {"type", type}, {"medium", medium}, {"contact", "010-1234-5678"},
         {"requested_at", seoul_rfc3339(at)}};
  if (!source.empty())
    s["source_id"] = source;
  if (!vendor.empty())
    s["vendor"] = vendor;
  if (!vmid.empty())
    s["vendor_message_id"] = vmid;
  return s;
}

void twilio(daemon_process& d, const std::string& sid, const std::string& status, const std::string& code = {}) {
  auto hooks = d.webhooks_client();
  auto r = post_twilio(*hooks, d.public_url(), twilio_callback(sid, status, code));
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

void kakao(daemon_process& d, const std::string& message_id, const std::string& code) {
  auto hooks = d.webhooks_client();
  json results = json::array({{{"message_id", message_id}, {"result_code", code}}});
  auto r = hooks->Post("/webhooks/kakao", {{"X-Kakao-Token", kakao_push_token}}, results.dump(), "application/json");
  REQUIRE(r);
  REQUIRE(r->status == 200);
}

json by_status(int pending, int sent, int failed, int excluded, int uncertain) {
  return {{"pending", pending}, {"sent", sent}, {"failed", failed}, {"excluded", excluded}, {"uncertain", uncertain}};
}

json medium(int count, double cost) { return {{"count", count}, {"cost", cost}}; }

} // namespace

TEST_CASE("summary: totals by status, count and cost per medium, one row per day, per filter", "[summary]") {
  auto options = with_vendors({.kakao = true});
  options.twilio_extra = "uncertain_after = \"3650d\"\n"; // a3 stays pending although it is weeks old
  daemon_process d{options};
  auto ops = d.ops_client();
  const auto month = previous_month();
  const auto day3 = month + "-03", day5 = month + "-05";
  json sends = json::array({
    send("a1", "campaign", "c1", "sms", "twilio", seoul(day3, "10:00:00"), "SMa1"),
    send("a2", "campaign", "c1", "sms", "twilio", seoul(day3, "10:01:00"), "SMa2"),
    send("a3", "campaign", "c1", "lms", "twilio", seoul(day3, "10:02:00"), "SMa3"),
    send("b1", "one_time", "o1", "sms", "", seoul(day5, "09:00:00"), ""),
    send("b2", "one_time", "o1", "alimtalk", "kakao", seoul(day5, "09:01:00"), "msg-b2"),
    send("b3", "follow_up", "", "alimtalk", "kakao", seoul(day5, "09:02:00"), "msg-b3"),
  });
  sends[3]["excluded"] = 10006;
  json leg = send("b3-leg", "follow_up", "", "lms", "twilio", seoul(day5, "09:03:00"), "SMb3");
  leg["fallback_of"] = "b3";
  sends.push_back(leg);
  REQUIRE(body_of(post_sends(*ops, sends))["accepted"] == 7);
  twilio(d, "SMa1", "delivered");
  twilio(d, "SMa2", "undelivered", "30003");
  kakao(d, "msg-b2", "3005");
  kakao(d, "msg-b3", "3018");
  twilio(d, "SMb3", "delivered");

  auto all = get_json(*ops, "/v1/log/summary?month=" + month);
  CHECK(all["month"] == month);
  CHECK(all["zone"] == "Asia/Seoul");
  CHECK(all["currency"] == "KRW");
  CHECK(all["total"] == 6); // the failover leg is part of b3, not a send of its own
  CHECK(all["by_status"] == by_status(1, 2, 1, 1, 1));
  CHECK(all["by_medium"]["sms"] == medium(3, 12));       // a1 sent; a2 failed, b1 excluded cost nothing
  CHECK(all["by_medium"]["lms"] == medium(2, 39));       // a3 pending; the leg was delivered and is billed
  CHECK(all["by_medium"]["alimtalk"] == medium(2, 8));   // b2 uncertain is billed; b3 failed is not
  CHECK(all["by_medium"]["email"] == medium(0, 0));
  CHECK(all["vendor_prices"] == json::object());
  REQUIRE(all["days"].size() >= 28);
  for (const auto& day : all["days"]) {
    if (day["date"] == day3)
      CHECK(day == json{{"date", day3}, {"total", 3}, {"pending", 1}, {"sent", 1}, {"failed", 1}, {"excluded", 0},
                        {"uncertain", 0}});
    else if (day["date"] == day5)
      CHECK(day == json{{"date", day5}, {"total", 3}, {"pending", 0}, {"sent", 1}, {"failed", 0}, {"excluded", 1},
                        {"uncertain", 1}});
    else
      CHECK(day["total"] == 0);
  }

  auto campaign = get_json(*ops, "/v1/log/summary?month=" + month + "&campaign=c1");
  CHECK(campaign["total"] == 3);
  CHECK(campaign["by_status"] == by_status(1, 1, 1, 0, 0));
  CHECK(campaign["by_medium"]["sms"] == medium(2, 12));
  CHECK(campaign["by_medium"]["lms"] == medium(1, 0));
  auto one_time = get_json(*ops, "/v1/log/summary?month=" + month + "&one_time=o1");
  CHECK(one_time["total"] == 2);
  CHECK(one_time["by_status"] == by_status(0, 0, 0, 1, 1));
  CHECK(one_time["by_medium"]["alimtalk"] == medium(1, 8));
  CHECK(get_json(*ops, "/v1/log/summary?month=" + month + "&campaign=nobody")["total"] == 0);

  // The summary agrees with the day logs.
  CHECK(get_json(*ops, "/v1/log/day/" + day3)["rows"].size() == 3);
  CHECK(get_json(*ops, "/v1/log/day/" + day5)["rows"].size() == 3);

  // Bad requests and retention.
  get_json(*ops, "/v1/log/summary?month=2026-13", 400);
  get_json(*ops, "/v1/log/summary", 400);
  get_json(*ops, "/v1/log/summary?month=" + month + "&campaign=c1&one_time=o1", 400);
  get_json(*ops, "/v1/log/summary?month=2019-01", 410);

  // The counts survive a restart (they live in the ledger, not in memory).
  d.terminate();
  d.start();
  ops = d.ops_client();
  CHECK(get_json(*ops, "/v1/log/summary?month=" + month)["by_status"] == by_status(1, 2, 1, 1, 1));
}

TEST_CASE("a send requested at 16:30Z on a month's last day belongs to the 1st of the next in Asia/Seoul, in "
          "every view",
          "[summary][zone]") {
  // The latest 1st of a month in Seoul that is more than two hours past, so that the send at 01:30 that morning is
  // in the past and inside the 365 days kept, whatever the date the suite runs on.
  const auto now = now_seconds();
  auto first = month_start(now);
  if (now - first < 2h)
    first = month_start(first - 1s);
  const auto at = first + 90min; // 01:30 in Seoul on the 1st: 16:30Z on the last day of the month before
  const auto before = first - 1s;
  std::tm utc{};
  const auto seconds = std::chrono::system_clock::to_time_t(at);
  gmtime_r(&seconds, &utc);
  char requested_at[32];
  std::strftime(requested_at, sizeof requested_at, "%Y-%m-%dT%H:%M:%SZ", &utc);
  REQUIRE(std::string{requested_at}.substr(10) == "T16:30:00Z");
  REQUIRE(seoul_date(before).substr(0, 10) == std::string{requested_at}.substr(0, 10));

  daemon_process d;
  auto ops = d.ops_client();
  json s = twilio_send("boundary", seconds_point{}, "SMboundary");
  s["requested_at"] = requested_at;
  REQUIRE(body_of(post_sends(*ops, json::array({s})))["accepted"] == 1);
  twilio(d, "SMboundary", "delivered");
  CHECK(get_json(*ops, "/v1/sends/boundary")["time"] == seoul_date(first) + "T01:30:00+09:00");
  CHECK(get_json(*ops, "/v1/log/day/" + seoul_date(first))["rows"].size() == 1);
  CHECK(get_json(*ops, "/v1/log/day/" + seoul_date(before))["rows"].empty());
  auto month = get_json(*ops, "/v1/log/summary?month=" + seoul_month(first));
  CHECK(month["total"] == 1);
  CHECK(month["by_status"]["sent"] == 1);
  CHECK(month["days"][0] == json{{"date", seoul_date(first)}, {"total", 1}, {"pending", 0}, {"sent", 1},
                                 {"failed", 0}, {"excluded", 0}, {"uncertain", 0}});
  CHECK(get_json(*ops, "/v1/log/summary?month=" + seoul_month(before))["total"] == 0);
}
