#pragma once
/// The words of the contract: statuses, media, types, vendors, categories, event sources.
/// Every enum converts to the exact string of the contract and back.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace deliveryd::core {

/// Where a send stands. Only `pending` is not final.
enum class status : std::uint8_t {
  pending,   ///< no final answer yet
  sent,      ///< the vendor reported delivery
  failed,    ///< the vendor reported a failure (code and reason say which)
  excluded,  ///< we decided not to send (internal codes 10000-11999)
  uncertain, ///< no definite answer; always code ME09; a later definitive result corrects it
};

/// How the message travels.
enum class medium : std::uint8_t {
  sms,      ///< short message
  lms,      ///< long message
  email,    ///< e-mail
  alimtalk, ///< Kakao Alimtalk
};

/// What sent the message.
enum class send_type : std::uint8_t {
  campaign,  ///< marketing campaign
  one_time,  ///< marketing one-time message
  follow_up, ///< follow-up notification
  workflow,  ///< workflow
};

/// Which vendor actor tracks the send.
enum class vendor : std::uint8_t {
  twilio,  ///< Twilio Programmable Messaging
  carrier, ///< a Korean SMS/LMS carrier or SMPP gateway
  kakao,   ///< a Kakao Alimtalk dealer
  email,   ///< the e-mail provider (SendGrid)
};

/// One failure taxonomy across all vendors.
enum class category : std::uint8_t {
  none,              ///< no failure (sent, pending)
  invalid_recipient, ///< the address or number does not exist or cannot take this medium
  unreachable,       ///< exists but could not be reached (handset off, no coverage, full)
  blocked,           ///< blocked by a carrier, the recipient or a limit
  content_rejected,  ///< content filtered or does not match the approved template
  opted_out,         ///< the recipient unsubscribed
  sender_config,     ///< our sender profile, number, key or plan is wrong
  vendor_error,      ///< the vendor failed internally
  unknown,           ///< no better word
};

/// Where a history entry of a send came from.
enum class event_source : std::uint8_t {
  intake,   ///< the sending pipeline registered or updated the send
  webhook,  ///< a vendor pushed a result
  poll,     ///< we fetched a result from a vendor
  deadline, ///< the send had no final answer in time
};

/// Every status, in declaration order.
inline constexpr std::array<status, 5> all_statuses{status::pending, status::sent, status::failed, status::excluded,
                                                    status::uncertain};
/// Every medium, in declaration order.
inline constexpr std::array<medium, 4> all_media{medium::sms, medium::lms, medium::email, medium::alimtalk};

/// The contract's spelling of a status.
std::string_view to_string(status value) noexcept;
/// The contract's spelling of a medium.
std::string_view to_string(medium value) noexcept;
/// The contract's spelling of a send type.
std::string_view to_string(send_type value) noexcept;
/// The contract's spelling of a vendor.
std::string_view to_string(vendor value) noexcept;
/// The contract's spelling of a category; `none` is the empty string.
std::string_view to_string(category value) noexcept;
/// The contract's spelling of an event source.
std::string_view to_string(event_source value) noexcept;

/// Parses the contract's spelling of a status; nullopt for anything else.
std::optional<status> parse_status(std::string_view text) noexcept;
/// Parses the contract's spelling of a medium; nullopt for anything else.
std::optional<medium> parse_medium(std::string_view text) noexcept;
/// Parses the contract's spelling of a send type; nullopt for anything else.
std::optional<send_type> parse_send_type(std::string_view text) noexcept;
/// Parses the contract's spelling of a vendor; nullopt for anything else.
std::optional<vendor> parse_vendor(std::string_view text) noexcept;
/// Parses the contract's spelling of a category ("" is `none`); nullopt for anything else.
std::optional<category> parse_category(std::string_view text) noexcept;
/// Parses the contract's spelling of an event source; nullopt for anything else.
std::optional<event_source> parse_event_source(std::string_view text) noexcept;

/// A sentence describing a category, the last fallback for a reason text.
std::string_view describe(category value) noexcept;

/// True for every status but `pending`.
constexpr bool is_final(status value) noexcept { return value != status::pending; }

/// The contract's billing rule: a send costs its medium's unit price when it is `sent` or `uncertain`; `failed`,
/// `excluded` and `pending` cost nothing. Every cost deliveryd shows (rows, legs, the month's cost per medium)
/// follows from it.
constexpr bool is_billable(status value) noexcept { return value == status::sent || value == status::uncertain; }

} // namespace deliveryd::core
