/// The seed's reason-code table (docs seed.md), compiled in.

#include "core/codes.hpp"

#include <array>

namespace deliveryd::core {
namespace {

// Texts are the seed's, verbatim. Where the seed gives no description, the description repeats the reason.
constexpr std::array<code_info, 15> table{{
  {"10000", "Invalid user or contact info", "Invalid user or contact info", category::invalid_recipient,
   status::excluded},
  {"10001", "Duplicate contact", "The message has already been sent to this contact.", category::blocked,
   status::excluded},
  {"10002", "Integration error", "Errors including disconnected external messengers or blocked services.",
   category::sender_config, status::excluded},
  {"10003", "Not on a paid plan",
   "The paid plan was suspended before the message was sent via Marketing or Workflow.",
   category::sender_config, status::excluded},
  {"10004", "Usage limit reached", "Reached the PU (SMS, Social Media) limit.", category::blocked,
   status::excluded},
  {"10005", "Usage limit reached", "Reached the marketing message limit (1,000) during the Free Trial.",
   category::blocked, status::excluded},
  {"10006", "Unsubscribed from marketing", "The recipient has opted out of promotional SMS/emails.",
   category::opted_out, status::excluded},
  {"10007", "Message restriction",
   "Alimtalk is not sent when a team member starts a conversation first via 'Open New Chat'.",
   category::blocked, status::excluded},
  {"10008", "Message restriction", "SMS is only supported in South Korea, Japan, and North America.",
   category::invalid_recipient, status::excluded},
  {"10999", "Other internal system error", "Other internal system error", category::unknown,
   status::excluded},
  {"11000", "Sender profile required",
   "North American recipients require a North American phone number to receive messages.",
   category::sender_config, status::excluded},
  {"11001", "Sender profile required",
   "Missing a marketing sender profile (Sender ID, North American phone number).", category::sender_config,
   status::excluded},
  {"11002", "Twilio usage limit reached", "Exceeded the daily usage limit for Twilio.", category::blocked,
   status::excluded},
  {"11999", "Other internal system filtering", "Other internal system filtering", category::unknown,
   status::excluded},
  {uncertain_code, "Uncertain delivery status",
   "Delivery status is uncertain due to the user\u2019s device environment at the time of sending.",
   category::unknown, status::uncertain},
}};

constexpr int first_exclusion_code = 10000;
constexpr int last_exclusion_code = 11999;

} // namespace

std::span<const code_info> code_table() noexcept { return table; }

const code_info* find_code(std::string_view code) noexcept {
  for (const auto& row : table)
    if (row.code == code)
      return &row;
  return nullptr;
}

bool is_exclusion_code(int code) noexcept {
  return code >= first_exclusion_code && code <= last_exclusion_code;
}

std::optional<int> parse_exclusion_code(std::string_view digits) noexcept {
  // Every code of the range has exactly five digits; anything longer or shorter (leading zeros, signs,
  // spaces) is not a code.
  if (digits.size() != 5)
    return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (!is_exclusion_code(value))
    return std::nullopt;
  return value;
}

} // namespace deliveryd::core
