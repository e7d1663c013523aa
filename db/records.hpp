#pragma once
/// Values that cross the ledger's boundary (db/ledger.hpp): what is written, what the writes report back, and what
/// the queries read. The same for every back end.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/intake/intake.hpp"
#include "core/reconcile.hpp"
#include "core/time.hpp"
#include "core/words.hpp"

namespace deliveryd::db {

/// One vendor event addressed by the vendor's message id.
struct vendor_event {
  core::vendor vendor = core::vendor::twilio; ///< which vendor reported it
  std::string vendor_message_id;              ///< MessageSid, sg_message_id, carrier id, Kakao messageId
  core::event event;                          ///< mapped onto the contract
  core::timestamp received_at{};              ///< when deliveryd received it
  std::string raw;                            ///< the payload as received, kept for audits
};

/// What applying a group of vendor events did.
struct events_outcome {
  std::size_t applied = 0;    ///< stored and applied to a registered send
  std::size_t held = 0;       ///< stored and held until their send is registered
  std::size_t duplicates = 0; ///< already stored (same dedupe key): nothing changed
  std::size_t corrected = 0;  ///< uncertain sends corrected by a definitive result
};

/// What an intake request did, in the contract's words.
struct intake_outcome {
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::size_t updated = 0;
  std::vector<adapters::intake::rejection> rejected; ///< in item order
};

/// What one purge step removed.
struct purge_outcome {
  std::size_t sends = 0;
  std::size_t events = 0; ///< the purged sends' events and held events received before the cut-off
  bool more = false;      ///< a limit was reached: more is due
};

/// What one sweep of passed deadlines did.
struct deadline_outcome {
  std::size_t fired = 0; ///< sends still pending, now uncertain
  bool more = false;     ///< the limit was reached: more deadlines may have passed
};

/// Per-vendor setting the ledger needs: how long a send may stay pending.
using deadline_table = std::map<core::vendor, std::chrono::milliseconds>;

/// When a polling vendor actor first fetches a new send.
struct first_poll {
  bool after_registration = true;  ///< true: `delay` after deliveryd registered it; false: after requested_at
  std::chrono::milliseconds delay{};
};

/// First polls of the vendors that poll (absent: the vendor is not polled).
using poll_table = std::map<core::vendor, first_poll>;

/// What one poll of a vendor found, and when to poll that send again.
struct poll_update {
  core::vendor vendor = core::vendor::kakao;
  std::string vendor_message_id;
  std::optional<core::event> event;             ///< the vendor's answer; nullopt after an error or a 404
  std::optional<core::timestamp> next_poll_at;  ///< nullopt: stop polling this send
  int attempts = 0;                             ///< consecutive back-off steps (errors, re-checks)
  std::string price;                            ///< the vendor's price exactly as reported, "" if unknown
  std::string price_unit;
  core::timestamp received_at{};
  std::string raw;                              ///< the vendor's answer as received
};

// Queries.

/// Filters of the day view; every one optional.
struct log_filter {
  std::optional<std::string> campaign;  ///< source_id of a campaign
  std::optional<std::string> one_time;  ///< source_id of a one-time message
  std::optional<core::status> status;
  std::optional<core::medium> medium;
  std::optional<std::string> contact;   ///< normalised as at intake
};

/// Position after the last row of a page: (requested_at, row id), in the page's order.
struct log_cursor {
  std::int64_t requested_at = 0;
  std::int64_t id = 0;
};

/// The opaque text of a cursor.
std::string encode_cursor(const log_cursor& c);
/// Reads a cursor's text; nullopt when it was not made by encode_cursor.
std::optional<log_cursor> decode_cursor(std::string_view text) noexcept;

/// One attempt of a logical send with failover: the Alimtalk send itself, or one of its legs.
struct leg {
  std::string send_id, medium, vendor, status, code;
};

/// One send as the day log shows it. For an Alimtalk send with failover legs, status, code, reason and
/// category are the logical send's, and `legs` lists every attempt (the Alimtalk one first).
struct log_row {
  std::int64_t id = 0;
  std::string send_id;
  core::timestamp requested_at{};
  std::string type, source_id, source_name, status, medium, vendor, contact, code, reason, category;
  std::vector<leg> legs; ///< empty for a send without failover legs
};

/// A send a polling vendor actor should fetch now.
struct poll_target {
  std::int64_t id = 0;
  std::string vendor_message_id;
  core::timestamp requested_at{};
  core::status status = core::status::pending;
  int attempts = 0;
  bool priced = false; ///< the vendor's price is already stored
};

/// The fetch limits of one vendor account (the contract's 8 at once and 50 starts a second). One daemon keeps
/// them itself; a shared ledger keeps them for the group of daemons as a whole (ledger_reader::due_polls).
struct fetch_limits {
  std::size_t concurrency = 8; ///< fetches in flight at once
  std::size_t per_second = 50; ///< fetches started within any one second
};

/// One page of a day.
struct day_page {
  std::vector<log_row> rows;
  std::optional<log_cursor> next; ///< nullopt on the last page
};

/// One entry of a send's history.
struct history_entry {
  core::timestamp at{};
  std::string source, status, code, vendor_status, vendor_code;
};

/// Everything known about one send.
struct send_detail {
  log_row row;
  std::string vendor_message_id, fallback_of, vendor_price, vendor_price_unit;
  std::vector<history_entry> history;
};

/// One roll-up row of the month summary.
struct rollup_row {
  core::day_number day = 0;
  std::string medium, status;
  std::int64_t sends = 0;   ///< every send of this medium in this status (legs included)
  std::int64_t logical = 0; ///< logical sends in this logical status
};

/// What a month summary reads: at most days × media × statuses roll-up rows, and the vendor prices.
struct summary_data {
  std::vector<rollup_row> rows;
  std::map<std::string, std::int64_t> price_micros; ///< per currency, sum of |vendor_price| in millionths
};

/// A campaign or one-time message of a month, for the console's chooser.
struct source_total {
  std::string type;       ///< "campaign" or "one_time"
  std::string source_id;
  std::string name;       ///< the source_name of its latest send registered with one; "" when none had one
  std::int64_t total = 0; ///< logical sends of the month, as the month summary with this filter counts them
};

} // namespace deliveryd::db
