// The source of a copy: an SQLite ledger read through a read-only connection in one read transaction, so that a
// run copies one state of it however long it takes. SQLiteCpp throws; every public call turns that into a value.
#include "db/sqlite/copy_source.hpp"

#include <filesystem>

#include <sqlite3.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "core/utf8.hpp"
#include "db/sqlite/schema.hpp"

namespace deliveryd::db::sqlite {

namespace {

/// "a, b, c" of a table's columns.
std::string column_list(const copy_table& table) {
  std::string out;
  for (const auto* column : table.columns)
    out += (out.empty() ? "" : ", ") + std::string{column};
  return out;
}

/// The current row of `q` as text. Text PostgreSQL cannot store (NUL, broken UTF-8: a vendor's payload may hold
/// them, and SQLite keeps them) gets U+FFFD in their place, as the PostgreSQL writer stores it.
copy_row read_row(SQLite::Statement& q) {
  copy_row row;
  row.reserve(static_cast<std::size_t>(q.getColumnCount()));
  for (int i = 0; i < q.getColumnCount(); ++i) {
    const auto column = q.getColumn(i);
    if (column.isNull())
      row.emplace_back();
    else if (column.isInteger())
      row.emplace_back(std::to_string(column.getInt64()));
    else
      row.emplace_back(core::to_storable_utf8(column.getString()));
  }
  return row;
}

std::vector<copy_row> read_rows(SQLite::Statement& q) {
  std::vector<copy_row> rows;
  while (q.executeStep())
    rows.push_back(read_row(q));
  q.reset();
  return rows;
}

/// Why the file at `path` cannot be the source of a copy; nullopt when it is a ledger of this build's schema.
std::optional<std::string> refuse(SQLite::Database& db, const std::string& path) {
  const int app = db.execAndGet("PRAGMA application_id").getInt();
  const int version = db.execAndGet("PRAGMA user_version").getInt();
  if (app != application_id)
    return path + " is not a deliveryd ledger (another application id, or an empty file)";
  if (version > latest_schema_version())
    return path + " has schema version " + std::to_string(version) + ", newer than this deliveryctl knows ("
           + std::to_string(latest_schema_version()) + "); copy it with a newer deliveryctl";
  if (version < latest_schema_version())
    return path + " has schema version " + std::to_string(version) + ", older than this deliveryctl's "
           + std::to_string(latest_schema_version()) + ": start deliveryd of this version once on it to upgrade it, "
           "stop it, then copy";
  return std::nullopt;
}

} // namespace

struct copy_source::impl {
  std::string path;
  SQLite::Database db;
  copy_census census;
  SQLite::Statement sends;
  SQLite::Statement events;
  SQLite::Statement held;

  /// `opened`: the ledger at `file`, checked by refuse().
  impl(const std::string& file, SQLite::Database opened)
    : path{file},
      db{std::move(opened)},
      sends{db, "SELECT " + column_list(sends_table()) + " FROM sends WHERE id > ? ORDER BY id LIMIT ?"},
      events{db, "SELECT " + column_list(events_table()) + " FROM events WHERE send > ? AND send <= ? ORDER BY id"},
      held{db, "SELECT " + column_list(events_table())
                 + " FROM events WHERE send IS NULL AND id > ? ORDER BY id LIMIT ?"} {}

