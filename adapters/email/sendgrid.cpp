/// Twilio SendGrid Event Webhook (docs/vendors.md#sendgrid): ECDSA P-256 verification with OpenSSL 3's EVP
/// interface, and the JSON array of events mapped onto the contract's events.

#include "adapters/email/sendgrid.hpp"
#include "adapters/json_guard.hpp"
#include "core/text.hpp"
#include "core/utf8.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

namespace deliveryd::adapters::email {

namespace {

// ---- base64 and numbers -------------------------------------------------------------------------------------

/// The value of a character of the standard base64 alphabet, or -1.
int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/// Decodes canonical padded base64 (RFC 4648 §4): length a multiple of 4, '=' only at the end, unused bits zero.
/// Canonical only, so that two different header texts never decode to the same signature bytes.
std::optional<std::vector<unsigned char>> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=')
    ++padding;
  std::vector<unsigned char> out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : text.substr(0, text.size() - padding)) {
    const int value = base64_value(c);
    if (value < 0)
      return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<unsigned char>((bits >> bit_count) & 0xFFu));
    }
  }
  if ((bits & ((1u << bit_count) - 1u)) != 0) // leftover bits of the last character must be zero
    return std::nullopt;
  return out;
}

using core::trim;

/// The latest unix second we accept (9999-12-31T23:59:59Z): keeps every later millisecond sum in range.
constexpr std::int64_t max_unix_seconds = 253'402'300'799;

/// The instant of a unix-seconds value, nullopt outside 1..max_unix_seconds.
std::optional<core::timestamp> from_unix_seconds(std::int64_t seconds) noexcept {
  if (seconds <= 0 || seconds > max_unix_seconds)
    return std::nullopt;
  return core::from_millis(seconds * 1000);
}

/// The instant of a timestamp header: ASCII digits only (no sign, no space, no fraction).
std::optional<core::timestamp> parse_unix_seconds(std::string_view digits) noexcept {
  if (digits.empty() || digits.front() < '0' || digits.front() > '9')
    return std::nullopt;
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
  if (ec != std::errc{} || end != digits.data() + digits.size())
    return std::nullopt;
  return from_unix_seconds(seconds);
}

// ---- OpenSSL ------------------------------------------------------------------------------------------------

/// True when `key` is an EC key on the named curve P-256 (prime256v1, secp256r1).
bool is_p256(const EVP_PKEY* key) noexcept {
  if (EVP_PKEY_is_a(key, "EC") != 1)
    return false;
  std::array<char, 80> name{};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &length) != 1)
    return false; // explicit curve parameters: refused, SendGrid uses the named curve
  return OBJ_txt2nid(name.data()) == NID_X9_62_prime256v1 || EC_curve_nist2nid(name.data()) == NID_X9_62_prime256v1;
}

/// True when `signature` (DER) is a valid ECDSA/SHA-256 signature of `timestamp + body` under `key`.
bool ecdsa_verifies(EVP_PKEY* key, const std::vector<unsigned char>& signature, std::string_view timestamp,
                    std::string_view body) noexcept {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  // Fed in two parts: the signed bytes are the header text followed by the raw body, never a copy of both.
  const bool ok = ctx != nullptr &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerifyUpdate(ctx.get(), timestamp.data(), timestamp.size()) == 1 &&
                  (body.empty() || EVP_DigestVerifyUpdate(ctx.get(), body.data(), body.size()) == 1) &&
                  EVP_DigestVerifyFinal(ctx.get(), signature.data(), signature.size()) == 1;
  ERR_clear_error(); // a refused signature leaves errors on this thread's queue: do not leak them to the next call
  return ok;
}

// ---- events -------------------------------------------------------------------------------------------------

using json = nlohmann::ordered_json; // keeps the vendor's key order in `raw`

