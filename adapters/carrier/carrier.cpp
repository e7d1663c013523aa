/// Carrier-side delivery reports (docs/vendors.md#carrier, contract "Webhooks"): Jasmin-style HTTP DLRs, the
/// Korean aggregators' 4-digit result reports, and the shared-token check.

#include "adapters/carrier/carrier.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

#include "adapters/json_guard.hpp"
#include "core/codes.hpp"
#include "core/utf8.hpp"

namespace deliveryd::adapters::carrier {

namespace {

using json = nlohmann::json;

// ---- shared ---------------------------------------------------------------------------------------------------

/// The category of ME09, the code of every uncertain event.
core::category uncertain_category() noexcept {
  const auto* info = core::find_code(core::uncertain_code);
  return info != nullptr ? info->cat : core::category::unknown;
}

/// Sets outcome, code, category and reason of `e`. `failure_code` and `cat` are used for failed only: sent
/// and pending carry none, uncertain always carries ME09. `text` is the vendor's text for the reason.
void set_outcome(core::event& e, core::status outcome, std::string failure_code, core::category cat,
                 std::string_view text) {
  e.outcome = outcome;
  switch (outcome) {
    case core::status::pending:
    case core::status::sent:
      e.code.clear();
      e.cat = core::category::none;
      e.reason.clear();
      return;
    case core::status::uncertain:
      e.code = std::string{core::uncertain_code};
      e.cat = uncertain_category();
      break;
    case core::status::failed:
    case core::status::excluded:
      e.code = std::move(failure_code);
      e.cat = cat;
      break;
  }
  e.reason = core::reason_for(outcome, e.code, text, e.cat);
}

// ---- Jasmin ---------------------------------------------------------------------------------------------------

/// The first non-empty value of `name`, or nullopt.
std::optional<std::string_view> first_value(const form_params& params, std::string_view name) noexcept {
  for (const auto& [key, value] : params)
    if (key == name && !value.empty())
      return std::string_view{value};
  return std::nullopt;
}

/// `text` with ASCII letters upper-cased.
std::string to_upper(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>(c - 'a' + 'A');
  return out;
}

/// One SMPP delivery-receipt stat word (SMPP 3.4 appendix B).
struct stat_row {
  std::string_view word;  ///< upper case
  core::status outcome;   ///< what it means for the send
  core::category cat;     ///< the category of a failure
  std::string_view text;  ///< reason text of a failure
};

constexpr std::array<stat_row, 8> stat_table{{
  {"DELIVRD", core::status::sent, core::category::none, ""},
  // Undeliverable after the SMSC's retries: the number exists as far as it knows, the handset was not reached.
  {"UNDELIV", core::status::failed, core::category::unreachable, "Undeliverable"},
  {"REJECTD", core::status::failed, core::category::blocked, "Rejected by the carrier"},
  // The validity period ran out while the SMSC was still retrying: the handset stayed unreachable.
  {"EXPIRED", core::status::failed, core::category::unreachable, "Expired before delivery"},
  // Deleted by the SMSC (or its operator): nothing the recipient did.
  {"DELETED", core::status::failed, core::category::vendor_error, "Deleted by the SMSC"},
  {"ENROUTE", core::status::pending, core::category::none, ""},
  {"ACCEPTD", core::status::pending, core::category::none, ""},
  {"UNKNOWN", core::status::uncertain, core::category::unknown, "Delivery state unknown to the SMSC"},
}};

/// The row of a stat word (upper case), or nullptr.
const stat_row* find_stat(std::string_view word) noexcept {
  for (const auto& row : stat_table)
    if (row.word == word)
      return &row;
  return nullptr;
}

/// Jasmin's default `submit_error_retrial` ([sm-listener] in jasmin.cfg): it re-queues a submit refused with
/// one of these and tries again later, but throws the level-1 DLR of the refusal at once and then forgets the
/// DLR request, so a later success may never be reported. Failing the send on them would be a guess; leaving
/// it pending lets a later DLR decide, or the deadline make it uncertain.
constexpr std::array<std::string_view, 4> retried_submit_errors{
  "ESME_RTHROTTLED", "ESME_RMSGQFUL", "ESME_RSYSERR", "ESME_RINVSCHED"};

/// A submit refusal whose command status says more than "the SMSC refused".
struct submit_error_row {
  std::string_view word; ///< the ESME_R… name
  core::category cat;    ///< its category
  std::string_view text; ///< its reason text
};

constexpr std::array<submit_error_row, 6> submit_error_table{{
  {"ESME_RINVDSTADR", core::category::invalid_recipient, "Invalid destination address"},
  {"ESME_RINVDSTTON", core::category::invalid_recipient, "Invalid destination address"},
  {"ESME_RINVDSTNPI", core::category::invalid_recipient, "Invalid destination address"},
  {"ESME_RINVSRCADR", core::category::sender_config, "Invalid source address"},
  {"ESME_RINVSRCTON", core::category::sender_config, "Invalid source address"},
  {"ESME_RINVSRCNPI", core::category::sender_config, "Invalid source address"},
}};

/// True for an SMPP command status name: "ESME_R" and at least one more of [A-Z0-9_] (so that the name is
/// safe to put into a code).
bool is_command_status(std::string_view word) noexcept {
  if (word.size() <= 6 || word.substr(0, 6) != "ESME_R")
    return false;
  return std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

/// Sets the outcome of a level-1 DLR (the SMSC's answer to the submit) carrying command status `word`.
void set_submit_outcome(core::event& e, const std::string& word) {
  if (word == "ESME_ROK" ||
      std::find(retried_submit_errors.begin(), retried_submit_errors.end(), word) != retried_submit_errors.end()) {
    set_outcome(e, core::status::pending, {}, core::category::none, {});
    return;
  }
  // The SMSC refused the submit: the message never left it. By default that is the gateway's or the SMSC's
  // failure (vendor_error); the address errors name the side that is wrong.
  auto cat = core::category::vendor_error;
  std::string_view text = "Submit refused by the SMSC";
  for (const auto& row : submit_error_table)
    if (row.word == word) {
      cat = row.cat;
      text = row.text;
    }
  set_outcome(e, core::status::failed, "carrier:" + word, cat, text);
}

// ---- aggregator -----------------------------------------------------------------------------------------------

/// One row of the aggregator table (docs/vendors.md#carrier-aggregator-result-codes): LG U+-style 4xxx (SMS)
/// and 66xx (LMS/MMS) codes, 9023, and the Alimtalk-family 7000/7305 that some aggregator feeds carry.
struct result_row {
  std::string_view code; ///< four digits
  core::status outcome;  ///< sent, failed or uncertain
  core::category cat;    ///< category of a failure
  std::string_view text; ///< short English text
};

constexpr std::string_view caller_text = "Caller number not pre-registered or blocked";

constexpr std::array<result_row, 38> result_table{{
  {"4100", core::status::sent, core::category::none, "Delivered (SMS)"},
  {"6600", core::status::sent, core::category::none, "Delivered (LMS/MMS)"},
  {"7000", core::status::sent, core::category::none, "Alimtalk delivered"},
  {"9023", core::status::uncertain, core::category::unknown, "Report wait timeout"},
  {"7305", core::status::uncertain, core::category::unknown, "Alimtalk success uncertain"},
  {"4400", core::status::failed, core::category::unreachable, "Shadow area (no coverage)"},
  {"6603", core::status::failed, core::category::unreachable, "Shadow area (no coverage)"},
  {"4401", core::status::failed, core::category::unreachable, "Handset off"},
  {"6604", core::status::failed, core::category::unreachable, "Handset off"},
  {"4402", core::status::failed, core::category::unreachable, "Handset storage full"},
  {"6605", core::status::failed, core::category::unreachable, "Handset storage full"},
  {"4410", core::status::failed, core::category::invalid_recipient, "Wrong number"},
  {"6606", core::status::failed, core::category::invalid_recipient, "Wrong number"},
  {"4414", core::status::failed, core::category::invalid_recipient, "Non-subscriber or suspended number"},
  // The dealers' table lists 6630 both with the wrong numbers and inside the caller-number range 6628-6633. It
  // is the LMS twin of 4414 in the wrong-number row, so it is a recipient problem here and left out of that
  // range (docs/vendors.md#carrier-aggregator-result-codes).
  {"6630", core::status::failed, core::category::invalid_recipient, "Non-subscriber or suspended number"},
  {"4412", core::status::failed, core::category::blocked, "Receipt rejected"},
  {"4423", core::status::failed, core::category::blocked, "Receipt rejected"},
  {"6609", core::status::failed, core::category::blocked, "Receipt rejected"},
  // The carrier's own give-up codes could be taken as uncertain, by policy. Our policy keeps them failed: the
  // carrier stopped trying and does not bill them, and ME09 is kept for "no answer", not "no delivery"
  // (docs/vendors.md#carrier-aggregator-result-codes).
  {"4421", core::status::failed, core::category::unreachable, "Timeout"},
  {"6601", core::status::failed, core::category::unreachable, "Timeout"},
  {"4426", core::status::failed, core::category::unreachable, "Retry limit exceeded"},
  {"4430", core::status::failed, core::category::blocked, "Spam blocked"},
  {"4431", core::status::failed, core::category::blocked, "Spam blocked"},
  {"6617", core::status::failed, core::category::blocked, "Spam blocked"},
  {"6618", core::status::failed, core::category::blocked, "Spam blocked"},
  {"6619", core::status::failed, core::category::blocked, "Spam blocked"},
  {"6627", core::status::failed, core::category::blocked, "Spam blocked"},
  // An 080 opt-out is failed, category opted_out, not excluded: `excluded` takes one of our internal codes
  // (10000-11999), which the pipeline sets when it knows of the opt-out before sending.
  {"6626", core::status::failed, core::category::opted_out, "080 opt-out blocked"},
  {"4432", core::status::failed, core::category::sender_config, caller_text},
  {"4433", core::status::failed, core::category::sender_config, caller_text},
  {"4434", core::status::failed, core::category::sender_config, caller_text},
  {"4435", core::status::failed, core::category::sender_config, caller_text},
  {"4436", core::status::failed, core::category::sender_config, caller_text},
  {"6628", core::status::failed, core::category::sender_config, caller_text},
  {"6629", core::status::failed, core::category::sender_config, caller_text},
  {"6631", core::status::failed, core::category::sender_config, caller_text},
  {"6632", core::status::failed, core::category::sender_config, caller_text},
  {"6633", core::status::failed, core::category::sender_config, caller_text},
}};

/// The text of a string, or the decimal text of an integer; nullopt for anything else or an empty string.
std::optional<std::string> scalar_text(const json& value) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    return text.empty() ? std::nullopt : std::optional<std::string>{text};
  }
  if (value.is_number_unsigned())
    return std::to_string(value.get<std::uint64_t>());
  if (value.is_number_integer())
    return std::to_string(value.get<std::int64_t>());
  return std::nullopt;
}

/// The member `name` of object `item`, or nullptr when absent.
const json* member(const json& item, const char* name) {
  const auto it = item.find(name);
  return it != item.end() ? &*it : nullptr;
}

/// Maps one element of an aggregator array, or says why it cannot be used.
std::variant<mapped_event, std::string> map_report(const json& item) {
  if (!item.is_object())
    return std::string{"the element is not an object"};
  const auto* id_value = member(item, "message_id");
  const auto id = id_value != nullptr ? scalar_text(*id_value) : std::nullopt;
  if (!id)
    return std::string{"the element has no message_id (a non-empty string or an integer)"};
  if (!core::is_printable_utf8(*id))
    return std::string{"the element's message_id holds control characters"};
  const auto* code_value = member(item, "result_code");
  const auto code = code_value != nullptr ? scalar_text(*code_value) : std::nullopt;
  if (!code)
    return std::string{"the element has no result_code"};
  const auto meaning = meaning_of(*code);
  if (!meaning)
    return std::string{"the element's result_code is not four digits"};

  core::event e;
  e.source = core::event_source::webhook;
  // Only RFC 3339 with an offset says when; a zone-less local time would be a guess. Without one the vendor
  // time is unknown (the epoch), never the receipt time, which would let the arrival order decide between two
  // failures (the ledger keeps the receipt time beside it). The original text stays in `raw`.
  e.vendor_time = core::timestamp{};
  if (const auto* done_at = member(item, "done_at"); done_at != nullptr && done_at->is_string())
    if (const auto t = core::parse_rfc3339(done_at->get_ref<const std::string&>()))
      e.vendor_time = *t;
  e.vendor_status = *code;
  e.vendor_code = *code;
  e.dedupe_key = *id + "|" + *code;
  set_outcome(e, meaning->outcome, "carrier:" + *code, meaning->cat, meaning->text);
  return mapped_event{*id, std::move(e), item.dump(-1, ' ', false, json::error_handler_t::replace)};
}

} // namespace

