#pragma once
/// Reading query parameters of the ops queries into typed values, with a clear 4xx for anything wrong.

#include <optional>
#include <string>
#include <variant>

#include <httplib.h>

#include "core/month.hpp"
#include "db/records.hpp"

namespace deliveryd::daemon {

struct ops_deps;

/// A 4xx answer for a query that cannot be served.
struct query_error {
  int status = 400;
  std::string error;  ///< machine word
  std::string detail; ///< sentence for a person
};

/// A validated day-log request.
struct day_query {
  core::day_number day = 0;
  core::timestamp from{}, to{};      ///< the day's bounds in the configured zone
  db::log_filter filter;
  std::size_t limit = 100;
  std::optional<db::log_cursor> after;
};

/// Reads /v1/log/day/YYYY-MM-DD and its parameters (limit, cursor, campaign, one_time, status, medium,
/// contact). A day wholly outside retention is 410.
std::variant<day_query, query_error> read_day_query(const httplib::Request& req, const ops_deps& deps);

/// A validated month summary request (GET /v1/log/summary).
struct summary_query {
  core::month_number month = 0;
  std::string scope = "all"; ///< "all", "campaign" or "one_time"
  std::string scope_id;      ///< the campaign's or one-time message's source id; "" for "all"
};

/// Reads month=YYYY-MM: a bad or missing month is 400; a month wholly outside retention is 410.
std::variant<core::month_number, query_error> read_month_param(const httplib::Request& req, const ops_deps& deps);

/// Reads /v1/log/summary?month=YYYY-MM with at most one of campaign= and one_time=. A bad month or filter is
/// 400; a month wholly outside retention is 410.
std::variant<summary_query, query_error> read_summary_query(const httplib::Request& req, const ops_deps& deps);

/// The formats of a month export.
enum class export_format { jsonl, xlsx };

/// A validated month export request.
struct export_query {
  core::month_number month = 0;
  core::timestamp from{}, to{};       ///< the month's bounds in the configured zone
  export_format format = export_format::jsonl;
  db::log_filter filter;
};

/// Reads /v1/log/export?month=YYYY-MM&format=jsonl|xlsx and the day log's filters (campaign, one_time, status,
/// medium, contact). A bad month or format is 400; a month wholly outside retention is 410.
std::variant<export_query, query_error> read_export_query(const httplib::Request& req, const ops_deps& deps);

} // namespace deliveryd::daemon
