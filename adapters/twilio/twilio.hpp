#pragma once
/// Twilio Programmable Messaging status callbacks: signature, parsing, and mapping onto the contract.
/// Pure: bytes and values in, values out.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "adapters/form.hpp"
#include "core/reconcile.hpp"

namespace deliveryd::adapters::twilio {

/// The string Twilio signs: the full URL, then for each parameter in byte order of names (values sorted for a
/// repeated name) name followed by value, with no separators.
std::string signing_string(std::string_view full_url, const form_params& params);

/// base64(HMAC-SHA1(auth_token, signing_string)): the expected X-Twilio-Signature.
std::string compute_signature(std::string_view auth_token, std::string_view full_url, const form_params& params);

/// base64(HMAC-SHA256(shared_key, signing_string)): the signature of a Webhooks Rule (HMAC_SHA256 setting).
std::string compute_signature_sha256(std::string_view shared_key, std::string_view full_url,
                                     const form_params& params);

/// Checks X-Twilio-Signature (HMAC-SHA1 with the auth token) in constant time.
bool verify_signature(std::string_view auth_token, std::string_view full_url, const form_params& params,
                      std::string_view signature_header);

/// A parsed status callback.
struct status_callback {
  std::string message_sid;      ///< MessageSid (SmsSid when MessageSid is absent)
  std::string message_status;   ///< MessageStatus (SmsStatus when absent), lower-case as sent
  std::string error_code;       ///< ErrorCode, "" if none
  std::string account_sid;      ///< AccountSid
  std::string raw_dlr_done_date;///< RawDlrDoneDate kept raw (no zone)
  form_params params;           ///< every received parameter, unknown ones included
};

/// Why a callback could not be used.
enum class parse_error {
  missing_message_sid,    ///< no MessageSid nor SmsSid
  missing_message_status, ///< no MessageStatus nor SmsStatus
  unknown_status,         ///< a status word Twilio does not document
  control_characters,     ///< MessageSid or ErrorCode holds a control character (they are stored as sent)
};

/// A sentence for a person about a parse error.
std::string_view describe(parse_error e) noexcept;

/// Extracts the fields deliveryd uses from the callback's parameters; unknown parameters are kept, not refused.
/// MessageSid and ErrorCode are stored as sent, so they must be printable (no control characters).
std::variant<status_callback, parse_error> parse_callback(form_params params);

/// What a callback means for the send.
enum class disposition {
  apply,  ///< an event for the ledger
  ignore, ///< inbound-only statuses (receiving, received): nothing to record
};

/// Maps a callback onto a contract event. The event's vendor time is unknown (the epoch): a callback carries
/// none, and the receipt time (kept by the ledger as the history's time) must not decide between two failures.
/// accepted/scheduled/queued/sending/sent -> pending; delivered/read -> sent; undelivered/failed/canceled ->
/// failed with `twilio:<ErrorCode>` (or `twilio:<status>` without one) and a category; partially_delivered ->
/// uncertain ME09. The dedupe key is "<MessageSid>|<MessageStatus>".
std::pair<disposition, core::event> map_callback(const status_callback& cb, core::timestamp received_at);

/// The taxonomy category of a Twilio error code.
core::category category_of(std::string_view error_code) noexcept;

/// Twilio's own short text for an error code, "" when unknown.
std::string_view error_text(std::string_view error_code) noexcept;

} // namespace deliveryd::adapters::twilio
