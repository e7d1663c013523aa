#pragma once
/// The reason-code table: the seed's internal codes 10000-11999 and ME09.

#include <optional>
#include <span>
#include <string_view>

#include "core/words.hpp"

namespace deliveryd::core {

/// One row of the reason-code table.
struct code_info {
  std::string_view code;        ///< "10006", "ME09"
  std::string_view reason;      ///< short text, e.g. "Unsubscribed from marketing"
  std::string_view description; ///< longer text; the seed leaves some empty
  category cat;                 ///< where the code sits in the failure taxonomy
  status implies;               ///< excluded for 10000-11999, uncertain for ME09
};

/// The code of every uncertain send.
inline constexpr std::string_view uncertain_code = "ME09";

/// Every code of the table, in the seed's order.
std::span<const code_info> code_table() noexcept;

/// The table row of a code, or nullptr when the code is not in the table.
const code_info* find_code(std::string_view code) noexcept;

/// True when `code` is an internal exclusion code (10000-11999), whether or not the seed names it.
bool is_exclusion_code(int code) noexcept;

/// Parses an exclusion code given as digits ("10006"); nullopt unless it is 10000-11999.
std::optional<int> parse_exclusion_code(std::string_view digits) noexcept;

} // namespace deliveryd::core