/// What a SendGrid event word means for a send.
enum class event_kind {
  pending,        ///< processed (accepted by SendGrid), deferred (a temporary 4xx; SendGrid retries)
  sent,           ///< delivered; open and click too: engagement proves delivery (and upgrades uncertain)
  bounce,         ///< the receiving server refused it (type bounce or blocked)
  dropped,        ///< SendGrid did not send it (suppression list, invalid address, …)
  post_delivery,  ///< spamreport, unsubscribe, group_(un|re)subscribe: nothing about the send's outcome
};

/// One event word of the Event Webhook reference.
struct event_row {
  std::string_view word; ///< as SendGrid sends it
  event_kind kind;       ///< what it means here
};

constexpr std::array<event_row, 11> event_table{{
  {"processed", event_kind::pending},
  {"deferred", event_kind::pending},
  {"delivered", event_kind::sent},
  {"open", event_kind::sent},
  {"click", event_kind::sent},
  {"bounce", event_kind::bounce},
  {"dropped", event_kind::dropped},
  {"spamreport", event_kind::post_delivery},
  {"unsubscribe", event_kind::post_delivery},
  {"group_unsubscribe", event_kind::post_delivery},
  {"group_resubscribe", event_kind::post_delivery},
}};

/// The meaning of an event word; nullopt for a word SendGrid does not document (matched exactly).
std::optional<event_kind> kind_of(std::string_view word) noexcept {
  for (const auto& row : event_table)
    if (row.word == word)
      return row.kind;
  return std::nullopt;
}

/// The value of a string member, or nullopt when it is absent or not a string.
std::optional<std::string_view> string_member(const json& item, std::string_view name) {
  const auto it = item.find(name);
  if (it == item.end() || !it->is_string())
    return std::nullopt;
  return std::string_view{it->get_ref<const json::string_t&>()};
}

/// The event's `timestamp` (integer unix seconds), or nullopt.
std::optional<core::timestamp> event_time(const json& item) {
  const auto it = item.find("timestamp");
  if (it == item.end() || !it->is_number_integer())
    return std::nullopt;
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max_unix_seconds))
    return std::nullopt;
  return from_unix_seconds(it->get<std::int64_t>());
}

/// Makes `e` a failure with `code` (not in the code table, so the reason is the vendor's text or the category's).
void set_failure(core::event& e, std::string code, core::category cat, std::string_view vendor_text) {
  e.outcome = core::status::failed;
  e.code = std::move(code);
  e.cat = cat;
  e.reason = core::reason_for(e.outcome, e.code, vendor_text, cat);
}

/// Sets the outcome, and for failures code, category and reason, of an event of `kind`.
void set_outcome(core::event& e, event_kind kind, const json& item) {
  // The vendor's `reason` may name the address: it is stored with the event, never logged.
  const auto reason = string_member(item, "reason").value_or("");
  switch (kind) {
    case event_kind::pending:
    case event_kind::post_delivery:
      e.outcome = core::status::pending;
      return;
    case event_kind::sent:
      e.outcome = core::status::sent;
      return;
    case event_kind::bounce: {
      const bool blocked = string_member(item, "type").value_or("") == "blocked";
      const auto cat = bounce_category(string_member(item, "bounce_classification").value_or(""), e.vendor_code);
      set_failure(e, blocked ? "email:blocked" : "email:bounce", cat, reason);
      return;
    }
    case event_kind::dropped:
      set_failure(e, "email:dropped", dropped_category(reason), reason);
      return;
  }
}

/// Why an element's texts cannot be stored (ids, status and reason become keys, codes and reasons of the day log
/// and exports), or nullopt: ids and the status must be printable, the reason may also break lines; a NUL or
/// another control character would be stored as sent, and is no text SendGrid writes.
std::optional<std::string_view> unstorable_text(const json& item, std::string_view sg_message_id,
                                                std::string_view sg_event_id) {
  if (!core::is_printable_utf8(sg_message_id) || !core::is_printable_utf8(sg_event_id))
    return "the item's sg_message_id or sg_event_id holds control characters";
  if (!core::is_printable_utf8(string_member(item, "status").value_or("")))
    return "the item's status holds control characters";
  if (!core::is_printable_utf8(string_member(item, "reason").value_or(""), /*line_breaks=*/true))
    return "the item's reason holds control characters other than tabs and line breaks";
  return std::nullopt;
}

