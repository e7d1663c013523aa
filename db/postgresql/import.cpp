// The target of a copy: rows written with the ids they had (INSERT … OVERRIDING SYSTEM VALUE: the day log's
// cursors carry ids, and ties of requested_at are ordered by them), a chunk per transaction that also moves the
// copy's position in deliveryd_meta, so that a run killed at any point leaves whole chunks and their position.
#include "db/postgresql/import.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "db/postgresql/connection.hpp"
#include "db/postgresql/schema.hpp"

namespace deliveryd::db::postgresql {

namespace {

/// Why the ledger must not take what a call would write: a sentence for the operator; nothing was written.
class refusal : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// The most parameters one statement may carry (libpq's protocol counts them in 16 bits).
constexpr std::size_t max_parameters = 65535;

std::string column_list(const copy_table& table) {
  std::string out;
  for (const auto* column : table.columns)
    out += (out.empty() ? "" : ", ") + std::string{column};
  return out;
}

/// Inserts `rows` into `table` as they are, ids included, a few hundred rows per statement.
void insert_rows(pqxx::work& tx, const copy_table& table, const std::vector<copy_row>& rows) {
  const auto width = table.columns.size();
  const bool identity = std::string{table.columns.front()} == "id";
  const auto per_statement = std::min<std::size_t>(500, max_parameters / width);
  const auto head = "INSERT INTO " + std::string{table.name} + " (" + column_list(table) + ")"
                    + (identity ? " OVERRIDING SYSTEM VALUE" : "") + " VALUES ";
  std::vector<copy_value> values;
  for (std::size_t first = 0; first < rows.size(); first += per_statement) {
    const auto n = std::min(per_statement, rows.size() - first);
    auto sql = head;
    values.clear();
    for (std::size_t r = 0; r < n; ++r) {
      const auto& row = rows[first + r];
      if (row.size() != width)
        throw std::logic_error{"a row of " + std::string{table.name} + " has " + std::to_string(row.size())
                               + " values for " + std::to_string(width) + " columns"};
      sql += r == 0 ? "(" : ", (";
      for (std::size_t c = 0; c < width; ++c)
        sql += (c == 0 ? "$" : ", $") + std::to_string(values.size() + c + 1);
      sql += ")";
      values.insert(values.end(), row.begin(), row.end());
    }
    tx.exec_params0(sql, pqxx::prepare::make_dynamic_params(values));
  }
}

/// Moves the identity sequence of `table`'s id past `last` (never back), so that the next id is a new one.
void move_sequence(pqxx::work& tx, const char* table, std::int64_t last) {
  if (last <= 0)
    return; // nothing copied: the sequence starts at 1 as it is
  tx.exec_params("SELECT setval(s::regclass, greatest($2, coalesce(pg_sequence_last_value(s::regclass), 0))) "
                 "FROM pg_get_serial_sequence($1, 'id') AS s",
                 std::string{table}, last);
}

void set_meta(pqxx::work& tx, const char* key, const std::string& value) {
  tx.exec_params0("INSERT INTO deliveryd_meta (key, value) VALUES ($1, $2) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  std::string{key}, value);
}

/// Locks the copy's position `key` and checks that it is still `expected`: what this run last wrote.
void take_position(pqxx::work& tx, const char* key, std::int64_t expected) {
  auto r = tx.exec_params("SELECT value FROM deliveryd_meta WHERE key = $1 FOR UPDATE", std::string{key});
  if (r.empty() || r[0][0].as<std::string>() != std::to_string(expected))
    throw refusal{"the copy's position (" + std::string{key} + ") is not where this run left it: another copy "
                  "wrote to this ledger"};
}

std::string rows_text(std::int64_t sends, std::int64_t events) {
  return std::to_string(sends) + " sends and " + std::to_string(events) + " events";
}

} // namespace

struct import_target::impl {
  std::string url;
  std::unique_ptr<pqxx::connection> conn;