  copy_census count() {
    copy_census c;
    SQLite::Statement zone{db, "SELECT value FROM meta WHERE key = 'rollup_zone'"};
    if (zone.executeStep())
      c.zone = zone.getColumn(0).getString();
    SQLite::Statement s{db, "SELECT count(*), coalesce(max(id), 0), coalesce(max(updated_at), 0), "
                            "coalesce(max(next_poll_at), 0), coalesce(sum(poll_attempts), 0), count(deadline_at), "
                            "count(vendor_price) FROM sends"};
    s.executeStep();
    c.sends = s.getColumn(0).getInt64();
    c.last_send_id = s.getColumn(1).getInt64();
    SQLite::Statement e{db, "SELECT count(*), coalesce(max(id), 0), count(*) - count(send) FROM events"};
    e.executeStep();
    c.events = e.getColumn(0).getInt64();
    c.last_event_id = e.getColumn(1).getInt64();
    c.held = e.getColumn(2).getInt64();
    c.fingerprint = "sends";
    for (int i = 0; i < s.getColumnCount(); ++i)
      c.fingerprint += " " + std::to_string(s.getColumn(i).getInt64());
    c.fingerprint += "; events";
    for (int i = 0; i < e.getColumnCount(); ++i)
      c.fingerprint += " " + std::to_string(e.getColumn(i).getInt64());
    return c;
  }

  ledger_error failure(const std::exception& e) const {
    return {fault::unavailable, path + ": cannot read the SQLite ledger: " + e.what()};
  }
};

result<std::unique_ptr<copy_source>> copy_source::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return ledger_error{fault::corrupt, path + ": no such SQLite ledger (not a file)"};
  try {
    SQLite::Database db{path, SQLite::OPEN_READONLY};
    db.setBusyTimeout(5000);
    if (auto refused = refuse(db, path))
      return ledger_error{fault::corrupt, *refused};
    auto self = std::make_unique<impl>(path, std::move(db));
    self->db.exec("BEGIN"); // the snapshot: every read of this run sees one state of the ledger
    self->census = self->count();
    if (self->census.zone.empty())
      return ledger_error{fault::corrupt, path + " has no zone for its days: start deliveryd once on it, stop it, "
                                                 "then copy"};
    return std::unique_ptr<copy_source>{new copy_source{std::move(self)}};
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xFF;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      return ledger_error{fault::corrupt, path + " is not an SQLite database, or a damaged one: " + e.what()};
    return ledger_error{fault::unavailable, path + ": cannot open the SQLite ledger: " + e.what()};
  } catch (const std::exception& e) {
    return ledger_error{fault::unavailable, path + ": cannot open the SQLite ledger: " + e.what()};
  }
}

copy_source::copy_source(std::unique_ptr<impl> self) : self_{std::move(self)} {}
copy_source::~copy_source() = default;

const copy_census& copy_source::census() const noexcept { return self_->census; }

result<copy_chunk> copy_source::sends_after(std::int64_t after, std::size_t limit) {
  try {
    copy_chunk chunk;
    auto& s = self_->sends;
    s.bind(1, static_cast<std::int64_t>(after));
    s.bind(2, static_cast<std::int64_t>(limit));
    chunk.sends = read_rows(s);
    if (chunk.sends.empty())
      return chunk;
    chunk.last_id = std::stoll(*chunk.sends.back().front());
    auto& e = self_->events;
    e.bind(1, static_cast<std::int64_t>(after));
    e.bind(2, static_cast<std::int64_t>(chunk.last_id));
    chunk.events = read_rows(e);
    return chunk;
  } catch (const std::exception& e) {
    self_->sends.tryReset();
    self_->events.tryReset();
    return self_->failure(e);
  }
}

result<std::vector<copy_row>> copy_source::held_after(std::int64_t after, std::size_t limit) {
  try {
    auto& h = self_->held;
    h.bind(1, static_cast<std::int64_t>(after));
    h.bind(2, static_cast<std::int64_t>(limit));
    return read_rows(h);
  } catch (const std::exception& e) {
    self_->held.tryReset();
    return self_->failure(e);
  }
}

result<std::vector<copy_row>> copy_source::rows_of(const copy_table& table) {
  try {
    SQLite::Statement q{self_->db, "SELECT " + column_list(table) + " FROM " + table.name};
    return read_rows(q);
  } catch (const std::exception& e) {
    return self_->failure(e);
  }
}

result<copy_census> copy_source::census_now() {
  try {
    self_->db.exec("COMMIT");
    return self_->count();
  } catch (const std::exception& e) {
    return self_->failure(e);
  }
}

} // namespace deliveryd::db::sqlite
