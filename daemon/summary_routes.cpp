// GET /v1/log/summary: a month's sends by status, count and cost per medium, vendor prices, and one row per
// day, read from the per-day roll-ups (at most days x media x statuses rows), never from the sends.
#include <array>
#include <charconv>
#include <cstdio>

#include "daemon/http_common.hpp"
#include "daemon/routes.hpp"

namespace deliveryd::daemon {

namespace {

constexpr std::array<const char*, 5> statuses = {"pending", "sent", "failed", "excluded", "uncertain"};
constexpr std::array<const char*, 4> media = {"sms", "lms", "email", "alimtalk"};

/// The days (yyyymmdd) of "YYYY-MM", in calendar order; empty when the text is not a month.
std::vector<core::day_number> days_of_month(const std::string& month) {
  std::vector<core::day_number> days;
  if (month.size() != 7 || month[4] != '-')
    return days;
  for (int d = 1; d <= 31; ++d) {
    char text[16];
    std::snprintf(text, sizeof text, "%s-%02d", month.c_str(), d);
    if (auto day = core::parse_day(text))
      days.push_back(*day);
  }
  return days;
}

double unit_price(const config::pricing_config& p, const std::string& medium) {
  if (medium == "sms") return p.sms;
  if (medium == "lms") return p.lms;
  if (medium == "alimtalk") return p.alimtalk;
  if (medium == "email") return p.email;
  return 0;
}

nlohmann::json status_counts() {
  nlohmann::json out = nlohmann::json::object();
  for (const char* s : statuses)
    out[s] = 0;
  return out;
}

/// The contract's summary shape from the roll-ups of `days`.
nlohmann::json summary_view(const std::string& month, const std::vector<core::day_number>& days,
                            const db::summary_data& data, const view_context& view) {
  nlohmann::json by_status = status_counts();
  nlohmann::json by_medium = nlohmann::json::object();
  for (const char* m : media)
    by_medium[m] = {{"count", 0}, {"cost", 0.0}};
  std::map<core::day_number, nlohmann::json> per_day;
  for (auto day : days)
    per_day[day] = status_counts();
  std::int64_t total = 0;
  for (const auto& r : data.rows) {
    auto& medium = by_medium[r.medium];
    medium["count"] = medium["count"].get<std::int64_t>() + r.sends;
    if (r.status == "sent" || r.status == "uncertain")
      medium["cost"] = medium["cost"].get<double>() + static_cast<double>(r.sends) * unit_price(view.pricing, r.medium);
    if (r.logical == 0)
      continue;
    total += r.logical;
    by_status[r.status] = by_status[r.status].get<std::int64_t>() + r.logical;
    auto& day = per_day[r.day];
    day[r.status] = day[r.status].get<std::int64_t>() + r.logical;
  }
  nlohmann::json prices = nlohmann::json::object();
  for (const auto& [currency, micros] : data.price_micros)
    prices[currency] = static_cast<double>(micros) / 1e6;
  nlohmann::json day_rows = nlohmann::json::array();
  for (auto& [day, counts] : per_day) {
    std::int64_t sum = 0;
    for (const char* s : statuses)
      sum += counts[s].get<std::int64_t>();
    nlohmann::json row{{"date", core::format_day(day)}, {"total", sum}};
    row.update(counts);
    day_rows.push_back(std::move(row));
  }
  return {
    {"month", month},
    {"zone", std::string{view.zone.name()}},
    {"currency", view.pricing.currency},
    {"total", total},
    {"by_status", std::move(by_status)},
    {"by_medium", std::move(by_medium)},
    {"vendor_prices", std::move(prices)},
    {"days", std::move(day_rows)},
  };
}

void summary_route(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  const auto month = req.has_param("month") ? req.get_param_value("month") : std::string{};
  const auto days = days_of_month(month);
  if (days.empty()) {
    send_error(res, 400, "invalid_query", "month= must be a calendar month written YYYY-MM, e.g. month=2026-11");
    return;
  }
  std::string scope = "all", scope_id;
  for (const char* filter : {"campaign", "one_time"}) {
    if (!req.has_param(filter))
      continue;
    if (scope != "all" || req.get_param_value(filter).empty()) {
      send_error(res, 400, "invalid_query", "give either campaign= or one_time= with a source id, not both");
      return;
    }
    scope = filter;
    scope_id = req.get_param_value(filter);
  }
  const auto end = deps.view.zone.start_of_day(days.back()) + std::chrono::hours{36};
  const auto horizon = deps.clock() - std::chrono::days{deps.retention_days};
  if (deps.view.zone.start_of_day(deps.view.zone.day_of(end)) <= horizon) {
    send_error(res, 410, "gone", month + " is older than the " + std::to_string(deps.retention_days)
                                   + " days the ledger keeps");
    return;
  }
  auto reader = deps.readers->acquire();
  if (auto* err = std::get_if<db::open_error>(&reader)) {
    send_error(res, 503, "unavailable", err->message);
    return;
  }
  auto data = std::get<db::reader_pool::lease>(reader)->summary(scope, scope_id, days.front(), days.back());
  send_json(res, 200, dump(summary_view(month, days, data, deps.view)));
}

} // namespace

void install_summary_routes(httplib::Server& server, std::shared_ptr<const ops_deps> deps) {
  server.Get("/v1/log/summary", [deps](const auto& req, auto& res) { summary_route(*deps, req, res); });
}

} // namespace deliveryd::daemon