  /// Runs `f` with the connection; what it throws becomes a value.
  template <class F>
  auto guarded(const char* doing, F&& f) -> result<decltype(f())> {
    try {
      if (!conn || !conn->is_open())
        throw pqxx::broken_connection{"the connection was lost"};
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        return {};
      } else {
        return f();
      }
    } catch (const refusal& e) {
      return ledger_error{fault::corrupt, std::string{doing} + ": PostgreSQL (" + redact(url) + "): " + e.what()};
    } catch (const std::exception& e) {
      return describe(e, doing, url);
    }
  }
};

result<std::unique_ptr<import_target>> import_target::connect(const std::string& url) {
  auto self = std::make_unique<impl>();
  self->url = url;
  try {
    self->conn = postgresql::connect(url, true);
    pqxx::nontransaction lock{*self->conn};
    // A session lock: released by the server when this connection ends, however the run ends.
    if (!lock.exec_params1("SELECT pg_try_advisory_lock($1)", static_cast<long long>(copy_lock))[0].as<bool>())
      return ledger_error{fault::unavailable, "cannot copy into PostgreSQL (" + redact(url)
                                                + "): another copy-ledger is copying into it right now"};
  } catch (const std::exception& e) {
    return describe(e, "cannot connect to the PostgreSQL ledger", url);
  }
  return std::unique_ptr<import_target>{new import_target{std::move(self)}};
}

import_target::import_target(std::unique_ptr<impl> self) : self_{std::move(self)} {}
import_target::~import_target() = default;

result<import_state> import_target::state() {
  return self_->guarded("cannot read the PostgreSQL ledger", [&] {
    import_state s;
    s.schema = schema_version(*self_->conn);
    if (s.schema == 0)
      return s;
    pqxx::work tx{*self_->conn};
    auto counts = tx.exec1("SELECT (SELECT count(*) FROM sends), (SELECT count(*) FROM events)");
    s.sends = counts[0].as<std::int64_t>();
    s.events = counts[1].as<std::int64_t>();
    auto keys = tx.exec("SELECT key, value FROM deliveryd_meta WHERE key IN ('copy_source', 'copy_fingerprint', "
                        "'copy_sends_after', 'copy_held_after', 'copy_finished')");
    if (keys.empty())
      return s;
    copy_mark mark;
    for (const auto& row : keys) {
      const auto key = row[0].as<std::string>();
      const auto value = row[1].as<std::string>();
      if (key == "copy_source")
        mark.source = value;
      else if (key == "copy_fingerprint")
        mark.fingerprint = value;
      else if (key == "copy_sends_after")
        mark.sends_after = std::stoll(value);
      else if (key == "copy_held_after")
        mark.held_after = std::stoll(value);
      else if (key == "copy_finished")
        mark.finished = value == "true";
    }
    s.copy = std::move(mark);
    return s;
  });
}

result<void> import_target::begin(const std::string& source, const copy_census& census) {
  return self_->guarded("cannot begin the copy", [&] {
    pqxx::work tx{*self_->conn};
    if (tx.exec1("SELECT EXISTS (SELECT 1 FROM sends) OR EXISTS (SELECT 1 FROM events)")[0].as<bool>())
      throw refusal{"it holds sends already (a daemon writes to it?); copy-ledger copies into an empty ledger only"};
    set_meta(tx, "copy_source", source);
    set_meta(tx, "copy_fingerprint", census.fingerprint);
    set_meta(tx, "copy_sends_after", "0");
    set_meta(tx, "copy_held_after", "0");
    move_sequence(tx, "sends", census.last_send_id);
    move_sequence(tx, "events", census.last_event_id);
    tx.commit();
  });
}

result<void> import_target::add_chunk(const copy_chunk& chunk, std::int64_t after) {
  return self_->guarded("cannot copy sends", [&] {
    pqxx::work tx{*self_->conn};
    take_position(tx, "copy_sends_after", after);
    insert_rows(tx, sends_table(), chunk.sends);
    insert_rows(tx, events_table(), chunk.events);
    set_meta(tx, "copy_sends_after", std::to_string(chunk.last_id));
    tx.commit();
  });
}

result<void> import_target::add_held(const std::vector<copy_row>& events, std::int64_t after) {
  return self_->guarded("cannot copy held events", [&] {
    if (events.empty())
      return;
    pqxx::work tx{*self_->conn};
    take_position(tx, "copy_held_after", after);
    insert_rows(tx, events_table(), events);
    set_meta(tx, "copy_held_after", *events.back().front());
    tx.commit();
  });
}

result<void> import_target::finish(const std::vector<std::pair<copy_table, std::vector<copy_row>>>& tables,
                                   const copy_census& census) {
  return self_->guarded("cannot finish the copy", [&] {
    pqxx::work tx{*self_->conn};
    // Whatever wrote to the ledger besides this copy (a daemon started on it) shows in its counts or ids.
    auto holds = tx.exec1("SELECT (SELECT count(*) FROM sends), (SELECT coalesce(max(id), 0) FROM sends), "
                          "(SELECT count(*) FROM events), (SELECT coalesce(max(id), 0) FROM events)");
    const auto sends = holds[0].as<std::int64_t>();
    const auto events = holds[2].as<std::int64_t>();
    if (sends != census.sends || events != census.events || holds[1].as<std::int64_t>() > census.last_send_id
        || holds[3].as<std::int64_t>() > census.last_event_id)
      throw refusal{"it holds " + rows_text(sends, events) + " where the SQLite ledger has "
                    + rows_text(census.sends, census.events)
                    + ": something else wrote to it during the copy (a daemon started on it?)"};
    for (const auto& [table, rows] : tables) {
      tx.exec0("DELETE FROM " + std::string{table.name});
      insert_rows(tx, table, rows);
    }
    move_sequence(tx, "sends", census.last_send_id);
    move_sequence(tx, "events", census.last_event_id);
    set_meta(tx, "copy_finished", "true");
    tx.commit();
  });
}

} // namespace deliveryd::db::postgresql
