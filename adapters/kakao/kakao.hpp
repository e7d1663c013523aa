#pragma once
/// Kakao Alimtalk through a dealer (docs/vendors.md#kakao): NAVER Cloud SENS request signing and result path, the
/// SENS message-result poll answer, the pushed results of `POST /webhooks/kakao`, and Kakao's result codes
/// mapped onto the contract. Pure: bytes and values in, values out.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "adapters/common.hpp"
#include "core/time.hpp"
#include "core/words.hpp"

namespace deliveryd::adapters::kakao {

// ---- NAVER Cloud API Gateway signature (docs/vendors.md#kakao-api-gateway-signature) --------------------------

/// The string NCP signs: METHOD + " " + path?query + "\n" + timestamp + "\n" + access key.
std::string signing_string(std::string_view method, std::string_view path_with_query,
                           std::string_view timestamp_ms, std::string_view access_key);

/// base64(HMAC-SHA256(secret_key, signing_string(…))): the value of `x-ncp-apigw-signature-v2`.
std::string signature_v2(std::string_view secret_key, std::string_view method, std::string_view path_with_query,
                         std::string_view timestamp_ms, std::string_view access_key);

/// The three authentication headers of one SENS request.
struct signed_headers {
  std::string timestamp;  ///< `x-ncp-apigw-timestamp`: epoch milliseconds, decimal
  std::string access_key; ///< `x-ncp-iam-access-key`
  std::string signature;  ///< `x-ncp-apigw-signature-v2`
};

/// Signs one request at `now`. `path_with_query` is exactly the path sent (with "?query" when there is one).
signed_headers sign_request(std::string_view method, std::string_view path_with_query, core::timestamp now,
                            std::string_view access_key, std::string_view secret_key);

/// "/alimtalk/v2/services/{service_id}/messages/{message_id}", each id percent-encoded as one path segment
/// (see adapters/url.hpp: ':' and '@' stay, so do unreserved bytes). `message_id` must not be empty.
std::string result_path(std::string_view service_id, std::string_view message_id);

// ---- Kakao result codes (docs/vendors.md#kakao-result-codes) --------------------------------------------------

/// What a Kakao result code says about the send.
enum class code_kind {
  delivered, ///< 0000 (dealers: OK, KKO_0000, 7000)
  uncertain, ///< 3005 "success uncertain" (dealers: 7305, Bizgo ME09)
  failed,    ///< every other code
};

/// The kind of a Kakao result code (a "KKO_" prefix, as Kakao i Connect writes codes, is looked through).
code_kind kind_of(std::string_view code) noexcept;

/// The taxonomy category of a failing Kakao code; `unknown` for a code the table does not know.
core::category category_of(std::string_view code) noexcept;

/// A short English text for a Kakao code, "" when the table has none.
std::string_view code_text(std::string_view code) noexcept;

/// The contract event of a Kakao result code: outcome, code ("kakao:<code>", or ME09), category and reason
/// (`vendor_text` first when not empty, else the table's text). Source, times and keys are the caller's.
core::event event_of_code(std::string_view code, std::string_view vendor_text);

/// Reads a SENS time: "yyyy-MM-dd HH:mm:ss" or "yyyy-MM-ddTHH:mm:ss" (optionally ".sss") in `zone` (SENS uses
/// Asia/Seoul), or RFC 3339 with an offset. nullopt when it is neither, or is skipped by a DST jump.
std::optional<core::timestamp> parse_local_time(std::string_view text, const core::zone& zone) noexcept;

// ---- what the dealer answers ----------------------------------------------------------------------------------

/// Why a whole answer or push body could not be used.
struct bad_body {
  std::string detail; ///< a sentence for the log; never a contact
};

/// One polled message result.
struct poll_result {
  mapped_event result;   ///< vendor_message_id = messageId, source poll
  bool is_final = false; ///< sent or failed: stop polling; uncertain is re-checked, pending re-polled
};

/// Parses a SENS `GET …/messages/{messageId}` answer (a JSON object). messageStatusCode decides when present;
/// without it, requestStatusCode A000 is pending (accepted only) and any other request code is a failure
/// `kakao:<requestStatusCode>` of category vendor_error. vendor_time is completeTime read in `zone`, else
/// unknown (the epoch, as for a Twilio callback: the receipt time, `received_at`, is the ledger's history time
/// and must not settle conflicts between failures). dedupe_key is "poll|<messageId>|<code>", so the same
/// result polled twice is one event. The body is kept whole as `raw`: one that is not UTF-8, holds a NUL byte or
/// nests deeper than adapters::max_json_depth is refused.
std::variant<poll_result, bad_body> parse_poll_response(std::string_view body, const core::zone& zone,
                                                        core::timestamp received_at);

/// Parses the body of `POST /webhooks/kakao`: a JSON array of {"message_id", "result_code", "done_at"}.
/// done_at is RFC 3339 (or a SENS local time in `zone`), else unknown (the epoch). An element without a usable
/// message_id or result_code (both non-empty strings without control characters) is an unusable item. dedupe_key
/// is "push|<message_id>|<result_code>". A body that is not a JSON array (or not UTF-8, holds a NUL byte, nests
/// deeper than adapters::max_json_depth) is refused whole.
std::variant<mapped_batch, bad_body> parse_push(std::string_view body, const core::zone& zone,
                                                core::timestamp received_at);

} // namespace deliveryd::adapters::kakao
