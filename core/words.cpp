/// The contract's spellings of every enum of `core/words.hpp`, both ways.

#include "core/words.hpp"

#include <array>
#include <utility>

namespace deliveryd::core {
namespace {

template <class Enum, std::size_t N>
using spelling_table = std::array<std::pair<Enum, std::string_view>, N>;

// Each table lists every value of its enum exactly once, in declaration order.
constexpr spelling_table<status, 5> status_words{{
  {status::pending, "pending"},
  {status::sent, "sent"},
  {status::failed, "failed"},
  {status::excluded, "excluded"},
  {status::uncertain, "uncertain"},
}};

constexpr spelling_table<medium, 4> medium_words{{
  {medium::sms, "sms"},
  {medium::lms, "lms"},
  {medium::email, "email"},
  {medium::alimtalk, "alimtalk"},
}};

constexpr spelling_table<send_type, 4> send_type_words{{
  {send_type::campaign, "campaign"},
  {send_type::one_time, "one_time"},
  {send_type::follow_up, "follow_up"},
  {send_type::workflow, "workflow"},
}};

constexpr spelling_table<vendor, 4> vendor_words{{
  {vendor::twilio, "twilio"},
  {vendor::carrier, "carrier"},
  {vendor::kakao, "kakao"},
  {vendor::email, "email"},
}};

constexpr spelling_table<category, 9> category_words{{
  {category::none, ""},
  {category::invalid_recipient, "invalid_recipient"},
  {category::unreachable, "unreachable"},
  {category::blocked, "blocked"},
  {category::content_rejected, "content_rejected"},
  {category::opted_out, "opted_out"},
  {category::sender_config, "sender_config"},
  {category::vendor_error, "vendor_error"},
  {category::unknown, "unknown"},
}};

constexpr spelling_table<category, 9> category_sentences{{
  {category::none, "The message did not fail."},
  {category::invalid_recipient,
   "The recipient's address or number does not exist or cannot receive this kind of message."},
  {category::unreachable,
   "The recipient exists but could not be reached, for example because the handset was off or out of coverage."},
  {category::blocked, "The message was blocked by a carrier, by the recipient or by a sending limit."},
  {category::content_rejected, "The content was filtered or did not match the approved template."},
  {category::opted_out, "The recipient has unsubscribed from these messages."},
  {category::sender_config, "The sender profile, number, key or plan is missing or wrong."},
  {category::vendor_error, "The vendor failed internally while handling the message."},
  {category::unknown, "The message was not delivered for a reason the vendor did not give."},
}};

constexpr spelling_table<event_source, 4> event_source_words{{
  {event_source::intake, "intake"},
  {event_source::webhook, "webhook"},
  {event_source::poll, "poll"},
  {event_source::deadline, "deadline"},
}};

template <class Enum, std::size_t N>
constexpr std::string_view lookup(const spelling_table<Enum, N>& table, Enum value) noexcept {
  for (const auto& [key, word] : table)
    if (key == value)
      return word;
  return {};
}

template <class Enum, std::size_t N>
constexpr std::optional<Enum> reverse_lookup(const spelling_table<Enum, N>& table,
                                             std::string_view text) noexcept {
  for (const auto& [key, word] : table)
    if (word == text)
      return key;
  return std::nullopt;
}

} // namespace

std::string_view to_string(status value) noexcept { return lookup(status_words, value); }
std::string_view to_string(medium value) noexcept { return lookup(medium_words, value); }
std::string_view to_string(send_type value) noexcept { return lookup(send_type_words, value); }
std::string_view to_string(vendor value) noexcept { return lookup(vendor_words, value); }
std::string_view to_string(category value) noexcept { return lookup(category_words, value); }
std::string_view to_string(event_source value) noexcept { return lookup(event_source_words, value); }

std::optional<status> parse_status(std::string_view text) noexcept {
  return reverse_lookup(status_words, text);
}

std::optional<medium> parse_medium(std::string_view text) noexcept {
  return reverse_lookup(medium_words, text);
}

std::optional<send_type> parse_send_type(std::string_view text) noexcept {
  return reverse_lookup(send_type_words, text);
}

std::optional<vendor> parse_vendor(std::string_view text) noexcept {
  return reverse_lookup(vendor_words, text);
}

std::optional<category> parse_category(std::string_view text) noexcept {
  return reverse_lookup(category_words, text);
}

std::optional<event_source> parse_event_source(std::string_view text) noexcept {
  return reverse_lookup(event_source_words, text);
}

std::string_view describe(category value) noexcept { return lookup(category_sentences, value); }

} // namespace deliveryd::core
