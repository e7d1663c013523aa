#pragma once
/// Small text helpers shared by the parsers (header-only: deliveryctl uses it without linking the core).

#include <string_view>

namespace deliveryd::core {

/// `text` without surrounding ASCII white space (space, tab, CR, LF, FF, VT).
constexpr std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view space = " \t\r\n\f\v";
  const auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos)
    return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

} // namespace deliveryd::core
