#pragma once
/// The SQLite ledger's writer: one connection, statements prepared once, group transactions. It throws
/// SQLite::Exception as SQLiteCpp does; db/sqlite/backend.cpp turns that into values at the storage interface.
/// Not thread-safe: exactly one owner (the ledger actor, on its own thread) uses it.

#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "db/ledger.hpp"
#include "db/sqlite/recent_keys.hpp"
#include "db/sqlite/schema.hpp"

namespace deliveryd::db::sqlite {

/// The writer side of an SQLite ledger.
class ledger_store {
public:
  /// Opens (creating if needed) and migrates the ledger. A foreign or corrupt file is an error, never replaced;
  /// so is a ledger that cannot be written (its mode, owner or mount), which SQLite would open read-only.
  static std::variant<std::unique_ptr<ledger_store>, ledger_error> open(const ledger_options& options);

  ~ledger_store();
  ledger_store(const ledger_store&) = delete;
  ledger_store& operator=(const ledger_store&) = delete;

  /// Starts the group transaction (BEGIN IMMEDIATE).
  void begin();
  /// Commits the group transaction; throws SQLite::Exception when the commit fails.
  void commit();
  /// Rolls back the group transaction; never throws.
  void rollback() noexcept;

  /// How this store was opened.
  durability sync_mode() const noexcept;
  /// fdatasync of the WAL: every transaction committed before the call is on the disk when it returns. Safe to
  /// call from another thread than the writer's (its own file descriptor). Throws std::system_error when the
  /// disk refuses.
  void sync_wal();

  /// Registers or updates sends (inside the transaction). `rejected` already holds the parser's rejections;
  /// the store adds conflicts and merges everything in item order.
  intake_outcome register_sends(const std::vector<adapters::intake::send_request>& sends,
                                std::vector<adapters::intake::rejection> rejected, core::timestamp now);

  /// Stores and applies vendor events (inside the transaction); events for unknown messages are held.
  events_outcome apply_events(const std::vector<vendor_event>& events, core::timestamp now);

  /// Applies what polls found (inside the transaction): the event if any, the next poll, the vendor's price.
  events_outcome apply_polls(const std::vector<poll_update>& polls, core::timestamp now);

  /// Takes at most `limit` sends whose deadline has passed, oldest first (inside the transaction): each one
  /// still pending gets its `deadline` event (it becomes uncertain); one that became final meanwhile only has
  /// its deadline cleared, since a final state leaves deadline_at for this sweep (schema v6). `per_vendor`
  /// counts the fired ones.
  deadline_outcome fire_deadlines(core::timestamp now, std::size_t limit,
                                  std::map<core::vendor, std::size_t>* per_vendor = nullptr);

  /// Removes at most `limit` sends requested before the first day kept (the day, in the configured zone, of
  /// `now` − `retention_days`), their events, held events received before it, and the roll-ups of the days
  /// before it (inside the transaction). Small steps: the ledger interleaves them with intake.
  purge_outcome purge(core::timestamp now, int retention_days, std::size_t limit);

  /// Rewrites the one row of the write probe (inside the transaction): a commit that proves the disk takes writes.
  void write_probe(core::timestamp now);

  /// The ack log position applied up to (meta row `ack_log_position`; 0 when absent).
  std::uint64_t log_position();
  /// Records the ack log position applied up to (inside the transaction).
  void set_log_position(std::uint64_t position);
  /// The ledger's id (meta row `ledger_id`; "" when absent).
  std::string ledger_id();
  /// Records the ledger's id outside the group transaction (it commits at once; the back end makes it durable).
  void set_ledger_id(const std::string& id);

  /// The message keys the writer holds in memory (db/sqlite/recent_keys.hpp): what the table holds and served.
  recent_keys::stats key_table() const;

  /// True when an SQLite statement would work: a cheap probe for /healthz.
  bool probe() noexcept;

  /// What made an operation of this store throw `failure`, in words for a person: "the disk is full", "the
  /// ledger's file system is read-only", … (the SQLite message when nothing more precise is known). Call it
  /// before rollback(): it reads the OS error of the connection's last failure.
  ledger_error explain(const std::exception& failure) const;

private:
  /// Inserts `s` as a new send with its intake event, roll-up counts and any events held for it; false (and
  /// nothing written) when its send_id or vendor message id is already taken.
  bool insert_new(const adapters::intake::send_request& s, core::timestamp now, events_outcome& attached);

  struct impl;
  explicit ledger_store(std::unique_ptr<impl> self);
  std::unique_ptr<impl> self_;
};

} // namespace deliveryd::db::sqlite
