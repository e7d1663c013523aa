/// Twilio Programmable Messaging status callbacks (docs/vendors.md#twilio): X-Twilio-Signature, parsing and
/// mapping onto the contract's events.

#include "adapters/twilio/twilio.hpp"
#include "adapters/crypto.hpp"

#include <algorithm>
#include <array>

#include "core/codes.hpp"
#include "core/utf8.hpp"

namespace deliveryd::adapters::twilio {

namespace {

// ---- signatures ---------------------------------------------------------------------------------------------

// ---- statuses and error codes -------------------------------------------------------------------------------

/// What a Twilio status word means for an outbound send.
enum class status_kind {
  pending,  ///< accepted, scheduled, queued, sending, sent (carrier accepted only: a DLR may follow)
  sent,     ///< delivered, read
  failed,   ///< failed, undelivered
  canceled, ///< a scheduled message was cancelled
  partial,  ///< partially_delivered
  inbound,  ///< receiving, received: not about an outbound send
};

/// One word of Twilio's MessageStatus enum (its OpenAPI description).
struct status_row {
  std::string_view word; ///< as Twilio sends it, lower case
  status_kind kind;      ///< what it means here
};

constexpr std::array<status_row, 13> status_table{{
  {"queued", status_kind::pending},
  {"sending", status_kind::pending},
  {"sent", status_kind::pending},
  {"failed", status_kind::failed},
  {"delivered", status_kind::sent},
  {"undelivered", status_kind::failed},
  {"receiving", status_kind::inbound},
  {"received", status_kind::inbound},
  {"accepted", status_kind::pending},
  {"scheduled", status_kind::pending},
  {"read", status_kind::sent},
  {"partially_delivered", status_kind::partial},
  {"canceled", status_kind::canceled},
}};

/// The meaning of a status word; nullopt for a word Twilio does not document (matched exactly: Twilio sends
/// lower case, and the raw word is part of the dedupe key).
std::optional<status_kind> kind_of(std::string_view word) noexcept {
  for (const auto& row : status_table)
    if (row.word == word)
      return row.kind;
  return std::nullopt;
}

/// One Twilio error code we know.
struct error_row {
  std::string_view code;  ///< Twilio's number, as a string
  core::category cat;     ///< where it sits in the taxonomy
  std::string_view text;  ///< Twilio's short name for it
};

constexpr std::array<error_row, 15> error_table{{
  {"30001", core::category::vendor_error, "Queue overflow"},
  {"30002", core::category::sender_config, "Account suspended"},
  {"30003", core::category::unreachable, "Unreachable destination handset"},
  {"30004", core::category::blocked, "Message blocked"},
  {"30005", core::category::invalid_recipient, "Unknown destination handset"},
  {"30006", core::category::invalid_recipient, "Landline or unreachable carrier"},
  {"30007", core::category::content_rejected, "Message filtered"},
  {"30008", core::category::unknown, "Unknown error"},
  {"30009", core::category::vendor_error, "Missing segment"},
  {"30010", core::category::sender_config, "Message price exceeds max price"},
  {"30034", core::category::sender_config, "Message from an unregistered number"},
  {"21211", core::category::invalid_recipient, "Invalid 'To' phone number"},
  {"21610", core::category::opted_out, "Attempt to send to unsubscribed recipient"},
  {"21614", core::category::invalid_recipient, "'To' number is not a valid mobile number"},
  {"21635", core::category::invalid_recipient, "'To' number cannot be a landline"},
}};

/// The row of an error code, or nullptr.
const error_row* find_error(std::string_view code) noexcept {
  for (const auto& row : error_table)
    if (row.code == code)
      return &row;
  return nullptr;
}

/// The first non-empty value of `name`, or nullopt.
std::optional<std::string_view> first_value(const form_params& params, std::string_view name) noexcept {
  for (const auto& [key, value] : params)
    if (key == name && !value.empty())
      return std::string_view{value};
  return std::nullopt;
}

/// The first non-empty value of `name`, else of `legacy`, or nullopt.
std::optional<std::string_view> value_or_legacy(const form_params& params, std::string_view name,
                                                std::string_view legacy) noexcept {
  if (auto value = first_value(params, name))
    return value;
  return first_value(params, legacy);
}

/// Fills the failure fields of `e` (outcome failed) from the callback.
void set_failure(core::event& e, const status_callback& cb, std::string_view text_without_code) {
  e.outcome = core::status::failed;
  if (cb.error_code.empty()) {
    e.code = "twilio:" + cb.message_status;
    e.cat = core::category::unknown;
    e.reason = core::reason_for(e.outcome, e.code, text_without_code, e.cat);
  } else {
    e.code = "twilio:" + cb.error_code;
    e.cat = category_of(cb.error_code);
    e.reason = core::reason_for(e.outcome, e.code, error_text(cb.error_code), e.cat);
  }
}

} // namespace

std::string signing_string(std::string_view full_url, const form_params& params) {
  // Sorting whole pairs sorts by name, then the values of a repeated name; std::string compares bytes unsigned.
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(params.size());
  std::size_t size = full_url.size();
  for (const auto& p : params) {
    sorted.push_back(&p);
    size += p.first.size() + p.second.size();
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return *a < *b; });
  std::string out;
  out.reserve(size);
  out.append(full_url);
  for (const auto* p : sorted) {
    out.append(p->first);
    out.append(p->second);
  }
  return out;
}

