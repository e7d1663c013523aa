#pragma once
/// Inside of the ledger writer: the connection, its prepared statements and the row-level steps that
/// register_sends, apply_events and fire_deadlines are made of. Only db/store*.cpp include this.

#include <cstdint>
#include <optional>
#include <string>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "db/store.hpp"

namespace deliveryd::db {

/// A registered send as stored, for idempotency checks.
struct stored_send {
  std::int64_t id = 0;
  std::string type, source_id, source_name, medium, vendor, contact;
  std::int64_t requested_at = 0;
  std::string vendor_message_id, fallback_of, excluded_code;
  core::send_state state;
};

/// A send's row id and current state.
struct send_ref {
  std::int64_t id = 0;
  core::send_state state;
  bool in_failover = false; ///< an Alimtalk send or a failover leg: its logical state may need refreshing
};

/// Reads status, code, reason, category and decided_at from five consecutive columns starting at `first`.
core::send_state read_state(SQLite::Statement& q, int first);

struct ledger_store::impl {
  SQLite::Database db;
  deadline_table deadlines;
  SQLite::Statement find_send_by_id;
  SQLite::Statement find_send_by_message;
  SQLite::Statement insert_send;
  SQLite::Statement set_vendor_message_id;
  SQLite::Statement update_state;
  SQLite::Statement insert_event;
  SQLite::Statement select_held;
  SQLite::Statement delete_event;
  SQLite::Statement select_due;
  SQLite::Statement clear_deadline;
  SQLite::Statement touch_probe;
  SQLite::Statement set_poll;
  SQLite::Statement failover_key;
  SQLite::Statement failover_parent;
  SQLite::Statement failover_legs;
  SQLite::Statement set_logical;
  poll_table polls;

  /// Prepares every statement on a migrated connection.
  impl(SQLite::Database&& migrated, deadline_table table, poll_table poll_settings);

  /// When a send registered now with this vendor is first polled; nullopt when the vendor is not polled.
  std::optional<std::int64_t> first_poll_at(std::optional<core::vendor> vendor, core::timestamp requested_at,
                                            core::timestamp now) const;
  /// Recomputes the logical state of the Alimtalk send that `id` is, or is a failover leg of.
  void refresh_failover(std::int64_t id);

  /// The send registered under `send_id`, if any.
  std::optional<stored_send> load_send(const std::string& send_id);
  /// The send a vendor knows as `vendor_message_id`, if any.
  std::optional<send_ref> load_by_message(std::string_view vendor, const std::string& vendor_message_id);
  /// Writes a send's new state; a final state clears its deadline (and a Kakao send's polls), and the logical
  /// state of its failover group follows.
  void write_state(const send_ref& send, const core::send_state& state, core::timestamp now);
  /// Appends an event; `send` is nullopt for a held event. False when its dedupe key is already stored.
  bool append_event(std::optional<std::int64_t> send, std::string_view vendor, const std::string& message_id,
                    const core::event& e, core::timestamp received_at, const core::send_state* after,
                    const std::string& raw);
  /// Applies the events held for (vendor, message id) to a send that has just learnt that id.
  send_ref attach_held(send_ref send, std::string_view vendor, const std::string& message_id,
                       core::timestamp now, events_outcome& outcome);
};

} // namespace deliveryd::db