jasmin_result parse_jasmin(const form_params& params, std::string_view raw, const core::zone& zone,
                           [[maybe_unused]] core::timestamp received_at) {
  const auto id = first_value(params, "id");
  if (!id)
    return std::string{"the DLR has no id"};
  // Stored as the message id and the vendor code: a control character there is no carrier's, and would be kept.
  if (!core::is_printable_utf8(*id) || !core::is_printable_utf8(first_value(params, "err").value_or("")))
    return std::string{"the DLR's id or err holds control characters"};
  const auto status = first_value(params, "message_status");
  if (!status)
    return std::string{"the DLR has no message_status"};
  const auto level = first_value(params, "level");
  if (!level || (*level != "1" && *level != "2" && *level != "3"))
    return std::string{"the DLR's level is not 1, 2 or 3"};

  const auto word = to_upper(*status);
  core::event e;
  e.source = core::event_source::webhook;
  // No donedate (a level-1 ack) or one that does not read: the vendor time is unknown (the epoch), not the
  // receipt time, so that two failures are never decided by the order they arrived in.
  e.vendor_time = core::timestamp{};
  if (const auto done = first_value(params, "donedate"))
    if (const auto t = zone.parse_yymmddhhmm(*done))
      e.vendor_time = *t;
  e.vendor_status = std::string{*status};
  e.vendor_code = std::string{first_value(params, "err").value_or("")};
  // Upper-cased so that a resend spelled differently is still the same event.
  e.dedupe_key = std::string{*id} + "|" + std::string{*level} + "|" + word;

  // The word decides, not the level: Jasmin's documentation says `level` echoes the level requested (3 for
  // both), while its code sends 1 with the submit ack (ESME_…) and 2 with the SMSC receipt (a stat word).
  if (is_command_status(word)) {
    set_submit_outcome(e, word);
  } else if (const auto* row = find_stat(word)) {
    set_outcome(e, row->outcome, "carrier:" + word, row->cat, row->text);
  } else {
    return std::string{"the DLR's message_status is neither an SMPP stat word nor an ESME_ command status"};
  }
  return mapped_event{std::string{*id}, std::move(e), std::string{raw}};
}

std::optional<result_meaning> meaning_of(std::string_view code) noexcept {
  if (code.size() != 4 || !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  for (const auto& row : result_table)
    if (row.code == code)
      return result_meaning{row.outcome,
                            row.outcome == core::status::uncertain ? uncertain_category() : row.cat, row.text};
  return result_meaning{core::status::failed, core::category::unknown, {}};
}

aggregator_result parse_aggregator(std::string_view body, [[maybe_unused]] core::timestamp received_at) {
  if (auto problem = find_json_text_problem(body))
    return describe(*problem, "the body");
  const auto doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded())
    return std::string{"the body is not valid JSON"};
  if (!doc.is_array())
    return std::string{"the body is not a JSON array"};
  mapped_batch batch;
  batch.events.reserve(doc.size());
  std::size_t index = 0;
  for (const auto& item : doc) {
    auto mapped = map_report(item);
    if (auto* event = std::get_if<mapped_event>(&mapped))
      batch.events.push_back(std::move(*event));
    else
      batch.unusable.push_back(unusable_item{index, std::move(std::get<std::string>(mapped))});
    ++index;
  }
  return batch;
}

} // namespace deliveryd::adapters::carrier
