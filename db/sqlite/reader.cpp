#include "db/sqlite/reader.hpp"

#include <algorithm>
#include <limits>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace deliveryd::db::sqlite {

namespace {

// The logical state where a send has failover legs, its own otherwise; column 13 says which.
constexpr const char* row_columns =
  "id, send_id, requested_at, type, coalesce(source_id, ''), coalesce(source_name, ''), "
  "coalesce(logical_status, status), medium, coalesce(vendor, ''), contact, coalesce(logical_code, code), "
  "coalesce(logical_reason, reason), coalesce(logical_category, category), logical_status IS NOT NULL, status, code";
constexpr int row_column_count = 16;

log_row read_row(SQLite::Statement& q) {
  log_row r;
  r.id = q.getColumn(0).getInt64();
  r.send_id = q.getColumn(1).getString();
  r.requested_at = core::from_millis(q.getColumn(2).getInt64());
  r.type = q.getColumn(3).getString();
  r.source_id = q.getColumn(4).getString();
  r.source_name = q.getColumn(5).getString();
  r.status = q.getColumn(6).getString();
  r.medium = q.getColumn(7).getString();
  r.vendor = q.getColumn(8).getString();
  r.contact = q.getColumn(9).getString();
  r.code = q.getColumn(10).getString();
  r.reason = q.getColumn(11).getString();
  r.category = q.getColumn(12).getString();
  if (q.getColumn(13).getInt() != 0) // the Alimtalk attempt first; its legs are added by the caller
    r.legs.push_back({r.send_id, r.medium, r.vendor, q.getColumn(14).getString(), q.getColumn(15).getString()});
  return r;
}

void bind_optional(SQLite::Statement& q, int index, const std::optional<std::string>& value) {
  if (value)
    q.bind(index, *value);
  else
    q.bind(index);
}

/// Binds a log filter to parameters ?4 (campaign) to ?8 (contact) of the day and ascending statements.
void bind_filter(SQLite::Statement& q, const log_filter& filter) {
  bind_optional(q, 4, filter.campaign);
  bind_optional(q, 5, filter.one_time);
  bind_optional(q, 6, filter.status ? std::optional<std::string>{std::string{core::to_string(*filter.status)}}
                                    : std::nullopt);
  bind_optional(q, 7, filter.medium ? std::optional<std::string>{std::string{core::to_string(*filter.medium)}}
                                    : std::nullopt);
  bind_optional(q, 8, filter.contact);
}

/// A prepared statement taken for one read. It is reset without throwing when taken (SQLiteCpp's reset() throws
/// the failure of the statement's last step again, which would fail a read after the one that failed), and reset
/// again when the read ends, by an exception too, so that a failed read never leaves a read transaction open on a
/// pooled connection (it would keep the WAL from starting over).
class statement_use {
public:
  explicit statement_use(SQLite::Statement& q) noexcept : q_{q} { q_.tryReset(); }
  ~statement_use() { q_.tryReset(); }
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;

private:
  SQLite::Statement& q_;
};

} // namespace

struct reader::impl {
  SQLite::Database db;
  SQLite::Statement day;
  SQLite::Statement ascending;
  SQLite::Statement find;
  SQLite::Statement history;
  SQLite::Statement legs;
  SQLite::Statement due;
  SQLite::Statement pending;
  SQLite::Statement rollups;
  SQLite::Statement prices;
  SQLite::Statement month_sources;

  /// Adds the failover legs of a logical send to its row.
  void add_legs(log_row& row) {
    if (row.legs.empty())
      return;
    statement_use use{legs};
    legs.bind(1, row.send_id);
    while (legs.executeStep())
      row.legs.push_back({legs.getColumn(0).getString(), legs.getColumn(1).getString(),
                          legs.getColumn(2).getString(), legs.getColumn(3).getString(),
                          legs.getColumn(4).getString()});
    legs.reset();
  }

  /// Runs a bound page statement that asks for `limit + 1` rows: the page, its legs, and the next cursor.
  day_page read_page(SQLite::Statement& q, std::size_t limit) {
    day_page page;
    page.rows.reserve(limit + 1);
    while (q.executeStep())
      page.rows.push_back(read_row(q));
    q.reset(); // ends the read transaction: a long export never pins the WAL between chunks
    for (auto& row : page.rows)
      add_legs(row);
    if (page.rows.size() > limit) {
      page.rows.pop_back();
      const auto& last = page.rows.back();
      page.next = log_cursor{core::to_millis(last.requested_at), last.id};
    }
    return page;
  }

