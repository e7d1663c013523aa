#pragma once
/// Inside of the ledger writer: the connection, its prepared statements and the row-level steps that
/// register_sends, apply_events and fire_deadlines are made of. Only db/store*.cpp include this.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <sqlite3.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "db/sqlite/checkpointer.hpp"
#include "db/sqlite/recent_keys.hpp"
#include "db/sqlite/store.hpp"
#include "db/write_rules.hpp"

namespace deliveryd::db::sqlite {

/// Reads the roll-up key of send `id` from the eight consecutive columns of `key_columns` (store_rows.cpp)
/// starting at `first`.
rollup_key read_key(SQLite::Statement& q, int first, std::int64_t id);

/// Reads status, code, reason, category and decided_at from five consecutive columns starting at `first`.
core::send_state read_state(SQLite::Statement& q, int first);

/// Why an existing ledger at `path` must not be opened, before SQLite touches it: it is empty (corrupt), or it,
/// its -wal and -shm files or their folder cannot be written (read_only; a sentence naming the file); nullopt
/// when it may be, or when there is no file yet (store_faults.cpp).
std::optional<ledger_error> refuse_before_open(const std::string& path);

/// What made opening the ledger at `path` throw `failure`, in words for a person ("the disk is full", …; the
/// SQLite message when nothing more precise is known) (store_faults.cpp).
ledger_error explain_open_failure(const std::exception& failure, const std::string& path);

struct ledger_store::impl {
  SQLite::Database db;
  deadline_table deadlines;
  SQLite::Statement find_send_by_id;
  SQLite::Statement find_send_by_message;
  SQLite::Statement find_send_by_rowid; ///< a recent_keys hit, checked against the vendor and its id
  SQLite::Statement message_taken;
  SQLite::Statement insert_send;
  SQLite::Statement set_vendor_message_id;
  SQLite::Statement update_state;
  SQLite::Statement insert_event;
  SQLite::Statement select_held;
  SQLite::Statement delete_event;
  SQLite::Statement select_due;
  SQLite::Statement in_failover_of; ///< whether a change of send `id` concerns a failover group
  SQLite::Statement clear_deadline;
  SQLite::Statement touch_probe;
  SQLite::Statement set_poll;
  SQLite::Statement failover_key;
  SQLite::Statement failover_parent;
  SQLite::Statement failover_legs;
  SQLite::Statement set_logical;
  SQLite::Statement load_key_stmt;
  SQLite::Statement parent_of_stmt;
  SQLite::Statement rollup_upsert;
  SQLite::Statement price_upsert;
  SQLite::Statement price_of;
  SQLite::Statement pending_upsert;
  SQLite::Statement source_upsert;
  poll_table polls;
  /// Message key -> sends.id, a hint for load_by_message; sized at construction, filled by open().
  recent_keys keys;
  std::optional<core::zone> zone; ///< days of the roll-ups
  /// Roll-up, pending, sources and price changes of the open transaction, written by flush_rollups() just
  /// before the commit.
  tally counts;
  std::unique_ptr<wal_checkpointer> checkpointer; ///< null when the writer checkpoints itself
  int wal_frames = 0;        ///< the WAL's length after the last commit, from SQLite's WAL hook
  int wal_restart_pages = 0; ///< sqlite_options::wal_restart_pages
  durability sync = durability::on_commit;
  std::string wal_path;   ///< the database's path + "-wal"
  std::mutex wal_mutex;   ///< guards wal_fd (sync_wal may run on another thread than the writer)
  int wal_fd = -1;        ///< the WAL, opened by sync_wal for its fdatasync

  ~impl();

  /// Resets every prepared statement without throwing. After a failed step SQLiteCpp's reset() throws that
  /// failure again, so a statement left as it failed would fail the next transaction that uses it too.
  void reset_statements() noexcept;

  /// Prepares every statement on a migrated connection.
  impl(SQLite::Database&& migrated, deadline_table table, poll_table poll_settings);

  /// Recomputes the logical state of the Alimtalk send that `id` is, or is a failover leg of.
  void refresh_failover(std::int64_t id);

  // -- roll-ups (store_rollups.cpp) --
  /// Where send `id` counts; nullopt when there is no such send.
  std::optional<rollup_key> load_key(std::int64_t id);
  /// The Alimtalk send of the failover group `id` belongs to (itself, or what it is a leg of), if registered.
  std::optional<rollup_key> group_parent(std::int64_t id);
  /// Writes the counts of the open transaction, and empties them.
  void flush_rollups();
  /// Empties the pending counts without writing them (a transaction begins or is rolled back).
  void discard_counts() { counts.clear(); }
  /// Outside a transaction (a caller in autocommit mode), writes the roll-ups at once.
  void settle_autocommit() {
    if (sqlite3_get_autocommit(db.getHandle())) {
      flush_rollups();
      after_commit();
    }
  }
  /// After a commit that left the WAL at wal_restart_pages or more, copies the rest of it back, unless the
  /// checkpointer is at work (db/checkpointer.hpp); the next transaction then starts the WAL over.
  void after_commit();
  /// Moves a failover group's logical count from its state in `before` to its state now.
  void settle_group(const std::optional<rollup_key>& before, std::int64_t id);
  /// The ids of at most `limit` sends requested before `cutoff` (the first instant of `first_kept`), oldest
  /// first, into `ids`, taking them off the pending counts and off the sources of a month partly kept; true when
  /// more such sends are left (one row past the limit was read).
  bool take_purged(std::int64_t cutoff, core::day_number first_kept, std::size_t limit,
                   std::vector<std::int64_t>& ids);
  /// Fills sends.day and rebuilds every roll-up when the ledger's days were counted in another zone.
  /// Says so through `progress` (when set) before a rebuild.
  void ensure_rollup_zone(const progress_report& progress);

  /// The send registered under `send_id`, if any.
  std::optional<stored_send> load_send(const std::string& send_id);
  /// The send a vendor knows as `vendor_message_id`, if any: by rowid when `keys` knows it (and the row agrees),
  /// else through the message-key index.
  std::optional<send_ref> load_by_message(std::string_view vendor, const std::string& vendor_message_id);
  /// Whether a send already holds `vendor_message_id` of `vendor`, whose vendor_message_key is `key`
  /// (sends.message_key is not unique: this is what keeps one vendor id to one send).
  bool is_message_taken(std::int64_t key, std::string_view vendor, const std::string& vendor_message_id);
  /// Writes a send's new state; a final state clears its deadline (and a Kakao send's polls), and the logical
  /// state of its failover group follows.
  void write_state(const send_ref& send, const core::send_state& state, core::timestamp now);
  /// Appends an event; `send` is nullopt for a held event. False when its dedupe key is already stored.
  bool append_event(std::optional<std::int64_t> send, std::string_view vendor, const std::string& message_id,
                    const core::event& e, core::timestamp received_at, const core::send_state* after,
                    const std::string& raw);
  /// Stores one event of a registered send and applies it: the reconciled state, a correction, a duplicate.
  void apply_to(const send_ref& send, std::string_view vendor, const std::string& message_id, const core::event& e,
                core::timestamp received_at, const std::string& raw, core::timestamp now, events_outcome& out);
  /// Applies the events held for (vendor, message id) to a send that has just learnt that id.
  send_ref attach_held(send_ref send, std::string_view vendor, const std::string& message_id,
                       core::timestamp now, events_outcome& outcome);
};

} // namespace deliveryd::db::sqlite
