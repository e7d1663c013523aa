#pragma once
/// Delivery reports from the Korean SMS/LMS carrier side (docs/vendors.md#carrier): Jasmin-style HTTP DLRs, the
/// aggregators' JSON result reports, and the shared-token check of POST /webhooks/carrier.
/// Pure: bytes and values in, values out; the zone and the time of receipt are arguments.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "adapters/common.hpp"
#include "adapters/form.hpp"
#include "core/time.hpp"

namespace deliveryd::adapters::carrier {

/// A usable Jasmin DLR mapped onto the contract, or a sentence saying why it cannot be used.
using jasmin_result = std::variant<mapped_event, std::string>;

/// Maps one Jasmin-style HTTP DLR (form body or query string, already decoded by adapters::parse_form).
///
/// Fields: `id` (required, the vendor_message_id, no control characters, nor in `err`), `message_status`
/// (required), `level` (required, 1, 2 or 3), `id_smsc`, `subdate`, `donedate`, `sub`, `dlvrd`, `err`, `text`;
/// unknown fields are ignored. The word in `message_status` decides, whatever the level (Jasmin's code sends its
/// submit ack as level 1 and the SMSC receipt as level 2; its documentation says the level requested, 3 for both,
/// is echoed):
/// - `ESME_ROK` -> pending (the SMSC accepted the submit);
/// - `ESME_RTHROTTLED`, `ESME_RMSGQFUL`, `ESME_RSYSERR`, `ESME_RINVSCHED` -> pending (Jasmin re-queues these);
/// - any other `ESME_R…` -> failed `carrier:<ESME_…>` (the SMSC refused the submit);
/// - the SMPP stat words, case-insensitive: DELIVRD -> sent; UNDELIV, REJECTD, EXPIRED, DELETED -> failed
///   `carrier:<STAT>` with vendor_code = `err`; ENROUTE, ACCEPTD -> pending; UNKNOWN -> uncertain ME09;
/// - anything else -> an error sentence.
/// vendor_time is `donedate` read in `zone`; without one that reads it is unknown, the epoch (as for Twilio: the
/// receipt time, which the ledger keeps beside it, must not decide between two failures), and the text stays
/// in `raw`. The dedupe key is "<id>|<level>|<MESSAGE_STATUS>" (the word upper-cased). `raw` is kept as given.
/// `received_at` is not used (kept so that every adapter is called alike).
jasmin_result parse_jasmin(const form_params& params, std::string_view raw, const core::zone& zone,
                           core::timestamp received_at);

/// What an aggregator result code means.
struct result_meaning {
  core::status outcome;  ///< sent, failed or uncertain
  core::category cat;    ///< the failure's category; none for sent, ME09's category for uncertain
  std::string_view text; ///< a short English text for the code, "" for a code the table does not name
};

/// The meaning of a 4-digit aggregator result code (the table of docs/vendors.md#carrier-aggregator-result-codes);
/// nullopt unless `code` is exactly four ASCII digits. A 4-digit code the table does not name is a failure of
/// category `unknown`.
std::optional<result_meaning> meaning_of(std::string_view code) noexcept;

/// The usable and unusable reports of an aggregator body, or a sentence when the body is not a JSON array.
using aggregator_result = std::variant<mapped_batch, std::string>;

/// Maps a Korean aggregator's JSON report: an array of {"message_id", "result_code", "done_at"}. Each element
/// stands on its own: one that cannot be used becomes an unusable item, the others are still mapped.
/// `message_id` is a non-empty string without control characters (or an integer); `result_code` four digits (a
/// string, or an integer 1000-9999). Codes map as `meaning_of` says; a failure's code is
/// "carrier:<result_code>". `done_at` is read as RFC 3339 with an offset; absent, null or anything else (a
/// zone-less "YYYYMMDDhhmmss") leaves the vendor time unknown (the epoch, not `received_at`, which is not used),
/// the original staying in `raw`. The dedupe key is "<message_id>|<result_code>"; vendor_status and vendor_code
/// are the result code; `raw` is the element re-serialised. A body that is not UTF-8, holds a NUL byte or nests
/// deeper than adapters::max_json_depth is refused whole, before parsing.
aggregator_result parse_aggregator(std::string_view body, core::timestamp received_at);

} // namespace deliveryd::adapters::carrier
