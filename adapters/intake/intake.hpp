#pragma once
/// Intake from the sending pipeline: JSON array or NDJSON of sends -> validated, normalised requests.
/// Pure apart from libphonenumber's metadata.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/time.hpp"
#include "core/words.hpp"

namespace deliveryd::adapters::intake {

/// One validated, normalised send as the pipeline registered it.
struct send_request {
  std::string send_id;                         ///< 1-128 printable characters
  core::send_type type = core::send_type::follow_up;
  std::string source_id;                       ///< campaign / one-time id ("" when none)
  std::string source_name;                     ///< "" when none
  core::medium medium = core::medium::sms;
  std::optional<core::vendor> vendor;          ///< absent only for excluded sends
  std::string contact;                         ///< E.164 or e-mail with lower-case domain
  core::timestamp requested_at{};
  std::optional<std::string> vendor_message_id;
  std::optional<int> excluded;                 ///< internal code 10000-11999
  std::optional<std::string> fallback_of;      ///< send_id of the Alimtalk send
  std::size_t index = 0;                       ///< position in the request body
};

/// A rejected item: position, id if it had one, machine word and sentence.
struct rejection {
  std::size_t index = 0;
  std::string send_id;
  std::string error;   ///< "invalid", "missing_field", "bad_contact", "too_old", "vendor_disabled", "conflict"
  std::string detail;  ///< a sentence for a person
};

/// What parsing a body gives when the body itself parses.
struct parsed_batch {
  std::vector<send_request> sends;
  std::vector<rejection> rejected;
};

/// Why a whole body was refused.
struct body_error {
  int http_status = 400;  ///< 400 malformed, 413 too many items
  std::string error;      ///< "malformed" or "too_many_items"
  std::string detail;     ///< a sentence for a person
};

/// What intake needs to know beside the body.
struct intake_context {
  std::string default_region = "KR";   ///< region of numbers without '+'
  core::timestamp now{};               ///< for the retention check
  int retention_days = 365;            ///< sends older than this are rejected
  std::vector<core::vendor> enabled;   ///< vendors with a config section; others are rejected per item
  std::size_t max_items = 10000;       ///< more is a 413
};

/// Parses a JSON array (`application/json`) or NDJSON (`application/x-ndjson`, chosen by `ndjson`) body. A body
/// (an NDJSON line) that is not UTF-8, holds a NUL byte or nests deeper than adapters::max_json_depth is refused
/// whole before parsing, 400 with a sentence naming the byte.
std::variant<parsed_batch, body_error> parse_body(std::string_view body, bool ndjson, const intake_context& ctx);

/// Normalises a phone number to E.164 ("010-1234-5678" in KR -> "+821012345678"); nullopt when it cannot be
/// parsed as a phone number. The result normalises to itself (a national prefix written twice is dropped twice).
std::optional<std::string> normalize_phone(std::string_view text, std::string_view default_region);

/// `text` itself when it is an E.164 number that libphonenumber would give back unchanged ('+', 8 to 15
/// digits, one of the fast calling codes, no national prefix after it); nullopt when only libphonenumber can
/// tell.
std::optional<std::string> canonical_e164(std::string_view text);

/// The calling codes canonical_e164 accepts (for the test that holds it to libphonenumber).
std::span<const int> fast_path_calling_codes();

/// Normalises an e-mail address: trims, checks one '@' with a non-empty local part and a dotted domain, and
/// lower-cases the domain; nullopt when it is not an address.
std::optional<std::string> normalize_email(std::string_view text);

/// Normalises a contact as intake does for `medium`.
std::optional<std::string> normalize_contact(core::medium medium, std::string_view text,
                                             std::string_view default_region);

} // namespace deliveryd::adapters::intake
