#pragma once
/// The ledger's read side: connections of their own (WAL lets them read while the writer commits), each
/// with its statements prepared once, lent out by a small pool to the ops listener's threads.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/time.hpp"
#include "core/words.hpp"
#include "db/store.hpp"

namespace deliveryd::db {

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

/// One read connection.
class ledger_reader {
public:
  /// Opens the ledger read-only; the writer must have created it.
  static std::variant<std::unique_ptr<ledger_reader>, open_error> open(const std::string& path);

  ~ledger_reader();
  ledger_reader(const ledger_reader&) = delete;
  ledger_reader& operator=(const ledger_reader&) = delete;

  /// Sends requested in [from, to), newest first, after `after`, at most `limit`; failover legs excluded.
  day_page day(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
               std::optional<log_cursor> after);

  /// Sends requested in [from, to), oldest first (requested_at, then id), after `after`, at most `limit`;
  /// failover legs excluded. The exports read a month through it, one keyset chunk per call.
  day_page ascending(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
                     std::optional<log_cursor> after);

  /// Sends of `vendor` whose next poll is due at `now`, earliest first, at most `limit`.
  std::vector<poll_target> due_polls(core::vendor vendor, core::timestamp now, std::size_t limit);

  /// The roll-ups of days first..last (yyyymmdd, inclusive) in a scope ("all", "campaign", "one_time").
  summary_data summary(const std::string& scope, const std::string& scope_id, core::day_number first,
                       core::day_number last);

  /// The campaigns and one-time messages with sends in `month` (yyyymm), most sends first (then by type and id).
  std::vector<source_total> sources(std::int32_t month);

  /// One send with its history (oldest first), or nullopt.
  std::optional<send_detail> find(const std::string& send_id);

  /// The number of pending sends per vendor (vendors without any are left out), as the writer counts them in
  /// pending_sends.
  std::vector<std::pair<std::string, std::int64_t>> pending_by_vendor();

private:
  struct impl;
  explicit ledger_reader(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

/// Lends read connections to threads; opens one more when all are in use.
class reader_pool {
public:
  explicit reader_pool(std::string path) : path_{std::move(path)} {}

  /// A connection for the caller's exclusive use until the lease ends.
  class lease {
  public:
    lease(reader_pool* pool, std::unique_ptr<ledger_reader> reader) : pool_{pool}, reader_{std::move(reader)} {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) noexcept = default;
    ~lease();
    /// The borrowed connection.
    ledger_reader& operator*() const noexcept { return *reader_; }
    /// The borrowed connection.
    ledger_reader* operator->() const noexcept { return reader_.get(); }

  private:
    reader_pool* pool_;
    std::unique_ptr<ledger_reader> reader_;
  };

  /// Borrows a connection; an error when the ledger cannot be opened.
  std::variant<lease, open_error> acquire();

private:
  std::string path_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<ledger_reader>> idle_;
};

} // namespace deliveryd::db
