#pragma once
/// A PostgreSQL ledger as the target of a copy (db/copy_ledger.hpp): the rows of an SQLite ledger written with
/// their ids, one transaction per chunk, each recording in deliveryd_meta how far the copy has come. Only db/
/// includes this.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/copy_rows.hpp"
#include "db/result.hpp"

namespace deliveryd::db::postgresql {

/// A copy into this ledger, as its deliveryd_meta records it (keys copy_*).
struct copy_mark {
  std::string source;           ///< copy_source: the SQLite ledger's file
  std::string fingerprint;      ///< copy_fingerprint: its census when the copy began (copy_census::fingerprint)
  std::int64_t sends_after = 0; ///< copy_sends_after: the id of the last send copied
  std::int64_t held_after = 0;  ///< copy_held_after: the id of the last held event copied
  bool finished = false;        ///< copy_finished: every row is there, and the counts
};

/// What the ledger holds before a run of a copy writes anything.
struct import_state {
  int schema = 0;                ///< its schema version; 0: no ledger yet
  std::optional<copy_mark> copy; ///< the copy into it, once one began
  std::int64_t sends = 0;        ///< its sends
  std::int64_t events = 0;       ///< its events, held ones included
};

/// The write side of a copy: a connection of its own that holds the copy's advisory lock (schema.hpp copy_lock)
/// for as long as it is open, so that two copies into one ledger never run at once.
class import_target {
public:
  /// Connects to `url` and takes the lock; refuses when another copy holds it.
  static result<std::unique_ptr<import_target>> connect(const std::string& url);

  ~import_target();
  import_target(const import_target&) = delete;
  import_target& operator=(const import_target&) = delete;

  /// What the ledger holds now.
  result<import_state> state();

  /// Records a new copy of `source` (whose census is `census`) in a ledger that holds no send or event, and moves
  /// the identity sequences past the source's ids, so that a daemon started too early takes ids of its own.
  result<void> begin(const std::string& source, const copy_census& census);

  /// Adds the sends and events of `chunk`, with their ids, and moves copy_sends_after from `after` (what it must
  /// be) to the chunk's last send.
  result<void> add_chunk(const copy_chunk& chunk, std::int64_t after);

  /// Adds held events, with their ids, and moves copy_held_after from `after` to the last one's id.
  result<void> add_held(const std::vector<copy_row>& events, std::int64_t after);

  /// Checks that the ledger holds exactly the sends and events of `census`, replaces the count tables with
  /// `tables` (table, rows), moves the identity sequences past the source's ids and marks the copy finished: one
  /// transaction.
  result<void> finish(const std::vector<std::pair<copy_table, std::vector<copy_row>>>& tables,
                      const copy_census& census);

private:
  struct impl;
  explicit import_target(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace deliveryd::db::postgresql
