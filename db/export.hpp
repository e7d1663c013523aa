#pragma once
/// Exports read a whole month of the day log: every row of [from, to), oldest first (requested_at, then id), in
/// keyset chunks, so that memory stays the same whatever the month's size.

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "core/time.hpp"
#include "db/ledger.hpp"

namespace deliveryd::db {

/// Rows per query of an export: enough to amortise a query, few enough that a chunk stays well under a MB (glibc
/// keeps what each thread freed, so big chunks would show up as a lasting RSS growth of every listener thread).
inline constexpr std::size_t export_chunk_rows = 1000;

/// A position in a range of the day log, read forward one chunk at a time. It holds no connection: each call
/// is given the reader (held by the caller for the export's duration), and each chunk is its own read
/// transaction, so a long export never pins the WAL. Rows committed meanwhile after the position are seen.
class month_cursor {
public:
  /// Every row of [from, to) that passes `filter` (the day log's rows: failover legs are not rows of their own).
  month_cursor(core::timestamp from, core::timestamp to, log_filter filter, std::size_t chunk = export_chunk_rows)
    : from_{from}, to_{to}, filter_{std::move(filter)}, chunk_{chunk == 0 ? 1 : chunk} {}

  /// The next rows (at most the chunk size), legs included; empty once every row has been read. After an
  /// error the position is unchanged: the same call may be tried again.
  result<std::vector<log_row>> next(ledger_reader& reader);

  /// True once the last chunk has been read.
  bool done() const noexcept { return done_; }

private:
  core::timestamp from_, to_;
  log_filter filter_;
  std::size_t chunk_;
  std::optional<log_cursor> after_;
  bool done_ = false;
};

/// A month cursor read one chunk ahead on a thread of its own, so that reading the ledger overlaps rendering
/// the rows (the XLSX export is CPU-bound on both). At most two chunks wait; the connection is used by the
/// reading thread only, from construction to destruction.
class prefetching_cursor {
public:
  /// Starts reading `cursor` through `reader` at once.
  prefetching_cursor(ledger_reader& reader, month_cursor cursor);
  /// Stops reading (a chunk being read is finished first) and joins the thread.
  ~prefetching_cursor();
  prefetching_cursor(const prefetching_cursor&) = delete;
  prefetching_cursor& operator=(const prefetching_cursor&) = delete;

  /// The next chunk, waiting for it; empty once every row has been read. After an error, reading has stopped.
  result<std::vector<log_row>> next();

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace deliveryd::db