  explicit impl(const std::string& path)
    : db{path, SQLite::OPEN_READONLY},
      day{db, std::string{"SELECT "} + row_columns + " FROM sends "
              "WHERE requested_at >= ?1 AND (requested_at, id) < (?2, ?3) AND fallback_of IS NULL "
              "AND (?4 IS NULL OR (type = 'campaign' AND source_id = ?4)) "
              "AND (?5 IS NULL OR (type = 'one_time' AND source_id = ?5)) "
              "AND (?6 IS NULL OR coalesce(logical_status, status) = ?6) AND (?7 IS NULL OR medium = ?7) "
              "AND (?8 IS NULL OR contact = ?8) "
              "ORDER BY requested_at DESC, id DESC LIMIT ?9"},
      ascending{db, std::string{"SELECT "} + row_columns + " FROM sends "
                    "WHERE (requested_at, id) > (?1, ?2) AND requested_at < ?3 AND fallback_of IS NULL "
                    "AND (?4 IS NULL OR (type = 'campaign' AND source_id = ?4)) "
                    "AND (?5 IS NULL OR (type = 'one_time' AND source_id = ?5)) "
                    "AND (?6 IS NULL OR coalesce(logical_status, status) = ?6) AND (?7 IS NULL OR medium = ?7) "
                    "AND (?8 IS NULL OR contact = ?8) "
                    "ORDER BY requested_at, id LIMIT ?9"},
      find{db, std::string{"SELECT "} + row_columns + ", coalesce(vendor_message_id, ''), "
               "coalesce(fallback_of, ''), coalesce(vendor_price, ''), coalesce(vendor_price_unit, '') "
               "FROM sends WHERE send_id = ?"},
      history{db, "SELECT received_at, source, coalesce(status_after, ''), coalesce(code_after, ''), "
                  "vendor_status, vendor_code FROM events WHERE send = ? ORDER BY id"},
      legs{db, "SELECT send_id, medium, coalesce(vendor, ''), status, code FROM sends WHERE fallback_of = ? "
               "ORDER BY id"},
      due{db, "SELECT id, vendor_message_id, requested_at, status, poll_attempts, vendor_price IS NOT NULL "
              "FROM sends WHERE vendor = ? AND next_poll_at <= ? AND vendor_message_id IS NOT NULL "
              "ORDER BY next_poll_at LIMIT ?"},
      // The writer keeps these counts in the transaction that changes a send's status (schema v6): reading them
      // costs nothing, whatever the number of pending sends (counting the sends themselves took 0.35 s for 4.7M).
      pending{db, "SELECT vendor, sends FROM pending_sends WHERE sends != 0 ORDER BY vendor"},
      rollups{db, "SELECT day, medium, status, sends, logical FROM rollups WHERE scope = ? AND scope_id = ? "
                  "AND day BETWEEN ? AND ? AND (sends != 0 OR logical != 0)"},
      prices{db, "SELECT currency, sum(micros) FROM price_rollups WHERE scope = ? AND scope_id = ? "
                 "AND day BETWEEN ? AND ? GROUP BY currency"},
      month_sources{db, "SELECT scope, scope_id, name, logical FROM sources WHERE month = ? AND logical > 0 "
                        "ORDER BY logical DESC, scope, scope_id"} {
    db.setBusyTimeout(5000);
  }
};

std::variant<std::unique_ptr<reader>, ledger_error> reader::open(const std::string& path) {
  try {
    return std::unique_ptr<reader>{new reader{std::make_unique<impl>(path)}};
  } catch (const std::exception& e) {
    return ledger_error{fault::unavailable, path + ": cannot open the ledger for reading: " + e.what()};
  }
}

reader::reader(std::unique_ptr<impl> self) : self_{std::move(self)} {}
reader::~reader() = default;

day_page reader::day(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
                            std::optional<log_cursor> after) {
  auto& q = self_->day;
  statement_use use{q};
  q.bind(1, static_cast<std::int64_t>(core::to_millis(from)));
  // Without a cursor the upper bound is (to, -inf): every row requested before `to`.
  q.bind(2, static_cast<std::int64_t>(after ? after->requested_at : core::to_millis(to)));
  q.bind(3, static_cast<std::int64_t>(after ? after->id : std::numeric_limits<std::int64_t>::min()));
  bind_filter(q, filter);
  q.bind(9, static_cast<std::int64_t>(limit + 1)); // one more tells whether another page exists
  return self_->read_page(q, limit);
}

