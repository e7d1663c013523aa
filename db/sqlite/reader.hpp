#pragma once
/// The SQLite ledger's read side: connections of their own (WAL lets them read while the writer commits), each
/// with its statements prepared once. It throws SQLite::Exception as SQLiteCpp does; db/sqlite/backend.cpp turns
/// that into values at the storage interface.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/time.hpp"
#include "core/words.hpp"
#include "db/sqlite/store.hpp"

namespace deliveryd::db::sqlite {

/// One read connection.
class reader {
public:
  /// Opens the ledger read-only; the writer must have created it.
  static std::variant<std::unique_ptr<reader>, ledger_error> open(const std::string& path);

  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  /// Sends requested in [from, to), newest first, after `after`, at most `limit`; failover legs excluded.
  day_page day(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
               std::optional<log_cursor> after);

  /// Sends requested in [from, to), oldest first (requested_at, then id), after `after`, at most `limit`;
  /// failover legs excluded. The exports read a month through it, one keyset chunk per call.
  day_page ascending(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
                     std::optional<log_cursor> after);

  /// Sends of `vendor` whose next poll is due at `now`, earliest first, at most `limit`.
  std::vector<poll_target> due_polls(core::vendor vendor, core::timestamp now, std::size_t limit,
                                     const std::vector<std::int64_t>& busy);

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
  explicit reader(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace deliveryd::db::sqlite
