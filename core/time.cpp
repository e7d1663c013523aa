/// Time values: RFC 3339 in and out, calendar days in an IANA zone (OS tz database via date-tz), durations.

#include "core/time.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <array>
#include <cstdio>
#include <limits>
#include <string>

namespace deliveryd::core {
namespace {

namespace chr = std::chrono;

// Reads exactly `count` ASCII digits at `pos`; nullopt if any is missing or not a digit.
std::optional<int> read_digits(std::string_view text, std::size_t pos, std::size_t count) noexcept {
  if (pos + count > text.size())
    return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// A validated calendar date, or nullopt.
std::optional<date::year_month_day> make_date(int y, int m, int d) noexcept {
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return std::nullopt;
  return ymd;
}

// "YYYY-MM-DD" at the start of `text`.
std::optional<date::year_month_day> read_date(std::string_view text) noexcept {
  const auto y = read_digits(text, 0, 4);
  const auto m = read_digits(text, 5, 2);
  const auto d = read_digits(text, 8, 2);
  if (!y || !m || !d || text.size() < 10 || text[4] != '-' || text[7] != '-')
    return std::nullopt;
  return make_date(*y, *m, *d);
}

// "hh:mm:ss" at `pos`, as a time of day; nullopt unless 00:00:00-23:59:59.
std::optional<chr::seconds> read_clock(std::string_view text, std::size_t pos) noexcept {
  const auto h = read_digits(text, pos, 2);
  const auto m = read_digits(text, pos + 3, 2);
  const auto s = read_digits(text, pos + 6, 2);
  if (!h || !m || !s || text[pos + 2] != ':' || text[pos + 5] != ':')
    return std::nullopt;
  // RFC 3339 allows a leap second (60); the Unix time line has none, so it is refused.
  if (*h > 23 || *m > 59 || *s > 59)
    return std::nullopt;
  return chr::hours{*h} + chr::minutes{*m} + chr::seconds{*s};
}

// The offset at `pos` ("Z", "z", "+hh:mm", "-hh:mm") that must end the text; nullopt otherwise.
std::optional<chr::minutes> read_offset(std::string_view text, std::size_t pos) noexcept {
  if (pos >= text.size())
    return std::nullopt;
  const char sign = text[pos];
  if (sign == 'Z' || sign == 'z')
    return pos + 1 == text.size() ? std::optional{chr::minutes{0}} : std::nullopt;
  if (sign != '+' && sign != '-')
    return std::nullopt;
  const auto h = read_digits(text, pos + 1, 2);
  const auto m = read_digits(text, pos + 4, 2);
  if (!h || !m || text[pos + 3] != ':' || pos + 6 != text.size() || *h > 23 || *m > 59)
    return std::nullopt;
  const chr::minutes offset{*h * 60 + *m};
  return sign == '-' ? -offset : offset;
}

std::string two_digits(int value) {
  return {static_cast<char>('0' + value / 10), static_cast<char>('0' + value % 10)};
}

// "+hh:mm" of an offset in seconds, rounded towards zero to whole minutes.
std::string format_offset(chr::seconds offset) {
  const auto total = offset.count() / 60;
  const auto magnitude = static_cast<int>(total < 0 ? -total : total);
  return (total < 0 ? "-" : "+") + two_digits(magnitude / 60) + ":" + two_digits(magnitude % 60);
}

day_number to_day_number(date::year_month_day ymd) noexcept {
  return static_cast<day_number>(static_cast<int>(ymd.year()) * 10000 +
                                 static_cast<int>(static_cast<unsigned>(ymd.month())) * 100 +
                                 static_cast<int>(static_cast<unsigned>(ymd.day())));
}

date::year_month_day from_day_number(day_number day) noexcept {
  return date::year_month_day{date::year{day / 10000}, date::month{static_cast<unsigned>(day / 100 % 100)},
                              date::day{static_cast<unsigned>(day % 100)}};
}

} // namespace

std::optional<timestamp> parse_rfc3339(std::string_view text) noexcept {
  const auto ymd = read_date(text);
  if (!ymd || text.size() < 19 || (text[10] != 'T' && text[10] != 't'))
    return std::nullopt;
  const auto clock = read_clock(text, 11);
  if (!clock)
    return std::nullopt;
  std::size_t pos = 19;
  chr::milliseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t first = ++pos;
    int scale = 100;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, scale /= 10)
      fraction += chr::milliseconds{(text[pos] - '0') * scale}; // digits past the third add 0: truncation
    if (pos == first)
      return std::nullopt;
  }
  const auto offset = read_offset(text, pos);
  if (!offset)
    return std::nullopt;
  const date::sys_days day{*ymd};
  return timestamp{chr::time_point_cast<chr::milliseconds>(day) + *clock + fraction - *offset};
}

