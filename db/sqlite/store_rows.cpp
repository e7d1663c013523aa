// The row-level steps of the ledger writer, each one prepared statement.
#include <unistd.h>

#include "core/codes.hpp"
#include "core/failover.hpp"
#include "core/polling.hpp"
#include "db/sqlite/schema.hpp"
#include "db/sqlite/store_impl.hpp"

namespace deliveryd::db::sqlite {

namespace {

constexpr const char* send_columns =
  "id, type, coalesce(source_id, ''), coalesce(source_name, ''), medium, coalesce(vendor, ''), contact, "
  "requested_at, coalesce(vendor_message_id, ''), coalesce(fallback_of, ''), coalesce(excluded_code, ''), "
  "status, code, reason, category, decided_at";

std::string text(std::string_view v) { return std::string{v}; }

/// Whether a send's state change concerns a failover group: it is a leg, or an Alimtalk send that has legs. An
/// Alimtalk send without legs is its own logical state, and refreshing its group would change nothing.
constexpr const char* in_failover_sql =
  "(fallback_of IS NOT NULL OR (medium = 'alimtalk' AND EXISTS (SELECT 1 FROM sends AS leg "
  "WHERE leg.fallback_of = sends.send_id)))";

/// Where a send counts in the roll-ups and pending_sends, in the order read_key reads them.
constexpr const char* key_columns = "day, type, coalesce(source_id, ''), medium, coalesce(fallback_of, ''), status, "
                                    "coalesce(logical_status, status), send_id, coalesce(vendor, '')";

/// What load_by_message reads of a send, in the order read_ref reads it: its state, whether it concerns a
/// failover group, its roll-up key.
std::string send_ref_columns() {
  return std::string{"id, status, code, reason, category, decided_at, "} + in_failover_sql + ", " + key_columns;
}

/// The send_ref of a row of send_ref_columns(); resets the statement.
send_ref read_ref(SQLite::Statement& q) {
  send_ref ref{q.getColumn(0).getInt64(), read_state(q, 1), q.getColumn(6).getInt() != 0};
  ref.key = read_key(q, 7, ref.id);
  q.reset();
  return ref;
}

} // namespace

rollup_key read_key(SQLite::Statement& q, int first, std::int64_t id) {
  rollup_key k;
  k.id = id;
  k.day = q.getColumn(first).getInt();
  k.type = q.getColumn(first + 1).getString();
  k.source_id = q.getColumn(first + 2).getString();
  k.medium = q.getColumn(first + 3).getString();
  k.fallback_of = q.getColumn(first + 4).getString();
  k.leg = !k.fallback_of.empty();
  k.status = q.getColumn(first + 5).getString();
  k.effective = q.getColumn(first + 6).getString();
  k.send_id = q.getColumn(first + 7).getString();
  k.vendor = q.getColumn(first + 8).getString();
  return k;
}

core::send_state read_state(SQLite::Statement& q, int first) {
  core::send_state s;
  s.current = core::parse_status(q.getColumn(first).getString()).value_or(core::status::pending);
  s.code = q.getColumn(first + 1).getString();
  s.reason = q.getColumn(first + 2).getString();
  s.cat = core::parse_category(q.getColumn(first + 3).getString()).value_or(core::category::unknown);
  s.decided_at = core::from_millis(q.getColumn(first + 4).getInt64());
  return s;
}

ledger_store::impl::impl(SQLite::Database&& migrated, deadline_table table, poll_table poll_settings)
  : db{std::move(migrated)},
    deadlines{std::move(table)},
    find_send_by_id{db, std::string{"SELECT "} + send_columns + " FROM sends WHERE send_id = ?"},
    find_send_by_message{db, "SELECT " + send_ref_columns() + " FROM sends INDEXED BY sends_by_message_key "
                                 "WHERE message_key = ? AND vendor = ? AND vendor_message_id = ?"},
    find_send_by_rowid{db, "SELECT " + send_ref_columns()
                             + " FROM sends WHERE id = ? AND vendor = ? AND vendor_message_id = ?"},
    message_taken{db, "SELECT 1 FROM sends INDEXED BY sends_by_message_key "
                      "WHERE message_key = ? AND vendor = ? AND vendor_message_id = ?"},
    insert_send{db, "INSERT INTO sends (send_id, type, source_id, source_name, medium, vendor, contact, "
                    "requested_at, vendor_message_id, fallback_of, excluded_code, status, code, reason, category, "
                    "decided_at, deadline_at, updated_at, next_poll_at, day, message_key) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT DO NOTHING"},
    set_vendor_message_id{db, "UPDATE sends SET vendor_message_id = ?, updated_at = ?, "
                              "next_poll_at = coalesce(next_poll_at, ?), message_key = ? WHERE id = ?"},
    // deadline_at stays: the sweep clears it when it passes (schema v6), so that a send becoming final does not
    // write a leaf of sends_by_deadline of its own.
    update_state{db, "UPDATE sends SET status = ?1, code = ?2, reason = ?3, category = ?4, decided_at = ?5, "
                     "updated_at = ?6, "
                     "next_poll_at = CASE WHEN ?8 THEN NULL ELSE next_poll_at END WHERE id = ?7"},
    insert_event{db, "INSERT OR IGNORE INTO events (send, vendor, vendor_message_id, dedupe_key, source, outcome, "
                     "code, reason, category, vendor_time, received_at, vendor_status, vendor_code, status_after, "
                     "code_after, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"},
    select_held{db, "SELECT id, source, outcome, code, reason, category, vendor_time, received_at, vendor_status, "
                    "vendor_code, coalesce(dedupe_key, ''), coalesce(raw, '') FROM events "
                    "WHERE vendor = ? AND vendor_message_id = ? AND send IS NULL ORDER BY id"},
    delete_event{db, "DELETE FROM events WHERE id = ?"},
    select_due{db, std::string{"SELECT id, status, code, reason, category, decided_at, "} + in_failover_sql
                     + ", coalesce(vendor, '') FROM sends WHERE deadline_at <= ? ORDER BY deadline_at LIMIT ?"},
    in_failover_of{db, std::string{"SELECT "} + in_failover_sql + " FROM sends WHERE id = ?"},
    clear_deadline{db, "UPDATE sends SET deadline_at = NULL WHERE id = ?"},
    touch_probe{db, "INSERT INTO write_probe (id, written_at) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at"},
    set_poll{db, "UPDATE sends SET next_poll_at = ?, poll_attempts = ?, vendor_price = coalesce(?, vendor_price), "
                 "vendor_price_unit = coalesce(?, vendor_price_unit) WHERE id = ?"},
    failover_key{db, "SELECT send_id, coalesce(fallback_of, '') FROM sends WHERE id = ?"},
    failover_parent{db, "SELECT id, status, code, reason, category, decided_at FROM sends "
                        "WHERE send_id = ? AND medium = 'alimtalk'"},
    failover_legs{db, "SELECT status, code, reason, category, decided_at FROM sends WHERE fallback_of = ? "
                      "ORDER BY id"},
    set_logical{db, "UPDATE sends SET logical_status = ?, logical_code = ?, logical_reason = ?, "
                    "logical_category = ? WHERE id = ?"},
    load_key_stmt{db, std::string{"SELECT "} + key_columns + " FROM sends WHERE id = ?"},
    parent_of_stmt{db, "SELECT id FROM sends WHERE send_id = ? AND medium = 'alimtalk'"},
    rollup_upsert{db, "INSERT INTO rollups (scope, scope_id, day, medium, status, sends, logical) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET sends = sends + excluded.sends, "
                      "logical = logical + excluded.logical"},
    price_upsert{db, "INSERT INTO price_rollups (scope, scope_id, day, currency, micros) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT DO UPDATE SET micros = micros + excluded.micros"},
    price_of{db, "SELECT coalesce(vendor_price, ''), coalesce(vendor_price_unit, '') FROM sends WHERE id = ?"},
    pending_upsert{db, "INSERT INTO pending_sends (vendor, sends) VALUES (?, ?) "
                       "ON CONFLICT DO UPDATE SET sends = sends + excluded.sends"},
    source_upsert{db, "INSERT INTO sources (month, scope, scope_id, name, logical) VALUES (?, ?, ?, ?, ?) "
                      "ON CONFLICT DO UPDATE SET logical = logical + excluded.logical, "
                      "name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE name END"},
    polls{std::move(poll_settings)},
    keys{recent_keys::set_bits_for(db.execAndGet("SELECT coalesce(max(id), 0) FROM sends").getInt64())} {}

ledger_store::impl::~impl() {
  if (wal_fd >= 0)
    ::close(wal_fd);
}

void ledger_store::impl::refresh_failover(std::int64_t id) {
  auto& key = failover_key;
  key.reset();
  key.bind(1, static_cast<std::int64_t>(id));
  if (!key.executeStep())
    return;
  std::string parent_id = key.getColumn(1).getString();
  if (parent_id.empty())
    parent_id = key.getColumn(0).getString();
  key.reset();
  auto& parent = failover_parent;
  parent.reset();
  parent.bind(1, parent_id);
  if (!parent.executeStep())
    return; // the Alimtalk send is not registered yet: its legs wait for it
  const auto parent_row = parent.getColumn(0).getInt64();
  const auto own = read_state(parent, 1);
  parent.reset();
  std::vector<core::send_state> legs;
  auto& q = failover_legs;
  q.reset();
  q.bind(1, parent_id);
  while (q.executeStep())
    legs.push_back(read_state(q, 0));
  q.reset();
  auto& w = set_logical;
  w.reset();
  w.clearBindings(); // no legs: NULLs, the send's own state is its logical state
  if (!legs.empty()) {
    const auto logical = core::logical_state(own, legs);
    w.bind(1, text(core::to_string(logical.current)));
    w.bind(2, logical.code);
    w.bind(3, logical.reason);
    w.bind(4, text(core::to_string(logical.cat)));
  }
  w.bind(5, static_cast<std::int64_t>(parent_row));
  w.exec();
}

std::optional<stored_send> ledger_store::impl::load_send(const std::string& send_id) {
  auto& q = find_send_by_id;
  q.reset();
  q.bind(1, send_id);
  if (!q.executeStep())
    return std::nullopt;
  stored_send s;
  s.id = q.getColumn(0).getInt64();
  s.type = q.getColumn(1).getString();
  s.source_id = q.getColumn(2).getString();
  s.source_name = q.getColumn(3).getString();
  s.medium = q.getColumn(4).getString();
  s.vendor = q.getColumn(5).getString();
  s.contact = q.getColumn(6).getString();
  s.requested_at = q.getColumn(7).getInt64();
  s.vendor_message_id = q.getColumn(8).getString();
  s.fallback_of = q.getColumn(9).getString();
  s.excluded_code = q.getColumn(10).getString();
  s.state = read_state(q, 11);
  q.reset();
  return s;
}

std::optional<send_ref> ledger_store::impl::load_by_message(std::string_view vendor,
                                                            const std::string& vendor_message_id) {
  const auto message_key = vendor_message_key(vendor, vendor_message_id);
  if (const auto rowid = keys.find(message_key)) {
    auto& q = find_send_by_rowid;
    q.reset();
    q.bind(1, *rowid);
    q.bind(2, text(vendor));
    q.bind(3, vendor_message_id);
    if (q.executeStep())
      return read_ref(q);
    q.reset(); // stale or another key's: the index decides
  }
  auto& q = find_send_by_message;
  q.reset();
  q.bind(1, message_key);
  q.bind(2, text(vendor));
  q.bind(3, vendor_message_id);
  if (!q.executeStep())
    return std::nullopt;
  auto ref = read_ref(q);
  keys.put(message_key, ref.id); // the next event of this send skips the index
  return ref;
}

bool ledger_store::impl::is_message_taken(std::int64_t key, std::string_view vendor,
                                          const std::string& vendor_message_id) {
  auto& q = message_taken;
  q.reset();
  q.bind(1, key);
  q.bind(2, text(vendor));
  q.bind(3, vendor_message_id);
  const bool taken = q.executeStep();
  q.reset();
  return taken;
}

void ledger_store::impl::write_state(const send_ref& send, const core::send_state& state, core::timestamp now) {
  // The key read with the send still holds: nothing changes a send's row between its lookup and this write.
  const auto key = send.key ? send.key : load_key(send.id);
  const auto group_before = send.in_failover ? group_parent(send.id) : std::nullopt;
  auto& q = update_state;
  q.reset();
  q.bind(1, text(core::to_string(state.current)));
  q.bind(2, state.code);
  q.bind(3, state.reason);
  q.bind(4, text(core::to_string(state.cat)));
  q.bind(5, static_cast<std::int64_t>(core::to_millis(state.decided_at)));
  q.bind(6, static_cast<std::int64_t>(core::to_millis(now)));
  q.bind(7, static_cast<std::int64_t>(send.id));
  const auto vendor = key ? core::parse_vendor(key->vendor) : std::nullopt;
  q.bind(8, vendor && core::state_stops_polling(*vendor, state.current) ? 1 : 0); // core decides, not the SQL
  q.exec();
  if (!key)
    return;
  const std::string status{core::to_string(state.current)};
  counts.count(*key, key->status, -1, 0);
  counts.count(*key, status, 1, 0);
  if (send.in_failover) {
    refresh_failover(send.id);
    settle_group(group_before, send.id);
  } else {
    counts.count(*key, key->status, 0, -1);
    counts.count(*key, status, 0, 1);
  }
}

bool ledger_store::impl::append_event(std::optional<std::int64_t> send, std::string_view vendor,
                                      const std::string& message_id, const core::event& e,
                                      core::timestamp received_at, const core::send_state* after,
                                      const std::string& raw) {
  auto& q = insert_event;
  q.reset();
  q.clearBindings();
  if (send)
    q.bind(1, static_cast<std::int64_t>(*send));
  q.bind(2, text(vendor));
  if (!message_id.empty())
    q.bind(3, message_id);
  if (!e.dedupe_key.empty())
    q.bind(4, e.dedupe_key);
  q.bind(5, text(core::to_string(e.source)));
  q.bind(6, text(core::to_string(e.outcome)));
  q.bind(7, e.code);
  q.bind(8, e.reason);
  q.bind(9, text(core::to_string(e.cat)));
  q.bind(10, static_cast<std::int64_t>(core::to_millis(e.vendor_time)));
  q.bind(11, static_cast<std::int64_t>(core::to_millis(received_at)));
  q.bind(12, e.vendor_status);
  q.bind(13, e.vendor_code);
  if (after) {
    q.bind(14, text(core::to_string(after->current)));
    q.bind(15, after->code);
  }
  if (!raw.empty())
    q.bind(16, raw);
  return q.exec() == 1;
}

void ledger_store::impl::apply_to(const send_ref& send, std::string_view vendor, const std::string& message_id,
                                  const core::event& e, core::timestamp received_at, const std::string& raw,
                                  core::timestamp now, events_outcome& out) {
  auto step = core::reconcile(send.state, e, now);
  if (!append_event(send.id, vendor, message_id, e, received_at, &step.state, raw)) {
    ++out.duplicates;
    return;
  }
  ++out.applied;
  for (auto fx : step.effects) {
    if (fx == core::effect::update_state)
      write_state(send, step.state, now);
    else if (fx == core::effect::correction)
      ++out.corrected;
  }
}

send_ref ledger_store::impl::attach_held(send_ref send, std::string_view vendor, const std::string& message_id,
                                         core::timestamp now, events_outcome& outcome) {
  struct held {
    std::int64_t id;
    core::event e;
    core::timestamp received_at;
    std::string raw;
  };
  std::vector<held> events;
  auto& q = select_held;
  q.reset();
  q.bind(1, text(vendor));
  q.bind(2, message_id);
  while (q.executeStep()) {
    held h;
    h.id = q.getColumn(0).getInt64();
    h.e.source = core::parse_event_source(q.getColumn(1).getString()).value_or(core::event_source::webhook);
    h.e.outcome = core::parse_status(q.getColumn(2).getString()).value_or(core::status::pending);
    h.e.code = q.getColumn(3).getString();
    h.e.reason = q.getColumn(4).getString();
    h.e.cat = core::parse_category(q.getColumn(5).getString()).value_or(core::category::unknown);
    h.e.vendor_time = core::from_millis(q.getColumn(6).getInt64());
    h.received_at = core::from_millis(q.getColumn(7).getInt64());
    h.e.vendor_status = q.getColumn(8).getString();
    h.e.vendor_code = q.getColumn(9).getString();
    h.e.dedupe_key = q.getColumn(10).getString();
    h.raw = q.getColumn(11).getString();
    events.push_back(std::move(h));
  }
  q.reset();
  if (events.empty())
    return send;
  const auto before = send.state;
  for (auto& h : events) {
    // Re-append as the send's own event so that its history reads in the order deliveryd applied it.
    auto& del = delete_event;
    del.reset();
    del.bind(1, static_cast<std::int64_t>(h.id));
    del.exec();
    auto step = core::reconcile(send.state, h.e, h.received_at);
    append_event(send.id, vendor, message_id, h.e, h.received_at, &step.state, h.raw);
    for (auto fx : step.effects)
      if (fx == core::effect::correction)
        ++outcome.corrected;
    send.state = step.state;
    ++outcome.applied;
  }
  if (!(send.state == before))
    write_state(send, send.state, now);
  return send;
}

} // namespace deliveryd::db::sqlite