day_page reader::ascending(core::timestamp from, core::timestamp to, const log_filter& filter,
                                  std::size_t limit, std::optional<log_cursor> after) {
  auto& q = self_->ascending;
  statement_use use{q};
  // Without a cursor the lower bound is (from, -inf): every row requested at or after `from`.
  q.bind(1, static_cast<std::int64_t>(after ? after->requested_at : core::to_millis(from)));
  q.bind(2, static_cast<std::int64_t>(after ? after->id : std::numeric_limits<std::int64_t>::min()));
  q.bind(3, static_cast<std::int64_t>(core::to_millis(to)));
  bind_filter(q, filter);
  q.bind(9, static_cast<std::int64_t>(limit + 1));
  return self_->read_page(q, limit);
}

std::optional<send_detail> reader::find(const std::string& send_id) {
  auto& q = self_->find;
  statement_use use{q};
  q.bind(1, send_id);
  if (!q.executeStep())
    return std::nullopt;
  send_detail d;
  d.row = read_row(q);
  d.vendor_message_id = q.getColumn(row_column_count).getString();
  d.fallback_of = q.getColumn(row_column_count + 1).getString();
  d.vendor_price = q.getColumn(row_column_count + 2).getString();
  d.vendor_price_unit = q.getColumn(row_column_count + 3).getString();
  q.reset();
  self_->add_legs(d.row);
  auto& h = self_->history;
  statement_use use_history{h};
  h.bind(1, static_cast<std::int64_t>(d.row.id));
  while (h.executeStep())
    d.history.push_back({core::from_millis(h.getColumn(0).getInt64()), h.getColumn(1).getString(),
                         h.getColumn(2).getString(), h.getColumn(3).getString(), h.getColumn(4).getString(),
                         h.getColumn(5).getString()});
  h.reset();
  return d;
}

summary_data reader::summary(const std::string& scope, const std::string& scope_id, core::day_number first,
                                   core::day_number last) {
  summary_data out;
  statement_use use_rollups{self_->rollups};
  statement_use use_prices{self_->prices};
  for (auto* q : {&self_->rollups, &self_->prices}) {
    q->bind(1, scope);
    q->bind(2, scope_id);
    q->bind(3, first);
    q->bind(4, last);
  }
  auto& r = self_->rollups;
  while (r.executeStep())
    out.rows.push_back({r.getColumn(0).getInt(), r.getColumn(1).getString(), r.getColumn(2).getString(),
                        r.getColumn(3).getInt64(), r.getColumn(4).getInt64()});
  r.reset();
  auto& p = self_->prices;
  while (p.executeStep())
    out.price_micros[p.getColumn(0).getString()] = p.getColumn(1).getInt64();
  p.reset();
  return out;
}

std::vector<source_total> reader::sources(std::int32_t month) {
  auto& q = self_->month_sources;
  statement_use use{q};
  q.bind(1, month);
  std::vector<source_total> out;
  while (q.executeStep())
    out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                   q.getColumn(3).getInt64()});
  return out;
}

std::vector<poll_target> reader::due_polls(core::vendor vendor, core::timestamp now, std::size_t limit,
                                           const std::vector<std::int64_t>& busy) {
  auto& q = self_->due;
  statement_use use{q};
  q.bind(1, std::string{core::to_string(vendor)});
  q.bind(2, static_cast<std::int64_t>(core::to_millis(now)));
  q.bind(3, static_cast<std::int64_t>(limit + busy.size())); // the busy ones may be among the earliest
  std::vector<poll_target> out;
  while (out.size() < limit && q.executeStep()) {
    if (std::find(busy.begin(), busy.end(), q.getColumn(0).getInt64()) != busy.end())
      continue;
    poll_target t;
    t.id = q.getColumn(0).getInt64();
    t.vendor_message_id = q.getColumn(1).getString();
    t.requested_at = core::from_millis(q.getColumn(2).getInt64());
    t.status = core::parse_status(q.getColumn(3).getString()).value_or(core::status::pending);
    t.attempts = q.getColumn(4).getInt();
    t.priced = q.getColumn(5).getInt() != 0;
    out.push_back(std::move(t));
  }
  q.reset();
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> reader::pending_by_vendor() {
  auto& q = self_->pending;
  statement_use use{q};
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (q.executeStep())
    out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt64());
  q.reset();
  return out;
}

} // namespace deliveryd::db::sqlite