std::optional<zone> zone::locate(std::string_view name) noexcept {
  try {
    return zone{date::locate_zone(name)};
  } catch (...) {
    // An unknown name, or no readable tz database at all.
    return std::nullopt;
  }
}

std::string_view zone::name() const noexcept { return tz_->name(); }

std::string zone::format(timestamp t) const {
  // RFC 3339 offsets are whole minutes, while local mean time offsets (Seoul's before 1908: +08:27:52) have
  // seconds: the wall clock printed must be the one of the offset printed, or the text names another instant.
  const auto offset = chr::duration_cast<chr::minutes>(tz_->get_info(t).offset);
  const auto local = t + offset;
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss clock{local - day};
  std::array<char, 96> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  std::string text{buffer.data()};
  if (const auto ms = clock.subseconds().count(); ms != 0) {
    std::snprintf(buffer.data(), buffer.size(), ".%03d", static_cast<int>(ms));
    text += buffer.data();
  }
  return text + format_offset(offset);
}

day_number zone::day_of(timestamp t) const {
  const auto local = tz_->to_local(t);
  return to_day_number(date::year_month_day{date::floor<date::days>(local)});
}

timestamp zone::start_of_day(day_number day) const {
  const date::local_days midnight{from_day_number(day)};
  // Where midnight does not exist (a DST jump at 00:00), `earliest` gives the instant of the jump, which is
  // the first instant of that day; where it exists twice, the first one.
  return chr::time_point_cast<chr::milliseconds>(tz_->to_sys(midnight, date::choose::earliest));
}

std::int64_t zone::local_millis(timestamp t) const {
  return to_millis(t) + chr::duration_cast<chr::milliseconds>(tz_->get_info(t).offset).count();
}

std::optional<timestamp> zone::parse_yymmddhhmm(std::string_view text) const noexcept {
  if (text.size() != 10)
    return std::nullopt;
  const auto yy = read_digits(text, 0, 2);
  const auto mo = read_digits(text, 2, 2);
  const auto dd = read_digits(text, 4, 2);
  const auto hh = read_digits(text, 6, 2);
  const auto mi = read_digits(text, 8, 2);
  if (!yy || !mo || !dd || !hh || !mi || *hh > 23 || *mi > 59)
    return std::nullopt;
  const auto ymd = make_date(2000 + *yy, *mo, *dd);
  if (!ymd)
    return std::nullopt;
  const auto local = date::local_days{*ymd} + chr::hours{*hh} + chr::minutes{*mi};
  try {
    const auto info = tz_->get_info(local);
    if (info.result == date::local_info::nonexistent)
      return std::nullopt; // skipped by a DST jump
    // For an ambiguous time `first` is the earlier of the two instants.
    return timestamp{chr::time_point_cast<chr::milliseconds>(date::sys_seconds{local.time_since_epoch()} -
                                                             info.first.offset)};
  } catch (...) {
    return std::nullopt; // the zone's rules could not be loaded
  }
}

std::optional<day_number> parse_day(std::string_view text) noexcept {
  if (text.size() != 10)
    return std::nullopt;
  const auto ymd = read_date(text);
  if (!ymd)
    return std::nullopt;
  return to_day_number(*ymd);
}

std::string format_day(day_number day) {
  std::array<char, 48> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%04d-%02d-%02d", day / 10000, day / 100 % 100, day % 100);
  return buffer.data();
}

std::optional<chr::milliseconds> parse_duration(std::string_view text) noexcept {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  if (digits == 0)
    return std::nullopt;
  const std::string_view unit = text.substr(digits);
  std::int64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60 * 1000;
  else if (unit == "h")
    factor = 60 * 60 * 1000;
  else if (unit == "d")
    factor = 24 * 60 * 60 * 1000;
  else
    return std::nullopt;
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  std::int64_t value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const int digit = text[i] - '0';
    if (value > (max - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  if (value > max / factor)
    return std::nullopt;
  return chr::milliseconds{value * factor};
}

} // namespace deliveryd::core
