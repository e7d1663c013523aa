#pragma once
/// Time values: instants in milliseconds, RFC 3339 in and out, calendar days in a zone, durations.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace deliveryd::core {

/// An instant, milliseconds since the Unix epoch (UTC).
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

/// A calendar day, stored as the integer yyyymmdd (20261127).
using day_number = std::int32_t;

/// Milliseconds since the epoch of an instant.
constexpr std::int64_t to_millis(timestamp t) noexcept { return t.time_since_epoch().count(); }
/// The instant at `ms` milliseconds since the epoch.
constexpr timestamp from_millis(std::int64_t ms) noexcept {
  return timestamp{std::chrono::milliseconds{ms}};
}

/// Parses RFC 3339 with a mandatory offset ("2026-11-27T10:00:00+09:00", "…Z", fractions allowed).
std::optional<timestamp> parse_rfc3339(std::string_view text) noexcept;

/// A named IANA zone (a wrapper so that callers need not include date/tz.h).
class zone {
public:
  /// Looks up an IANA zone name ("Asia/Seoul"); nullopt if the system's tz database has no such zone.
  static std::optional<zone> locate(std::string_view name) noexcept;

  /// The zone's name.
  std::string_view name() const noexcept;

  /// RFC 3339 text of an instant in this zone with its offset, millisecond precision only when
  /// non-zero ("2026-11-27T10:00:00+09:00", "2026-11-27T10:00:00.250+09:00").
  std::string format(timestamp t) const;

  /// The calendar day (yyyymmdd) of an instant in this zone.
  day_number day_of(timestamp t) const;

  /// The first instant of a calendar day in this zone.
  timestamp start_of_day(day_number day) const;

  /// The local wall-clock time of an instant in this zone, as milliseconds since 1970-01-01T00:00 local
  /// (what spreadsheets store as a date-time without a zone).
  std::int64_t local_millis(timestamp t) const;

  /// Reads a zone-less local time "YYMMDDhhmm" (SMPP, Twilio RawDlrDoneDate) in this zone.
  std::optional<timestamp> parse_yymmddhhmm(std::string_view text) const noexcept;

private:
  explicit zone(const date::time_zone* tz) noexcept : tz_{tz} {}
  const date::time_zone* tz_;
};

/// Parses a day "YYYY-MM-DD" into yyyymmdd; nullopt for an invalid calendar date.
std::optional<day_number> parse_day(std::string_view text) noexcept;

/// "YYYY-MM-DD" of a yyyymmdd day.
std::string format_day(day_number day);

/// Parses a contract duration "<integer><unit>", unit one of ms, s, m, h, d ("500ms", "72h").
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;

} // namespace deliveryd::core
