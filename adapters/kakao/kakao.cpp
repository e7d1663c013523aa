/// Kakao Alimtalk through a dealer (docs/vendors.md#kakao): NCP signature v2, the SENS result path and poll
/// answer, pushed results, and Kakao's result codes mapped onto the contract's events.

#include "adapters/kakao/kakao.hpp"
#include "adapters/crypto.hpp"

#include <array>
#include <string>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "adapters/json_guard.hpp"
#include "adapters/url.hpp"
#include "core/codes.hpp"
#include "core/utf8.hpp"

namespace deliveryd::adapters::kakao {

namespace {

using json = nlohmann::json;

// A result without a readable time has an unknown vendor time (the epoch), as a Twilio callback does: the
// receipt time (the ledger keeps it as the history's time) must not decide between two failures, or the
// outcome would depend on the order of arrival.
constexpr core::timestamp unknown_time{};

/// One Kakao result code we know.
struct code_row {
  std::string_view code; ///< Kakao's code, four digits
  core::category cat;    ///< where it sits in the taxonomy
  std::string_view text; ///< a short English text
};

// 10xx numbers and names follow Kakao's Bizmessage code list as NHN Cloud and Kakao i Connect publish it
// (docs/vendors.md#kakao-result-codes lists them); the rest of the 1001-1030 family gets the family text.
constexpr std::array<code_row, 20> code_table{{
  {"1003", core::category::sender_config, "Invalid sender key"},
  {"1006", core::category::sender_config, "Deleted sender"},
  {"1007", core::category::sender_config, "Stopped sender"},
  {"1021", core::category::sender_config, "Blocked sender profile"},
  {"1022", core::category::sender_config, "Deactivated sender profile"},
  {"1023", core::category::sender_config, "Deleted sender profile"},
  {"1024", core::category::sender_config, "Sender profile being deleted"},
  {"1025", core::category::sender_config, "Sender profile blocked as spam"},
  {"1030", core::category::sender_config, "Invalid request parameter"},
  {"3005", core::category::unknown, "Sent, but no receipt from the device"},
  {"3008", core::category::invalid_recipient, "Invalid phone number"},
  // Kakao's guide limits the body to 1,000 characters and refuses a longer one with 3014
  // (docs/vendors.md#kakao-result-codes).
  {"3014", core::category::content_rejected, "Message too long"},
  // A missing template is our configuration (templates are registered per sender profile), not the content.
  {"3015", core::category::sender_config, "Template not found"},
  {"3016", core::category::content_rejected, "Content does not match the template"},
  {"3018", core::category::unreachable, "Not a KakaoTalk user or inactive"},
  {"3019", core::category::invalid_recipient, "Not a KakaoTalk user"},
  {"3020", core::category::blocked, "Recipient blocked Alimtalk"},
  {"3021", core::category::unreachable, "KakaoTalk version not supported"},
  {"3022", core::category::blocked, "Outside the allowed sending hours"},
  {"7305", core::category::unknown, "Sent, but no receipt from the device"},
}};

constexpr std::string_view sender_family_text = "Sender profile, channel or contract problem";

/// The code without the "KKO_" prefix Kakao i Connect puts in front of Kakao's codes.
std::string_view bare(std::string_view code) noexcept {
  constexpr std::string_view prefix = "KKO_";
  return code.starts_with(prefix) ? code.substr(prefix.size()) : code;
}

/// The row of a code, or nullptr.
const code_row* find_row(std::string_view code) noexcept {
  for (const auto& row : code_table)
    if (row.code == code)
      return &row;
  return nullptr;
}

/// True for the sender/channel/contract family 1001-1030.
bool in_sender_family(std::string_view code) noexcept {
  if (code.size() != 4 || code.substr(0, 2) != "10")
    return false;
  for (const char c : code)
    if (c < '0' || c > '9')
      return false;
  const int n = (code[2] - '0') * 10 + (code[3] - '0');
  return n >= 1 && n <= 30;
}

/// Reads exactly `count` ASCII digits at `pos`.
std::optional<int> digits_at(std::string_view text, std::size_t pos, std::size_t count) noexcept {
  if (pos + count > text.size())
    return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

/// How a code field of a JSON object reads.
enum class field_state { absent, present, wrong_type };

/// Reads a string field: absent, null and "" are absent; a string is present; anything else is wrong_type.
field_state read_string(const json& object, const char* name, std::string& out) {
  out.clear();
  const auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return field_state::absent;
  if (!it->is_string())
    return field_state::wrong_type;
  out = it->get<std::string>();
  return out.empty() ? field_state::absent : field_state::present;
}

/// A text field of a JSON object; "" when absent or not a string (texts never refuse an answer).
std::string text_field(const json& object, const char* name) {
  std::string out;
  return read_string(object, name, out) == field_state::present ? out : std::string{};
}

/// The first non-empty of two strings.
const std::string& first_of(const std::string& a, const std::string& b) noexcept { return a.empty() ? b : a; }

/// The event of a poll answer, or why it cannot be used. `code` receives the deciding raw code.
std::variant<core::event, bad_body> poll_event(const json& doc, std::string& code) {
  std::string message_code;
  std::string request_code;
  const auto message_state = read_string(doc, "messageStatusCode", message_code);
  const auto request_state = read_string(doc, "requestStatusCode", request_code);
  if (message_state == field_state::wrong_type || request_state == field_state::wrong_type)
    return bad_body{"the poll answer's messageStatusCode or requestStatusCode is not a string"};
  const std::string message_name = text_field(doc, "messageStatusName");
  const std::string request_name = text_field(doc, "requestStatusName");
  core::event e;
  if (message_state == field_state::present) {
    code = message_code;
    e = event_of_code(message_code, text_field(doc, "messageStatusDesc"));
  } else if (request_code == "A000") {
    // Accepted by the dealer, no Kakao result yet: never sent (contract, "Rules of reconciliation").
    code = request_code;
  } else if (request_state == field_state::present) {
    // The dealer refused the request itself: no message will go out.
    code = request_code;
    e.outcome = core::status::failed;
    e.code = "kakao:" + request_code;
    e.cat = core::category::vendor_error;
    e.reason = core::reason_for(e.outcome, e.code, text_field(doc, "requestStatusDesc"), e.cat);
  } else {
    return bad_body{"the poll answer has neither messageStatusCode nor requestStatusCode"};
  }
  e.vendor_status = first_of(message_name, request_name);
  e.vendor_code = code;
  return e;
}

/// The event of one pushed element, or why it is unusable.
std::variant<mapped_event, std::string> push_event(const json& item, const core::zone& zone) {
  if (!item.is_object())
    return std::string{"the element is not a JSON object"};
  std::string message_id;
  std::string result_code;
  if (read_string(item, "message_id", message_id) != field_state::present)
    return std::string{"the element has no message_id string"};
  if (read_string(item, "result_code", result_code) != field_state::present)
    return std::string{"the element has no result_code string"};
  if (!core::is_printable_utf8(message_id) || !core::is_printable_utf8(result_code))
    return std::string{"the element's message_id or result_code holds control characters"};
  mapped_event out;
  out.vendor_message_id = message_id;
  out.event = event_of_code(result_code, {});
  out.event.source = core::event_source::webhook;
  out.event.vendor_code = result_code;
  const std::string done_at = text_field(item, "done_at");
  out.event.vendor_time = parse_local_time(done_at, zone).value_or(unknown_time);
  out.event.dedupe_key = "push|" + message_id + "|" + result_code;
  out.raw = item.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

} // namespace

std::string signing_string(std::string_view method, std::string_view path_with_query,
                           std::string_view timestamp_ms, std::string_view access_key) {
  std::string out;
  out.reserve(method.size() + path_with_query.size() + timestamp_ms.size() + access_key.size() + 3);
  out.append(method).append(" ").append(path_with_query).append("\n");
  out.append(timestamp_ms).append("\n").append(access_key);
  return out;
}

std::string signature_v2(std::string_view secret_key, std::string_view method, std::string_view path_with_query,
                         std::string_view timestamp_ms, std::string_view access_key) {
  return hmac_base64(digest::sha256, secret_key,
                     signing_string(method, path_with_query, timestamp_ms, access_key));
}

signed_headers sign_request(std::string_view method, std::string_view path_with_query, core::timestamp now,
                            std::string_view access_key, std::string_view secret_key) {
  signed_headers h;
  h.timestamp = std::to_string(core::to_millis(now));
  h.access_key = std::string{access_key};
  h.signature = signature_v2(secret_key, method, path_with_query, h.timestamp, access_key);
  return h;
}

std::string result_path(std::string_view service_id, std::string_view message_id) {
  return "/alimtalk/v2/services/" + encode_path_segment(service_id) + "/messages/" +
         encode_path_segment(message_id);
}

code_kind kind_of(std::string_view code) noexcept {
  const auto c = bare(code);
  if (c == "0000" || c == "OK" || c == "7000")
    return code_kind::delivered;
  if (c == "3005" || c == "7305" || c == "ME09")
    return code_kind::uncertain;
  return code_kind::failed;
}

core::category category_of(std::string_view code) noexcept {
  const auto c = bare(code);
  if (kind_of(c) == code_kind::delivered)
    return core::category::none;
  if (const auto* row = find_row(c))
    return row->cat;
  return in_sender_family(c) ? core::category::sender_config : core::category::unknown;
}

std::string_view code_text(std::string_view code) noexcept {
  const auto c = bare(code);
  if (const auto* row = find_row(c))
    return row->text;
  return in_sender_family(c) ? sender_family_text : std::string_view{};
}

core::event event_of_code(std::string_view code, std::string_view vendor_text) {
  core::event e;
  e.vendor_code = std::string{code};
  switch (kind_of(code)) {
    case code_kind::delivered:
      e.outcome = core::status::sent;
      return e;
    case code_kind::uncertain: {
      // Kakao's "success uncertain": the user may still get it (3 days); a later 0000 corrects it.
      e.outcome = core::status::uncertain;
      e.code = std::string{core::uncertain_code};
      const auto* info = core::find_code(core::uncertain_code);
      e.cat = info != nullptr ? info->cat : core::category::unknown;
      e.reason = core::reason_for(e.outcome, e.code, vendor_text, e.cat);
      return e;
    }
    case code_kind::failed:
      break;
  }
  e.outcome = core::status::failed;
  e.code = "kakao:" + std::string{code};
  e.cat = category_of(code);
  e.reason = core::reason_for(e.outcome, e.code, vendor_text.empty() ? code_text(code) : vendor_text, e.cat);
  return e;
}

std::optional<core::timestamp> parse_local_time(std::string_view text, const core::zone& zone) noexcept {
  if (const auto with_offset = core::parse_rfc3339(text))
    return with_offset;
  // "yyyy-MM-dd HH:mm:ss" (older SENS guides) or "yyyy-MM-ddTHH:mm:ss" (current ones), optional ".sss".
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || (text[10] != ' ' && text[10] != 'T') ||
      text[13] != ':' || text[16] != ':')
    return std::nullopt;
  const auto year = digits_at(text, 0, 4);
  const auto second = digits_at(text, 17, 2);
  if (!year || !second || *year < 2000 || *year > 2099 || *second > 59)
    return std::nullopt;
  std::int64_t millis = 0;
  if (text.size() > 19) {
    if (text[19] != '.' || text.size() == 20)
      return std::nullopt;
    int scale = 100;
    for (std::size_t i = 20; i < text.size(); ++i, scale /= 10) {
      if (text[i] < '0' || text[i] > '9')
        return std::nullopt;
      millis += (text[i] - '0') * scale; // digits past the third add 0: truncation
    }
  }
  // The zone reads minutes ("YYMMDDhhmm", DST gaps refused); SENS times are all in this century.
  const std::array<char, 10> minutes{text[2],  text[3],  text[5],  text[6],  text[8],
                                     text[9],  text[11], text[12], text[14], text[15]};
  const auto at = zone.parse_yymmddhhmm(std::string_view{minutes.data(), minutes.size()});
  if (!at)
    return std::nullopt;
  return *at + std::chrono::seconds{*second} + std::chrono::milliseconds{millis};
}

std::variant<poll_result, bad_body> parse_poll_response(std::string_view body, const core::zone& zone,
                                                        [[maybe_unused]] core::timestamp received_at) {
  if (auto problem = find_json_text_problem(body)) // the body is stored as `raw`: never past a NUL, always UTF-8
    return bad_body{describe(*problem, "the poll answer")};
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded())
    return bad_body{"the poll answer is not JSON"};
  if (!doc.is_object())
    return bad_body{"the poll answer is not a JSON object"};
  std::string message_id;
  if (read_string(doc, "messageId", message_id) != field_state::present)
    return bad_body{"the poll answer has no messageId string"};
  std::string code;
  auto mapped = poll_event(doc, code);
  if (auto* bad = std::get_if<bad_body>(&mapped))
    return std::move(*bad);
  poll_result out;
  out.result.vendor_message_id = message_id;
  out.result.event = std::move(std::get<core::event>(mapped));
  out.result.event.source = core::event_source::poll;
  out.result.event.vendor_time = parse_local_time(text_field(doc, "completeTime"), zone).value_or(unknown_time);
  out.result.event.dedupe_key = "poll|" + message_id + "|" + code;
  out.result.raw = std::string{body};
  const auto outcome = out.result.event.outcome;
  out.is_final = outcome == core::status::sent || outcome == core::status::failed;
  return out;
}

std::variant<mapped_batch, bad_body> parse_push(std::string_view body, const core::zone& zone,
                                                [[maybe_unused]] core::timestamp received_at) {
  if (auto problem = find_json_text_problem(body))
    return bad_body{describe(*problem, "the push body")};
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded())
    return bad_body{"the push body is not JSON"};
  if (!doc.is_array())
    return bad_body{"the push body is not a JSON array"};
  mapped_batch batch;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    auto item = push_event(doc[i], zone);
    if (auto* reason = std::get_if<std::string>(&item))
      batch.unusable.push_back(unusable_item{i, std::move(*reason)});
    else
      batch.events.push_back(std::move(std::get<mapped_event>(item)));
  }
  return batch;
}

} // namespace deliveryd::adapters::kakao
