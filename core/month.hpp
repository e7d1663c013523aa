#pragma once
/// Calendar months in a zone: what the month summary and the exports cover.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"

namespace deliveryd::core {

/// A calendar month, stored as the integer yyyymm (202611).
using month_number = std::int32_t;

/// Parses "YYYY-MM" (years 1970-9999, months 01-12); nullopt otherwise.
std::optional<month_number> parse_month(std::string_view text) noexcept;

/// "YYYY-MM" of a yyyymm month.
std::string format_month(month_number month);

/// The month after `month` (202612 -> 202701).
month_number next_month(month_number month) noexcept;

/// The first day (yyyymm01) of a month.
constexpr day_number first_day(month_number month) noexcept { return month * 100 + 1; }

/// The month (yyyymm) a day (yyyymmdd) belongs to.
constexpr month_number month_of(day_number day) noexcept { return day / 100; }

/// Every day (yyyymmdd) of a month, in calendar order (28 to 31 of them).
std::vector<day_number> days_of(month_number month);

/// The instants of a month in a zone: [first instant of day 1, first instant of the next month's day 1).
struct month_span {
  timestamp from{};
  timestamp to{};
};

/// The instants of `month` in `z`.
month_span month_bounds(const zone& z, month_number month);

} // namespace deliveryd::core
