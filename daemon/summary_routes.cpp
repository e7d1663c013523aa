// GET /v1/log/summary: a month's sends by status, count and cost per medium, vendor prices, and one row per
// day, read from the per-day roll-ups (at most days x media x statuses rows), never from the sends; and
// GET /v1/log/sources: the month's campaigns and one-time messages for the console's chooser, from `sources`.
#include <map>

#include "core/month.hpp"
#include "daemon/http_common.hpp"
#include "daemon/query_params.hpp"
#include "daemon/routes.hpp"

namespace deliveryd::daemon {

namespace {

nlohmann::json status_counts() {
  nlohmann::json out = nlohmann::json::object();
  for (auto s : core::all_statuses)
    out[std::string{core::to_string(s)}] = 0;
  return out;
}

void add(nlohmann::json& counter, std::int64_t n) { counter = counter.get<std::int64_t>() + n; }

/// The contract's summary shape from the roll-ups of `month`.
nlohmann::json summary_view(core::month_number month, const db::summary_data& data, const view_context& view) {
  nlohmann::json by_status = status_counts();
  nlohmann::json by_medium = nlohmann::json::object();
  for (auto m : core::all_media)
    by_medium[std::string{core::to_string(m)}] = {{"count", 0}, {"cost", 0.0}};
  std::map<core::day_number, nlohmann::json> per_day;
  for (auto day : core::days_of(month))
    per_day[day] = status_counts();
  std::int64_t total = 0;
  for (const auto& r : data.rows) {
    auto& medium = by_medium[r.medium];
    add(medium["count"], r.sends);
    medium["cost"] = medium["cost"].get<double>()
                     + static_cast<double>(r.sends) * attempt_cost(r.status, r.medium, view.pricing);
    if (r.logical == 0)
      continue;
    total += r.logical;
    add(by_status[r.status], r.logical);
    add(per_day[r.day][r.status], r.logical);
  }
  nlohmann::json prices = nlohmann::json::object();
  for (const auto& [currency, micros] : data.price_micros)
    prices[currency] = static_cast<double>(micros) / 1e6;
  nlohmann::json day_rows = nlohmann::json::array();
  for (auto& [day, counts] : per_day) {
    std::int64_t sum = 0;
    for (auto s : core::all_statuses)
      sum += counts[std::string{core::to_string(s)}].get<std::int64_t>();
    nlohmann::json row{{"date", core::format_day(day)}, {"total", sum}};
    row.update(counts);
    day_rows.push_back(std::move(row));
  }
  return {
    {"month", core::format_month(month)},
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
  auto query = read_summary_query(req, deps);
  if (auto* bad = std::get_if<query_error>(&query)) {
    send_error(res, bad->status, bad->error, bad->detail);
    return;
  }
  const auto& q = std::get<summary_query>(query);
  const auto days = core::days_of(q.month);
  const auto read = [&](db::ledger_reader& reader) {
    return reader.summary(q.scope, q.scope_id, days.front(), days.back());
  };
  read_and_answer(deps, res, read, [&](const db::summary_data& data) {
    send_json(res, 200, dump(summary_view(q.month, data, deps.view)));
  });
}

void sources_route(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  auto month = read_month_param(req, deps);
  if (auto* bad = std::get_if<query_error>(&month)) {
    send_error(res, bad->status, bad->error, bad->detail);
    return;
  }
  const auto m = std::get<core::month_number>(month);
  read_and_answer(deps, res, [&](db::ledger_reader& reader) { return reader.sources(m); },
                  [&](const std::vector<db::source_total>& found) {
    auto sources = nlohmann::json::array();
    for (const auto& s : found)
      sources.push_back({{"type", s.type},
                         {"source_id", s.source_id},
                         {"source_name", s.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.name)},
                         {"total", s.total}});
    send_json(res, 200, dump({{"month", core::format_month(m)}, {"sources", std::move(sources)}}));
  });
}

} // namespace

void install_summary_routes(httplib::Server& server, std::shared_ptr<const ops_deps> deps) {
  server.Get("/v1/log/summary", [deps](const auto& req, auto& res) { summary_route(*deps, req, res); });
  server.Get("/v1/log/sources", [deps](const auto& req, auto& res) { sources_route(*deps, req, res); });
}

} // namespace deliveryd::daemon
