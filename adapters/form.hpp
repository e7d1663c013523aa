#pragma once
/// application/x-www-form-urlencoded bodies and query strings, as vendors send them: Twilio's status callbacks,
/// Jasmin's delivery reports, and the `token=` of a query string.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deliveryd::adapters {

/// Form parameters in the order received (names and values URL-decoded); repeated names allowed.
using form_params = std::vector<std::pair<std::string, std::string>>;

/// Decodes an application/x-www-form-urlencoded body ('+' is a space, %XX escapes). nullopt on a malformed
/// escape, invalid UTF-8 or a NUL byte.
std::optional<form_params> parse_form(std::string_view body);

} // namespace deliveryd::adapters
