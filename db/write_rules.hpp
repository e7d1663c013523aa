#pragma once
/// What every back end's writer does the same way, whatever its SQL: the intake event of a new send, how a
/// re-posted send compares with the stored one, when a send is first polled, and the roll-up, pending and
/// sources counts a transaction adds up before it writes them (db/ledger.hpp, ledger_writer).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "adapters/intake/intake.hpp"
#include "core/reconcile.hpp"
#include "db/records.hpp"

namespace deliveryd::db {

/// A registered send as stored, for idempotency checks.
struct stored_send {
  std::int64_t id = 0;
  std::string type, source_id, source_name, medium, vendor, contact;
  std::int64_t requested_at = 0;
  std::string vendor_message_id, fallback_of, excluded_code;
  core::send_state state;
};

/// Where a send counts in the roll-ups, and its state there.
struct rollup_key {
  std::int64_t id = 0;
  std::int32_t day = 0;
  std::string type, source_id, medium;
  bool leg = false;         ///< a failover leg: counted in `sends`, never in `logical`
  std::string status;       ///< its own status
  std::string effective;    ///< its logical status (its own unless it is an Alimtalk send with legs)
  std::string send_id, fallback_of;
  std::string vendor;       ///< '' for an excluded send without one; where a pending send counts in pending_sends
};

/// A send's row id and current state.
struct send_ref {
  std::int64_t id = 0;
  core::send_state state;
  bool in_failover = false; ///< an Alimtalk send or a failover leg: its logical state may need refreshing
  std::optional<rollup_key> key{}; ///< where it counts, when read with it (saves a lookup on a state change)
};

/// A 48-bit key of a vendor's message id: the first 48 bits of SHA-256(vendor, a zero byte, id), big-endian, so
/// 0 <= key < 2^48. SQLite finds sends by it (sends.message_key, stored: never change it); PostgreSQL locks a
/// message by it while an event for it may be held. Keys may collide: a lookup by key also compares vendor and id.
std::int64_t vendor_message_key(std::string_view vendor, std::string_view vendor_message_id);

/// The vendor of an intake item as stored ("" when it has none).
std::string vendor_text(const adapters::intake::send_request& s);
/// The excluded code of an intake item as stored ("" when it is not excluded).
std::string excluded_text(const adapters::intake::send_request& s);

/// The intake event of a new send: pending, or excluded with the code table's reason.
core::event intake_event(const adapters::intake::send_request& s, core::timestamp now);

/// How a re-posted send compares with the stored one.
enum class repost {
  duplicate, ///< nothing differs (a stored field left out is no difference)
  update,    ///< it adds the vendor_message_id the stored send did not have
  conflict,  ///< anything else differs
};
/// Compares `s` with `old`; for a conflict, the name of the field that differs.
std::pair<repost, std::string> compare(const stored_send& old, const adapters::intake::send_request& s);
/// The rejection of `s` for a conflict on `what`.
adapters::intake::rejection conflict(const adapters::intake::send_request& s, const std::string& what);

/// When a send of `vendor` registered `now` is first polled (ms since the epoch); nullopt when the vendor is
/// not polled.
std::optional<std::int64_t> first_poll_at(const poll_table& polls, std::optional<core::vendor> vendor,
                                          core::timestamp requested_at, core::timestamp now);

/// A new send, as a writer inserts it: its columns' values besides the request's own.
struct new_send {
  core::event event;                  ///< its intake event
  core::send_state state;             ///< its state after that event
  std::optional<std::int64_t> deadline; ///< deadline_at (ms), for a pending send of a vendor with uncertain_after
  std::optional<std::int64_t> first_poll; ///< next_poll_at (ms), for a pending send the vendor knows and is polled
  rollup_key key;                     ///< where it counts (id still 0)
};
/// What a writer stores for `s`, registered `now`, in the zone's days.
new_send plan_new_send(const adapters::intake::send_request& s, core::timestamp now, const deadline_table& deadlines,
                       const poll_table& polls, const core::zone& zone);

/// One roll-up row's identity: scope, scope_id, day, medium, status.
using rollup_id = std::tuple<std::string, std::string, std::int32_t, std::string, std::string>;
/// One row of `sources`: month (yyyymm), scope ('campaign' or 'one_time'), source_id.
using source_id = std::tuple<std::int32_t, std::string, std::string>;
/// One price roll-up row: scope, scope_id, day, currency.
using price_id = std::tuple<std::string, std::string, std::int32_t, std::string>;

/// The counts one transaction changes, summed per row, for the writer to add to its tables just before the
/// commit: a group of a thousand sends touches a few dozen roll-up rows, once each. Adding (never setting)
/// keeps them exact when several writers commit side by side.
struct tally {
  std::map<rollup_id, std::pair<std::int64_t, std::int64_t>> rollups; ///< sends, logical
  std::map<std::string, std::int64_t> pending;                        ///< pending sends per vendor
  std::map<source_id, std::pair<std::int64_t, std::string>> sources;  ///< logical sends, latest name given
  std::map<price_id, std::int64_t> prices;                            ///< micros of |vendor_price|

  /// Adds to the counts of `key`'s day, medium and `status`, under 'all' and its campaign or one-time scope;
  /// `sends` of a 'pending' status also count in `pending`.
  void count(const rollup_key& key, const std::string& status, int sends, int logical);
  /// Adds `logical` sends to the month of `key` in `sources`, and names the source `name` unless it is empty,
  /// when `key` is a campaign's or a one-time message's send.
  void count_source(const rollup_key& key, const std::string& name, int logical);
  /// Moves a failover group's logical count from the state `before` said (the parent's own status when it was
  /// not counted before: it has just been registered) to the state of `after`.
  void move_group(const std::optional<rollup_key>& before, const rollup_key& after);
  /// Counts a change of a send's vendor price from (old_price, old_unit) to (price, unit).
  void count_price(const rollup_key& key, const std::string& old_price, const std::string& old_unit,
                   const std::string& price, const std::string& unit);
  /// Forgets every count (a transaction begins, is rolled back, or wrote them).
  void clear() {
    rollups.clear();
    pending.clear();
    sources.clear();
    prices.clear();
  }
};

} // namespace deliveryd::db