/// A usable element that carries nothing to record.
struct ignored_element {};

/// What one element of the array gives: an event, nothing to record, or why it is unusable (a sentence that
/// never names the address).
using element_result = std::variant<mapped_event, ignored_element, std::string_view>;

/// Maps one array element.
element_result map_element(const json& item, core::timestamp received_at) {
  if (!item.is_object())
    return std::string_view{"the item is not a JSON object"};
  const auto word = string_member(item, "event");
  if (!word || word->empty())
    return std::string_view{"the item has no event word"};
  const auto kind = kind_of(*word);
  if (!kind)
    return std::string_view{"the item's event is not a word SendGrid documents"};
  if (*kind == event_kind::post_delivery)
    return ignored_element{}; // checked before the ids: nothing of it is used
  const auto sg_message_id = string_member(item, "sg_message_id");
  if (!sg_message_id || sg_message_id->empty())
    return std::string_view{"the item has no sg_message_id"};
  const auto message_id = message_id_of(*sg_message_id);
  if (message_id.empty())
    return std::string_view{"the item's sg_message_id has nothing before its first '.'"};
  const auto sg_event_id = string_member(item, "sg_event_id");
  if (!sg_event_id || sg_event_id->empty())
    return std::string_view{"the item has no sg_event_id"};
  if (auto why = unstorable_text(item, *sg_message_id, *sg_event_id))
    return *why;

  mapped_event out;
  out.vendor_message_id = std::string{message_id};
  out.raw = item.dump(-1, ' ', false, json::error_handler_t::replace);
  out.event.source = core::event_source::webhook;
  out.event.vendor_time = event_time(item).value_or(received_at);
  out.event.vendor_status = std::string{*word};
  out.event.vendor_code = std::string{string_member(item, "status").value_or("")};
  out.event.dedupe_key = std::string{*sg_event_id};
  set_outcome(out.event, *kind, item);
  return out;
}

/// One documented value of `bounce_classification`.
struct classification_row {
  std::string_view text; ///< as SendGrid sends it
  core::category cat;    ///< where it sits in the taxonomy
};

constexpr std::array<classification_row, 7> classification_table{{
  {"Invalid Address", core::category::invalid_recipient},
  {"Mailbox Unavailable", core::category::unreachable},
  {"Technical", core::category::vendor_error},
  {"Content", core::category::content_rejected},
  {"Reputation", core::category::blocked},
  {"Frequency/Volume", core::category::blocked},
  {"Unclassified", core::category::unknown},
}};

} // namespace

// ---- key and signature --------------------------------------------------------------------------------------

std::string_view describe(key_error e) noexcept {
  switch (e) {
    case key_error::not_base64:
      return "the SendGrid verification key is not base64";
    case key_error::not_a_public_key:
      return "the SendGrid verification key is not a DER SubjectPublicKeyInfo public key";
    case key_error::not_p256:
      return "the SendGrid verification key is not an EC key on the curve P-256";
  }
  return "unknown key error";
}

std::string_view describe(verdict v) noexcept {
  switch (v) {
    case verdict::ok:
      return "the signature is valid";
    case verdict::missing:
      return "the signature or timestamp header is missing";
    case verdict::bad_signature:
      return "the signature does not match the timestamp and body";
    case verdict::stale_timestamp:
      return "the signature timestamp is malformed or outside the allowed window";
    case verdict::bad_key:
      return "no usable SendGrid verification key is configured";
  }
  return "unknown verdict";
}

