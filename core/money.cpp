#include "core/money.hpp"

#include <limits>

namespace deliveryd::core {

std::optional<std::int64_t> abs_micros(std::string_view text) noexcept {
  if (!text.empty() && (text.front() == '-' || text.front() == '+'))
    text.remove_prefix(1);
  const auto dot = text.find('.');
  const auto whole = text.substr(0, dot);
  const auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() && fraction.empty())
    return std::nullopt;
  if (dot != std::string_view::npos && fraction.empty())
    return std::nullopt;
  // The whole part in millionths, plus six decimals and a rounding unit, must fit: "9223372036859" would not.
  constexpr std::int64_t max_whole = (std::numeric_limits<std::int64_t>::max() - 1'000'000) / 1'000'000;
  std::int64_t value = 0;
  for (char c : whole) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > max_whole)
      return std::nullopt;
  }
  value *= 1'000'000;
  std::int64_t scale = 100'000;
  bool round_up = false;
  for (std::size_t i = 0; i < fraction.size(); ++i) {
    const char c = fraction[i];
    if (c < '0' || c > '9')
      return std::nullopt;
    if (i < 6)
      value += (c - '0') * scale, scale /= 10;
    else if (i == 6)
      round_up = c >= '5';
  }
  return value + (round_up ? 1 : 0);
}

} // namespace deliveryd::core
