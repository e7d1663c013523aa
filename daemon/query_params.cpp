#include "daemon/query_params.hpp"

#include <charconv>
#include <chrono>

#include "adapters/intake/intake.hpp"
#include "daemon/routes.hpp"

namespace deliveryd::daemon {

namespace {

std::optional<std::string> param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name))
    return std::nullopt;
  return req.get_param_value(name);
}

query_error bad(std::string detail) { return {400, "invalid_query", std::move(detail)}; }

/// Reads the filters that every day view shares.
std::optional<query_error> read_filter(const httplib::Request& req, const ops_deps& deps, db::log_filter& f) {
  f.campaign = param(req, "campaign");
  f.one_time = param(req, "one_time");
  if (f.campaign && f.one_time)
    return bad("give either campaign= or one_time=, not both");
  if ((f.campaign && f.campaign->empty()) || (f.one_time && f.one_time->empty()))
    return bad("campaign= and one_time= need a source id");
  if (auto s = param(req, "status")) {
    f.status = core::parse_status(*s);
    if (!f.status)
      return bad("status= must be one of pending, sent, failed, excluded, uncertain");
  }
  if (auto m = param(req, "medium")) {
    f.medium = core::parse_medium(*m);
    if (!f.medium)
      return bad("medium= must be one of sms, lms, email, alimtalk");
  }
  if (auto c = param(req, "contact")) {
    const bool email = c->find('@') != std::string::npos;
    auto normal = email ? adapters::intake::normalize_email(*c)
                        : adapters::intake::normalize_phone(*c, deps.default_region);
    if (!normal)
      return bad("contact= is neither a phone number nor an e-mail address");
    f.contact = std::move(normal);
  }
  return std::nullopt;
}

/// 410 for a span that ends before the first instant the ledger still keeps.
std::optional<query_error> outside_retention(const ops_deps& deps, core::timestamp end, const std::string& what) {
  const auto horizon = deps.clock() - std::chrono::days{deps.retention_days};
  if (end > horizon)
    return std::nullopt;
  return query_error{410, "gone", what + " is older than the " + std::to_string(deps.retention_days)
                                    + " days the ledger keeps"};
}

/// Reads the one source filter of a month summary: campaign= or one_time=, or neither.
std::optional<query_error> read_scope(const httplib::Request& req, summary_query& q) {
  for (const char* filter : {"campaign", "one_time"}) {
    auto id = param(req, filter);
    if (!id)
      continue;
    if (q.scope != "all")
      return bad("give either campaign= or one_time=, not both");
    if (id->empty())
      return bad("campaign= and one_time= need a source id");
    q.scope = filter;
    q.scope_id = std::move(*id);
  }
  return std::nullopt;
}

} // namespace

std::variant<core::month_number, query_error> read_month_param(const httplib::Request& req, const ops_deps& deps) {
  auto text = param(req, "month");
  auto month = text ? core::parse_month(*text) : std::nullopt;
  if (!month)
    return bad("month= is required, written YYYY-MM, e.g. month=2026-11");
  if (auto gone = outside_retention(deps, core::month_bounds(deps.view.zone, *month).to, core::format_month(*month)))
    return *gone;
  return *month;
}

std::variant<summary_query, query_error> read_summary_query(const httplib::Request& req, const ops_deps& deps) {
  summary_query q;
  auto month = read_month_param(req, deps);
  if (auto* err = std::get_if<query_error>(&month))
    return *err;
  q.month = std::get<core::month_number>(month);
  if (auto err = read_scope(req, q))
    return *err;
  return q;
}

std::variant<day_query, query_error> read_day_query(const httplib::Request& req, const ops_deps& deps) {
  day_query q;
  auto day = core::parse_day(req.matches[1].str());
  if (!day)
    return query_error{404, "not_found", "a day is written YYYY-MM-DD, e.g. /v1/log/day/2026-11-27"};
  q.day = *day;
  q.from = deps.view.zone.start_of_day(q.day);
  q.to = q.from + std::chrono::hours{36};
  q.to = deps.view.zone.start_of_day(deps.view.zone.day_of(q.to)); // the next day's start, DST-proof
  if (auto gone = outside_retention(deps, q.to, core::format_day(q.day)))
    return *gone;
  if (auto limit = param(req, "limit")) {
    int value = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (ec != std::errc{} || end != limit->data() + limit->size() || value < 1 || value > 1000)
      return bad("limit= must be a whole number from 1 to 1000");
    q.limit = static_cast<std::size_t>(value);
  }
  if (auto cursor = param(req, "cursor")) {
    q.after = db::decode_cursor(*cursor);
    if (!q.after)
      return bad("cursor= is not a cursor this day log gave out");
  }
  if (auto err = read_filter(req, deps, q.filter))
    return *err;
  return q;
}

std::variant<export_query, query_error> read_export_query(const httplib::Request& req, const ops_deps& deps) {
  export_query q;
  auto month = read_month_param(req, deps);
  if (auto* err = std::get_if<query_error>(&month))
    return *err;
  q.month = std::get<core::month_number>(month);
  const auto format = param(req, "format");
  if (format == "jsonl")
    q.format = export_format::jsonl;
  else if (format == "xlsx")
    q.format = export_format::xlsx;
  else
    return bad("format= must be jsonl or xlsx");
  const auto span = core::month_bounds(deps.view.zone, q.month);
  q.from = span.from;
  q.to = span.to;
  if (auto err = read_filter(req, deps, q.filter))
    return *err;
  return q;
}

} // namespace deliveryd::daemon
