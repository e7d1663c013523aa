#pragma once
/// Vendor prices: decimal strings as reported ("-0.00790"), summed exactly in millionths.

#include <cstdint>
#include <optional>
#include <string_view>

namespace deliveryd::core {

/// The absolute value of a decimal string in millionths ("-0.00790" -> 7900, "12" -> 12000000); digits past
/// the sixth decimal are rounded half up. nullopt for anything but [-+]digits[.digits].
std::optional<std::int64_t> abs_micros(std::string_view decimal) noexcept;

} // namespace deliveryd::core
