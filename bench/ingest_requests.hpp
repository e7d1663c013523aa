#pragma once
/// What the ingest benchmark sends: the pending sends its fill registers (deterministic from their index, so that
/// a later run knows each one's vendor message id without reading the ledger), and the request bytes of its
/// phases, built in memory before each phase: signed Twilio status callbacks, signed SendGrid event batches,
/// intake batches of new sends.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/intake/intake.hpp"
#include "core/time.hpp"

namespace deliveryd::bench::ingest {

inline constexpr std::string_view zone_name = "Asia/Seoul";
inline constexpr std::string_view auth_token = "ingest-bench-auth-token";
inline constexpr std::string_view account_sid = "AC5ef8732a3c49700934481addd5ce1659";
inline constexpr std::size_t email_batch = 100;   ///< SendGrid events per request
inline constexpr std::size_t intake_batch = 1000; ///< sends per intake request
/// requested_at of the fill: the 6 hours before it ran.
inline constexpr auto fill_span = std::chrono::hours{6};

/// Now, in milliseconds.
core::timestamp now_ms();

/// Which vendor a send of the fill went through.
enum class kind {
  twilio,  ///< SMS and LMS, 60 %
  email,   ///< SendGrid, 20 %
  carrier, ///< 10 %
  kakao,   ///< Alimtalk, 10 %
};

/// The vendor of fill send `i`.
kind kind_of(std::int64_t i);

/// Index of the `n`th send of kind `k` at or after `from` (n = 0: the first), or `limit` when there is none.
std::int64_t skip(kind k, std::int64_t from, std::int64_t n, std::int64_t limit);

/// Sends of kind `k` in [from, limit).
std::int64_t count_kind(kind k, std::int64_t from, std::int64_t limit);

/// Send `i` of `n`, deterministic from `i`, requested in order over the 6 hours before `end`; `index` is its
/// place in its intake batch.
adapters::intake::send_request fill_send(std::int64_t i, std::int64_t n, core::timestamp end, std::size_t index);

/// The Twilio requests of a phase.
struct twilio_plan {
  std::vector<std::string> requests;
  std::vector<std::uint32_t> origin; ///< the distinct callback each request carries (a duplicate: its original's)
  std::size_t distinct = 0;
  std::size_t duplicates = 0;
  std::size_t sends = 0;
  std::int64_t next_index = 0; ///< the first fill index after the sends used
};

/// Twilio sends a phase of `requests` callbacks uses, at most.
std::int64_t twilio_sends_needed(std::size_t requests);

/// `requests` status callbacks for the registered Twilio sends from fill index `from` on, in index order, signed
/// for http://127.0.0.1:`hooks_port`/webhooks/twilio: per send a `sent` callback, then some hundreds of requests
/// later its final status (delivered 85 %, undelivered 10 % with 30003/30005/30006, failed 5 % with 30008); 5 %
/// of the requests are exact copies of an earlier request (a retried callback).
twilio_plan build_twilio(std::int64_t from, std::int64_t limit, std::size_t requests, int hooks_port);

/// The SendGrid requests of a phase.
struct email_plan {
  std::vector<std::string> requests;
  std::int64_t next_index = 0; ///< the first fill index after the sends used
};

/// `batches` signed Event Webhook posts of 100 events, each for another registered e-mail send from fill index
/// `from` on: delivered 80 %, bounce 10 %, dropped 5 %, deferred 5 %.
email_plan build_email(std::int64_t from, std::int64_t limit, std::size_t batches, int hooks_port);

/// `batches` intake posts of 1000 new sends (send ids unique to this call): Twilio 50 %, carrier 20 %, Alimtalk
/// 15 %, e-mail 15 %, each with its vendor_message_id unless `with_ids` is false, requested in the last minute.
std::vector<std::string> build_intake(std::size_t batches, int ops_port, bool with_ids);

/// Bytes of all `requests`.
std::size_t bytes_of(const std::vector<std::string>& requests);

/// A file's text without leading and trailing white space ("" when unreadable).
std::string read_text(const std::string& path);

} // namespace deliveryd::bench::ingest
