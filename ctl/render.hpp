#pragma once
/// The human views of the daemon's answers (the contract's JSON shapes): pure, JSON in, text out. Fields the
/// daemon leaves out or sets to null show as "-" rather than failing.

#include <string>

#include <nlohmann/json.hpp>

namespace deliveryd::ctl {

/// `GET /v1/log/summary`: totals by status, count and cost per medium, vendor prices, and one row per day
/// that has sends. `filter` describes the filter for the title ("" for all sends).
std::string render_summary(const nlohmann::json& summary, const std::string& filter);

/// The rows of one or more `GET /v1/log/day` pages: one line per send (its failover legs indented below it),
/// with code and reason on failed, excluded and uncertain rows only.
std::string render_day_rows(const nlohmann::json& rows);

/// `GET /v1/sends/{id}`: the send's fields, its legs and its history.
std::string render_send(const nlohmann::json& send);

/// `GET /v1/codes`: the reason code table.
std::string render_codes(const nlohmann::json& codes);

/// A JSON value as a cell: strings as they are, numbers as amounts, null or absent as "-".
std::string cell(const nlohmann::json& value);

/// The time of day of an RFC 3339 time ("2026-11-27T10:00:05+09:00" -> "10:00:05"), else the text itself.
std::string time_of_day(const std::string& rfc3339);

} // namespace deliveryd::ctl
