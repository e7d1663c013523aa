#pragma once
/// Twilio's REST message resource (docs/vendors.md#twilio-message-resource): the request path, the Basic
/// credentials, and the JSON answer mapped onto the contract exactly as a status callback of the same status
/// would be. Pure.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "adapters/common.hpp"
#include "adapters/twilio/twilio.hpp"
#include "core/time.hpp"

namespace deliveryd::adapters::twilio {

/// "/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json", both ids percent-encoded as path segments.
std::string message_path(std::string_view account_sid, std::string_view sid);

/// The Authorization header value: "Basic " + base64(account_sid + ":" + auth_token).
std::string basic_auth(std::string_view account_sid, std::string_view auth_token);

/// Reads an RFC 2822 date as Twilio writes it ("Fri, 27 Nov 2026 00:32:00 +0000"): optional weekday, day,
/// month name, four-digit year, hh:mm[:ss], then +hhmm/-hhmm or GMT/UT/UTC/Z. nullopt otherwise.
std::optional<core::timestamp> parse_rfc2822(std::string_view text) noexcept;

/// A fetched message resource.
struct message_result {
  disposition what = disposition::apply;  ///< ignore for inbound-only statuses (receiving, received)
  mapped_event result;                    ///< vendor_message_id = sid; event as map_callback gives it, source poll
  std::optional<std::string> price;       ///< exactly as Twilio wrote it ("-0.00790"); nullopt until priced
  std::optional<std::string> price_unit;  ///< ISO 4217 as given ("USD"); nullopt when null or absent
  std::string error_message;              ///< Twilio's error_message, "" when null
};

/// Why a message resource could not be used.
struct bad_message {
  std::string detail; ///< a sentence for the log; never a contact
};

/// Parses a `GET …/Messages/{sid}.json` answer. The status goes through parse_callback and map_callback, so a
/// poll and a callback of one status agree, and share the dedupe key "<sid>|<status>". error_code may be an
/// integer, a string or null; vendor_time stays unknown (the epoch), as map_callback leaves it: date_updated is
/// when the resource last changed, not when the status came, and the receipt time `received_at` must not settle
/// conflicts between failures. A failure whose code has no
/// short text takes error_message as the vendor's text for its reason. A price that is not a string is unknown.
/// The body is kept whole as `raw`: one that is not UTF-8, holds a NUL byte or nests deeper than
/// adapters::max_json_depth is refused.
std::variant<message_result, bad_message> parse_message(std::string_view body, core::timestamp received_at);

} // namespace deliveryd::adapters::twilio
