#pragma once
/// Catch2 printers for core values, so that a failed comparison shows the states it compared.

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "core/reconcile.hpp"

namespace Catch {

/// Prints a send state as status(code|reason|category|decided_at in ms).
template <>
struct StringMaker<deliveryd::core::send_state> {
  /// The text of one state.
  static std::string convert(const deliveryd::core::send_state& s) {
    std::ostringstream out;
    out << deliveryd::core::to_string(s.current) << "(" << s.code << "|" << s.reason << "|"
        << deliveryd::core::to_string(s.cat) << "|" << deliveryd::core::to_millis(s.decided_at) << ")";
    return out.str();
  }
};

} // namespace Catch