std::string compute_signature(std::string_view auth_token, std::string_view full_url, const form_params& params) {
  return hmac_base64(digest::sha1, auth_token, signing_string(full_url, params));
}

std::string compute_signature_sha256(std::string_view shared_key, std::string_view full_url,
                                     const form_params& params) {
  return hmac_base64(digest::sha256, shared_key, signing_string(full_url, params));
}

bool verify_signature(std::string_view auth_token, std::string_view full_url, const form_params& params,
                      std::string_view signature_header) {
  // An empty token would let anyone sign; config validation refuses it, and so do we.
  if (auth_token.empty() || signature_header.empty())
    return false;
  const auto expected = compute_signature(auth_token, full_url, params);
  return !expected.empty() && constant_time_equal(expected, signature_header);
}

std::string_view describe(parse_error e) noexcept {
  switch (e) {
    case parse_error::missing_message_sid:
      return "the callback has neither MessageSid nor SmsSid";
    case parse_error::missing_message_status:
      return "the callback has neither MessageStatus nor SmsStatus";
    case parse_error::unknown_status:
      return "the callback's MessageStatus is not a status Twilio documents";
    case parse_error::control_characters:
      return "the callback's MessageSid or ErrorCode holds control characters";
  }
  return "unknown parse error";
}

std::variant<status_callback, parse_error> parse_callback(form_params params) {
  const auto sid = value_or_legacy(params, "MessageSid", "SmsSid");
  if (!sid)
    return parse_error::missing_message_sid;
  const auto word = value_or_legacy(params, "MessageStatus", "SmsStatus");
  if (!word)
    return parse_error::missing_message_status;
  if (!kind_of(*word))
    return parse_error::unknown_status;
  if (!core::is_printable_utf8(*sid) || !core::is_printable_utf8(first_value(params, "ErrorCode").value_or("")))
    return parse_error::control_characters;
  status_callback cb;
  cb.message_sid = std::string{*sid};
  cb.message_status = std::string{*word};
  cb.error_code = std::string{first_value(params, "ErrorCode").value_or("")};
  cb.account_sid = std::string{first_value(params, "AccountSid").value_or("")};
  cb.raw_dlr_done_date = std::string{first_value(params, "RawDlrDoneDate").value_or("")};
  cb.params = std::move(params);
  return cb;
}

std::pair<disposition, core::event> map_callback(const status_callback& cb,
                                                 [[maybe_unused]] core::timestamp received_at) {
  core::event e;
  e.source = core::event_source::webhook;
  e.outcome = core::status::pending;
  e.cat = core::category::none;
  // A callback carries no event time (RawDlrDoneDate has no zone and a carrier-dependent offset). The receipt
  // time is the history's time, but it must not settle conflicts: two failures would then be decided by the
  // order they arrived in. An unknown vendor time (the epoch) leaves the tie to the greater code.
  e.vendor_time = core::timestamp{};
  e.vendor_status = cb.message_status;
  e.vendor_code = cb.error_code;
  e.dedupe_key = cb.message_sid + "|" + cb.message_status;

  const auto kind = kind_of(cb.message_status);
  // A word parse_callback would have refused (a hand-made callback): nothing trustworthy to record.
  if (!kind)
    return {disposition::ignore, e};
  switch (*kind) {
    case status_kind::pending:
      return {disposition::apply, e};
    case status_kind::sent:
      e.outcome = core::status::sent;
      return {disposition::apply, e};
    case status_kind::failed:
      set_failure(e, cb, "");
      return {disposition::apply, e};
    case status_kind::canceled:
      // Failed, not excluded: `excluded` takes an internal code 10000-11999 and is decided by us before a vendor
      // is asked; the adapter cannot tell who cancelled. Category `unknown` rather than `vendor_error`: Twilio
      // did not fail, the message was withdrawn (an ErrorCode, if one comes, decides the category instead).
      set_failure(e, cb, "Message canceled");
      return {disposition::apply, e};
    case status_kind::partial: {
      // Some parts or some group members got it: the send is neither sent nor failed.
      e.outcome = core::status::uncertain;
      e.code = std::string{core::uncertain_code};
      const auto* info = core::find_code(core::uncertain_code);
      e.cat = info != nullptr ? info->cat : core::category::unknown;
      e.reason = core::reason_for(e.outcome, e.code, error_text(cb.error_code), e.cat);
      return {disposition::apply, e};
    }
    case status_kind::inbound:
      return {disposition::ignore, e};
  }
  return {disposition::ignore, e};
}

core::category category_of(std::string_view error_code) noexcept {
  // 21610 (the recipient sent STOP) stays a failure in category opted_out: `excluded` needs one of our internal
  // codes, which the pipeline sets (10006) when it knows of the opt-out before sending.
  const auto* row = find_error(error_code);
  return row != nullptr ? row->cat : core::category::unknown;
}

std::string_view error_text(std::string_view error_code) noexcept {
  const auto* row = find_error(error_code);
  return row != nullptr ? row->text : std::string_view{};
}

} // namespace deliveryd::adapters::twilio
