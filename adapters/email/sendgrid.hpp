#pragma once
/// Twilio SendGrid Event Webhook (docs/vendors.md#sendgrid): the ECDSA signature over timestamp + raw body, and
/// the JSON array of events mapped onto the contract. Pure: bytes and values in, values out; time is an
/// argument.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "adapters/common.hpp"
#include "core/time.hpp"
#include "core/words.hpp"

struct evp_pkey_st; // OpenSSL's EVP_PKEY, kept out of this header

namespace deliveryd::adapters::email {

/// The header that carries the base64 DER ECDSA signature.
inline constexpr std::string_view signature_header = "X-Twilio-Email-Event-Webhook-Signature";
/// The header that carries the unix-seconds timestamp that is signed in front of the body.
inline constexpr std::string_view timestamp_header = "X-Twilio-Email-Event-Webhook-Timestamp";

// ---- the verification key and the signature -----------------------------------------------------------------

/// Why a configured verification key was refused.
enum class key_error {
  not_base64,       ///< not standard base64 (surrounding white space is allowed)
  not_a_public_key, ///< the bytes are not one DER SubjectPublicKeyInfo
  not_p256,         ///< a public key, but not an EC key on the named curve P-256
};

/// A sentence for a person about a key error (names no key material).
std::string_view describe(key_error e) noexcept;

/// What checking a request's signature found.
enum class verdict {
  ok,              ///< the signature covers timestamp + body and the timestamp is fresh
  missing,         ///< the signature or the timestamp header is absent or empty
  bad_signature,   ///< not base64, not a DER ECDSA signature, or it does not verify
  stale_timestamp, ///< the timestamp is not unix seconds as digits, or further than max_skew from now
  bad_key,         ///< the key is not loaded (a configuration error, not the sender's)
};

/// A sentence for a person about a verdict.
std::string_view describe(verdict v) noexcept;

/// The webhook's public key, parsed once (see `load_key`). Cheap to copy: copies share one immutable OpenSSL key,
/// which is freed with the last copy. A default-constructed key holds nothing and verifies nothing.
class verification_key {
public:
  /// An empty key: `verify` answers `bad_key` with it.
  verification_key() noexcept = default;

  /// True when the key holds a parsed P-256 public key.
  bool loaded() const noexcept { return key_ != nullptr; }

private:
  friend std::variant<verification_key, key_error> load_key(std::string_view base64_der);
  friend verdict verify(const verification_key& key, std::string_view signature, std::string_view timestamp,
                        std::string_view body, core::timestamp now, std::chrono::milliseconds max_skew);
  explicit verification_key(std::shared_ptr<evp_pkey_st> key) noexcept : key_{std::move(key)} {}
  std::shared_ptr<evp_pkey_st> key_;
};

/// Parses the key from the webhook settings: base64 of a DER SubjectPublicKeyInfo (not PEM) holding an EC key on
/// P-256. White space around the text is ignored; anything after the DER structure is refused.
std::variant<verification_key, key_error> load_key(std::string_view base64_der);

/// Checks ECDSA P-256 / SHA-256 over `timestamp + body`, exactly as received (never re-serialised). The header
/// values are taken as given: the caller passes "" for an absent header. Checks, in order: the key, both headers
/// present, the timestamp within `max_skew` of `now` (either way, the bound included), then the signature.
verdict verify(const verification_key& key, std::string_view signature, std::string_view timestamp,
               std::string_view body, core::timestamp now, std::chrono::milliseconds max_skew);

// ---- the events ---------------------------------------------------------------------------------------------

/// Why a whole body was refused (answered 400; nothing of it is applied).
struct parse_error {
  int http_status = 400;           ///< always 400: the body is malformed
  std::string error = "malformed"; ///< the machine word of the error answer
  std::string detail;              ///< a sentence for a person, never a contact
};

/// Parses a webhook body (a JSON array of events) and maps each element on its own. A body that is not UTF-8,
/// holds a NUL byte or nests deeper than adapters::max_json_depth is refused before parsing. An element that is
/// not an object, has no usable `sg_message_id` or `sg_event_id`, has a missing or unknown `event`, or whose ids
/// or `status` hold control characters (its `reason` any but tab and line breaks) is an unusable item;
/// spamreport, unsubscribe, group_unsubscribe and group_resubscribe are counted as ignored (they come after
/// delivery and need no ids). For every other event: vendor_message_id is `sg_message_id` before its
/// first '.', dedupe_key is `sg_event_id`, vendor_time is `timestamp` (unix seconds) or else `received_at`,
/// vendor_status is the event word, vendor_code is `status` (e.g. "5.1.1") or "", raw is the element as JSON.
/// Mapping: processed, deferred -> pending; delivered, open, click -> sent; bounce -> failed `email:bounce`
/// (`email:blocked` for type blocked); dropped -> failed `email:dropped` (see `dropped_category`).
std::variant<mapped_batch, parse_error> parse_events(std::string_view body, core::timestamp received_at);

/// The id the send was registered with: `sg_message_id` up to its first '.' (all of it when it has none).
std::string_view message_id_of(std::string_view sg_message_id) noexcept;

/// The category of a bounce: from `bounce_classification` when it is one SendGrid documents, else from the
/// enhanced status code (5.1.x invalid_recipient, 5.2.x unreachable, 5.7.x blocked), else unknown.
core::category bounce_category(std::string_view classification, std::string_view enhanced_status) noexcept;

/// The category of a dropped message from its `reason`. Suppressions stay failures (see the .cpp): opted_out for
/// "Unsubscribed Address" and "Spam Reporting Address"; invalid_recipient for "Bounced Address" and reasons
/// starting with "Invalid" (but "Invalid SMTPAPI header", ours: sender_config); content_rejected for
/// "Spam Content…"; blocked for anything else.
core::category dropped_category(std::string_view reason) noexcept;

} // namespace deliveryd::adapters::email