std::variant<verification_key, key_error> load_key(std::string_view base64_der) {
  const auto der = decode_base64(trim(base64_der));
  if (!der)
    return key_error::not_base64;
  const unsigned char* cursor = der->data();
  EVP_PKEY* parsed = d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der->size()));
  if (parsed == nullptr) {
    ERR_clear_error();
    return key_error::not_a_public_key;
  }
  std::shared_ptr<evp_pkey_st> key{parsed, EVP_PKEY_free};
  if (cursor != der->data() + der->size())
    return key_error::not_a_public_key; // trailing bytes: not exactly one structure
  if (!is_p256(parsed)) {
    ERR_clear_error();
    return key_error::not_p256;
  }
  return verification_key{std::move(key)};
}

verdict verify(const verification_key& key, std::string_view signature, std::string_view timestamp,
               std::string_view body, core::timestamp now, std::chrono::milliseconds max_skew) {
  if (!key.loaded())
    return verdict::bad_key;
  if (signature.empty() || timestamp.empty())
    return verdict::missing;
  const auto signed_at = parse_unix_seconds(timestamp);
  if (!signed_at)
    return verdict::stale_timestamp;
  const auto skew = now - *signed_at;
  if (skew > max_skew || skew < -max_skew)
    return verdict::stale_timestamp;
  const auto der = decode_base64(signature);
  if (!der || der->empty())
    return verdict::bad_signature;
  return ecdsa_verifies(key.key_.get(), *der, timestamp, body) ? verdict::ok : verdict::bad_signature;
}

// ---- events -------------------------------------------------------------------------------------------------

std::variant<mapped_batch, parse_error> parse_events(std::string_view body, core::timestamp received_at) {
  if (auto problem = find_json_text_problem(body))
    return parse_error{400, "malformed", describe(*problem, "the body")};
  const auto document = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded())
    return parse_error{400, "malformed", "the body is not valid JSON"};
  if (!document.is_array())
    return parse_error{400, "malformed", "the body is not a JSON array of events"};
  mapped_batch batch;
  batch.events.reserve(document.size());
  for (std::size_t index = 0; index < document.size(); ++index) {
    auto result = map_element(document[index], received_at);
    if (auto* event = std::get_if<mapped_event>(&result))
      batch.events.push_back(std::move(*event));
    else if (auto* why = std::get_if<std::string_view>(&result))
      batch.unusable.push_back({index, std::string{*why}});
    else
      ++batch.ignored;
  }
  return batch;
}

std::string_view message_id_of(std::string_view sg_message_id) noexcept {
  return sg_message_id.substr(0, sg_message_id.find('.'));
}

core::category bounce_category(std::string_view classification, std::string_view enhanced_status) noexcept {
  for (const auto& row : classification_table)
    if (row.text == classification)
      return row.cat;
  if (enhanced_status.starts_with("5.1."))
    return core::category::invalid_recipient; // bad destination mailbox or system address
  if (enhanced_status.starts_with("5.2."))
    return core::category::unreachable; // mailbox disabled, full, or not accepting
  if (enhanced_status.starts_with("5.7."))
    return core::category::blocked; // security or policy
  return core::category::unknown;
}

core::category dropped_category(std::string_view reason) noexcept {
  // The suppression rule: a message SendGrid drops because the address is on one of its suppression lists stays
  // `failed` with code email:dropped. `excluded` is reserved for our internal codes 10000-11999, decided before a
  // vendor is asked; a vendor-side suppression is the vendor's answer, so only the category tells it apart. The
  // same rule as Twilio 21610. SendGrid's documented drop reasons decide the category.
  if (reason == "Unsubscribed Address" || reason == "Spam Reporting Address")
    return core::category::opted_out;
  if (reason == "Invalid SMTPAPI header")
    return core::category::sender_config; // our request was malformed, the recipient is not at fault
  if (reason == "Bounced Address" || reason.starts_with("Invalid"))
    return core::category::invalid_recipient;
  if (reason.starts_with("Spam Content"))
    return core::category::content_rejected; // SendGrid's spam checker app filtered the content
  return core::category::blocked; // quota, duplicates, anything undocumented: SendGrid refused to send
}

} // namespace deliveryd::adapters::email
