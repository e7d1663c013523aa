#pragma once
/// An SQLite ledger as the source of a copy (db/copy_ledger.hpp): opened read-only, never changed, and read in
/// one snapshot for as long as it is open. Only db/ includes this.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "db/copy_rows.hpp"
#include "db/result.hpp"

namespace deliveryd::db::sqlite {

/// The read side of a copy.
class copy_source {
public:
  /// Opens the ledger at `path` read-only and starts its snapshot. Refuses a file that is not a deliveryd ledger
  /// and a ledger whose schema is not the one this build writes (an older one must be upgraded by deliveryd first).
  static result<std::unique_ptr<copy_source>> open(const std::string& path);

  ~copy_source();
  copy_source(const copy_source&) = delete;
  copy_source& operator=(const copy_source&) = delete;

  /// What the snapshot holds.
  const copy_census& census() const noexcept;

  /// At most `limit` sends with an id past `after`, by id, with every event of theirs (by id).
  result<copy_chunk> sends_after(std::int64_t after, std::size_t limit);

  /// At most `limit` held events (no send yet) with an id past `after`, by id.
  result<std::vector<copy_row>> held_after(std::int64_t after, std::size_t limit);

  /// Every row of `table`.
  result<std::vector<copy_row>> rows_of(const copy_table& table);

  /// Ends the snapshot and counts again: what the ledger holds now. The source is of no more use after it.
  result<copy_census> census_now();

private:
  struct impl;
  explicit copy_source(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace deliveryd::db::sqlite
