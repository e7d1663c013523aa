#pragma once
/// What a copy of a ledger moves from one back end to the other (db/copy_ledger.hpp): the tables both schemas
/// have, the columns they share, and rows as text. Only db/ includes this.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace deliveryd::db {

/// One value: an integer in decimal or a text, nullopt for NULL. Both schemas hold integers and texts only.
using copy_value = std::optional<std::string>;

/// One row, its values in the order of its table's columns.
using copy_row = std::vector<copy_value>;

/// A table of both ledgers and the columns a copy moves: every column of the SQLite table that the PostgreSQL
/// one has too. Left out: sends.message_key (SQLite's index key of the vendor message id; PostgreSQL's constraint
/// needs none) and sends.poll_claimed_until/poll_claimed_by (PostgreSQL's claims; none is held after a copy).
struct copy_table {
  const char* name;
  std::vector<const char*> columns;
};

/// `sends`, with its id first.
const copy_table& sends_table();
/// `events`, with its id first and its send second.
const copy_table& events_table();
/// The tables the queries read counts from (roll-ups, price roll-ups, pending sends, sources), copied whole at the
/// end. The write probe and the meta tables are not copied: each ledger keeps its own.
const std::vector<copy_table>& count_tables();

/// A chunk of sends (by id) with every event of theirs.
struct copy_chunk {
  std::vector<copy_row> sends;
  std::vector<copy_row> events;
  std::int64_t last_id = 0; ///< the id of its last send: the next chunk starts after it
};

/// What a source ledger holds: enough to tell whether it changed between two runs of a copy.
struct copy_census {
  std::string zone;               ///< the zone its days are counted in (its meta's rollup_zone)
  std::int64_t sends = 0;         ///< sends, failover legs included
  std::int64_t events = 0;        ///< events, held ones included
  std::int64_t held = 0;          ///< events held for a send not registered
  std::int64_t last_send_id = 0;  ///< the largest sends.id (0: none)
  std::int64_t last_event_id = 0; ///< the largest events.id (0: none)
  /// The counts above with the latest update, the poll schedule and the pending deadlines: any write of a
  /// daemon changes it.
  std::string fingerprint;
};

} // namespace deliveryd::db
