#include "core/month.hpp"

#include <array>
#include <cstdio>

namespace deliveryd::core {

std::optional<month_number> parse_month(std::string_view text) noexcept {
  if (text.size() != 7 || text[4] != '-')
    return std::nullopt;
  int year = 0;
  int month = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    if (i == 4)
      continue;
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
    (i < 4 ? year : month) = (i < 4 ? year : month) * 10 + (text[i] - '0');
  }
  if (year < 1970 || month < 1 || month > 12)
    return std::nullopt;
  return year * 100 + month;
}

std::string format_month(month_number month) {
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%04d-%02d", month / 100, month % 100);
  return buffer.data();
}

month_number next_month(month_number month) noexcept {
  return month % 100 == 12 ? (month / 100 + 1) * 100 + 1 : month + 1;
}

std::vector<day_number> days_of(month_number month) {
  const int year = month / 100;
  const int m = month % 100;
  static constexpr std::array<int, 12> lengths{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int last = m == 2 && leap ? 29 : lengths[static_cast<std::size_t>(m - 1)];
  std::vector<day_number> days;
  days.reserve(static_cast<std::size_t>(last));
  for (int d = 1; d <= last; ++d)
    days.push_back(month * 100 + d);
  return days;
}

month_span month_bounds(const zone& z, month_number month) {
  return {z.start_of_day(first_day(month)), z.start_of_day(first_day(next_month(month)))};
}

} // namespace deliveryd::core
