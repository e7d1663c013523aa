#pragma once
/// Takes a current ledger back to the shape an earlier release wrote, so that the unit and integration tests can
/// check each upgrade on real files. Each step undoes one migration of db/sqlite/schema.cpp, newest first; the caller
/// sets PRAGMA user_version.

#include <SQLiteCpp/Database.h>

namespace deliveryd::testing {

/// v7 → v6: no sources per month.
inline void revert_to_v6(SQLite::Database& raw) { raw.exec("DROP TABLE sources;"); }

/// v6 → v5: pending sends counted by an index instead of pending_sends, two event indexes instead of one, and
/// deadlines cleared as soon as a send is final.
inline void revert_to_v5(SQLite::Database& raw) {
  revert_to_v6(raw);
  raw.exec("DROP TABLE pending_sends; DROP INDEX events_by_send;"
           "CREATE INDEX sends_pending ON sends(vendor) WHERE deadline_at IS NOT NULL;"
           "CREATE INDEX events_by_send ON events(send, id) WHERE send IS NOT NULL;"
           "CREATE UNIQUE INDEX events_dedupe ON events(send, dedupe_key) "
           "WHERE send IS NOT NULL AND dedupe_key IS NOT NULL;"
           "UPDATE sends SET deadline_at = NULL WHERE status != 'pending';");
}

/// v5 → v4: sends found by the unique text index of (vendor, vendor_message_id), without a message key.
inline void revert_to_v4(SQLite::Database& raw) {
  revert_to_v5(raw);
  raw.exec("DROP INDEX sends_by_message_key; ALTER TABLE sends DROP COLUMN message_key;"
           "CREATE UNIQUE INDEX sends_by_vendor_message ON sends(vendor, vendor_message_id) "
           "WHERE vendor_message_id IS NOT NULL;");
}

} // namespace deliveryd::testing
