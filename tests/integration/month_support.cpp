// A month of sends for the export and copy-ledger tests (month_support.hpp).
#include "month_support.hpp"

#include <thread>

#include <catch2/catch.hpp>

#include "vendor_hooks.hpp"

namespace it {

using namespace std::chrono_literals;

/// "YYYY-MM" of an instant in Seoul.
std::string seoul_month(seconds_point t) { return seoul_date(t).substr(0, 7); }

/// The first instant of a Seoul calendar month, given any instant in it.
seconds_point month_start(seconds_point t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t + 9h)};
  return std::chrono::sys_days{ymd.year() / ymd.month() / 1} - 9h;
}

/// Every Seoul calendar day of a month: "YYYY-MM-DD".
std::vector<std::string> days_of(seconds_point start) {
  std::vector<std::string> days;
  const auto month = seoul_month(start);
  for (auto t = start; seoul_month(t) == month; t += 24h)
    days.push_back(seoul_date(t));
  return days;
}

/// Every row of a day log, page after page of `limit`, with the query's filters ("" or "&name=value…").
std::vector<json> walk_day(httplib::Client& ops, const std::string& date, const std::string& filters, int limit) {
  std::vector<json> rows;
  std::string cursor;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 1000);
    auto page = get_json(ops, "/v1/log/day/" + date + "?limit=" + std::to_string(limit) + filters
                                + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (auto& row : page["rows"])
      rows.push_back(std::move(row));
    if (page["next_cursor"].is_null())
      return rows;
    cursor = page["next_cursor"].get<std::string>();
  }
}

/// The rows of every day of the month, oldest day first.
std::vector<json> walk_month(httplib::Client& ops, seconds_point start, const std::string& filters) {
  std::vector<json> rows;
  for (const auto& date : days_of(start)) {
    auto day = walk_day(ops, date, filters, 7);
    rows.insert(rows.end(), day.begin(), day.end());
  }
  return rows;
}

/// The daemon of these tests: Twilio, e-mail and Kakao enabled, every vendor's sends uncertain an hour after
/// requested_at (all the month's sends are older: their deadlines fire at once), no vendor reachable for polls.
daemon_options month_options() {
  auto options = with_vendors({.email = true, .carrier = false, .kakao = true, .kakao_push = false});
  for (const char* section : {"[email]\n", "[kakao]\n"}) {
    const auto at = options.extra_toml.find(section);
    REQUIRE(at != std::string::npos);
    options.extra_toml.insert(at + std::string_view{section}.size(), "uncertain_after = \"1h\"\n");
  }
  options.twilio_extra = "uncertain_after = \"1h\"\napi_base = \"http://127.0.0.1:" + std::to_string(free_port())
                         + "\"\n";
  return options;
}

/// A Twilio send of the month with its MessageSid.
json twilio_item(const std::string& id, const std::string& medium, seconds_point at, const std::string& type,
                 const std::string& source) {
  auto item = twilio_send(id, at, "SM" + id);
  item["medium"] = medium;
  item["type"] = type;
  if (!source.empty()) {
    item["source_id"] = source;
    item["source_name"] = "Source " + source;
  }
  return item;
}

/// Registers a month of sends on days 1-4 of the month that starts at `start`, and their Twilio outcomes; one
/// send in the month before. Returns the number of rows the month's day logs must show.
std::size_t fill_month(const daemon_process& d, httplib::Client& ops, httplib::Client& hooks, seconds_point start) {
  json items = json::array();
  std::vector<std::pair<std::string, std::string>> outcomes; // MessageSid, Twilio status / error code
  std::size_t rows = 0;
  for (int day = 0; day < 4; ++day) {
    const auto at = start + std::chrono::days{day} + 30s;
    const auto tag = std::to_string(day);
    for (int i = 0; i < 3; ++i) { // a campaign: delivered, undelivered 30003, delivered
      const auto id = "cmp-" + tag + "-" + std::to_string(i);
      items.push_back(twilio_item(id, "sms", at + std::chrono::minutes{i}, "campaign", "cmp-A"));
      outcomes.emplace_back("SM" + id, i == 1 ? "30003" : "delivered");
    }
    items.push_back(twilio_item("ot-" + tag, "lms", at + 7h, "one_time", "ot-1")); // no result: uncertain
    items.push_back(json{{"send_id", "ex-" + tag}, {"type", "one_time"}, {"source_id", "ot-1"}, {"medium", "sms"},
                         {"contact", "01099998888"}, {"requested_at", seoul_rfc3339(at + 8h)}, {"excluded", 10006}});
    items.push_back(vendor_send("mail-" + tag, "email", "email", "Kim@Example.COM", at + 9h, "mail-msg-" + tag));
    // A logical send: Alimtalk (no result: uncertain), its LMS leg delivered.
    items.push_back(vendor_send("ak-" + tag, "alimtalk", "kakao", "010-5555-" + std::to_string(1000 + day),
                                at + 10h, "ak-msg-" + tag));
    auto leg = twilio_item("ak-" + tag + "-leg", "lms", at + 10h + 1min);
    leg["fallback_of"] = "ak-" + tag;
    items.push_back(leg);
    outcomes.emplace_back("SMak-" + tag + "-leg", "delivered");
    rows += 3 + 1 + 1 + 1 + 1;
  }
  items.push_back(twilio_item("before", "sms", start - 1s)); // the month before's last second
  auto intake = body_of(post_sends(ops, items));
  INFO(intake.dump());
  REQUIRE(intake["accepted"] == items.size());
  for (const auto& [sid, outcome] : outcomes) {
    const bool delivered = outcome == "delivered";
    auto res = post_twilio(hooks, d.public_url(),
                           twilio_callback(sid, delivered ? "delivered" : "undelivered", delivered ? "" : outcome));
    INFO(sid << " -> " << describe(res));
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  // The deadlines of the sends without a result have passed: wait until they have fired.
  const auto until = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    std::size_t pending = 0;
    for (int day = 0; day < 4; ++day)
      pending += walk_day(ops, seoul_date(start + std::chrono::days{day}), "&status=pending", 100).size();
    if (pending == 0)
      break;
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(200ms);
  }
  return rows;
}

} // namespace it
