#include "db/reader.hpp"

#include <charconv>
#include <limits>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace deliveryd::db {

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

} // namespace

std::string encode_cursor(const log_cursor& c) {
  char buf[48];
  auto* end = std::to_chars(buf, buf + sizeof buf, c.requested_at, 36).ptr;
  *end++ = '.';
  end = std::to_chars(end, buf + sizeof buf, c.id, 36).ptr;
  return std::string{buf, end};
}

std::optional<log_cursor> decode_cursor(std::string_view text) noexcept {
  auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= text.size() || text.size() > 40)
    return std::nullopt;
  log_cursor c;
  auto first = std::from_chars(text.data(), text.data() + dot, c.requested_at, 36);
  auto second = std::from_chars(text.data() + dot + 1, text.data() + text.size(), c.id, 36);
  if (first.ec != std::errc{} || first.ptr != text.data() + dot || second.ec != std::errc{}
      || second.ptr != text.data() + text.size() || c.requested_at < 0 || c.id < 0)
    return std::nullopt;
  // Only lower-case digits: one text per cursor.
  for (char ch : text)
    if (ch >= 'A' && ch <= 'Z')
      return std::nullopt;
  return c;
}

struct ledger_reader::impl {
  SQLite::Database db;
  SQLite::Statement day;
  SQLite::Statement find;
  SQLite::Statement history;
  SQLite::Statement legs;
  SQLite::Statement due;

  /// Adds the failover legs of a logical send to its row.
  void add_legs(log_row& row) {
    if (row.legs.empty())
      return;
    legs.reset();
    legs.bind(1, row.send_id);
    while (legs.executeStep())
      row.legs.push_back({legs.getColumn(0).getString(), legs.getColumn(1).getString(),
                          legs.getColumn(2).getString(), legs.getColumn(3).getString(),
                          legs.getColumn(4).getString()});
    legs.reset();
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
      find{db, std::string{"SELECT "} + row_columns + ", coalesce(vendor_message_id, ''), "
               "coalesce(fallback_of, ''), coalesce(vendor_price, ''), coalesce(vendor_price_unit, '') "
               "FROM sends WHERE send_id = ?"},
      history{db, "SELECT received_at, source, coalesce(status_after, ''), coalesce(code_after, ''), "
                  "vendor_status, vendor_code FROM events WHERE send = ? ORDER BY id"},
      legs{db, "SELECT send_id, medium, coalesce(vendor, ''), status, code FROM sends WHERE fallback_of = ? "
               "ORDER BY id"},
      due{db, "SELECT id, vendor_message_id, requested_at, status, poll_attempts, vendor_price IS NOT NULL "
              "FROM sends WHERE vendor = ? AND next_poll_at <= ? AND vendor_message_id IS NOT NULL "
              "ORDER BY next_poll_at LIMIT ?"} {
    db.setBusyTimeout(5000);
  }
};

std::variant<std::unique_ptr<ledger_reader>, open_error> ledger_reader::open(const std::string& path) {
  try {
    return std::unique_ptr<ledger_reader>{new ledger_reader{std::make_unique<impl>(path)}};
  } catch (const std::exception& e) {
    return open_error{path + ": cannot open the ledger for reading: " + e.what()};
  }
}

ledger_reader::ledger_reader(std::unique_ptr<impl> self) : self_{std::move(self)} {}
ledger_reader::~ledger_reader() = default;

day_page ledger_reader::day(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
                            std::optional<log_cursor> after) {
  auto& q = self_->day;
  q.reset();
  q.bind(1, static_cast<std::int64_t>(core::to_millis(from)));
  // Without a cursor the upper bound is (to, -inf): every row requested before `to`.
  q.bind(2, static_cast<std::int64_t>(after ? after->requested_at : core::to_millis(to)));
  q.bind(3, static_cast<std::int64_t>(after ? after->id : std::numeric_limits<std::int64_t>::min()));
  bind_optional(q, 4, filter.campaign);
  bind_optional(q, 5, filter.one_time);
  bind_optional(q, 6, filter.status ? std::optional<std::string>{std::string{core::to_string(*filter.status)}}
                                    : std::nullopt);
  bind_optional(q, 7, filter.medium ? std::optional<std::string>{std::string{core::to_string(*filter.medium)}}
                                    : std::nullopt);
  bind_optional(q, 8, filter.contact);
  q.bind(9, static_cast<std::int64_t>(limit + 1)); // one more tells whether another page exists
  day_page page;
  while (q.executeStep())
    page.rows.push_back(read_row(q));
  q.reset();
  for (auto& row : page.rows)
    self_->add_legs(row);
  if (page.rows.size() > limit) {
    page.rows.pop_back();
    const auto& last = page.rows.back();
    page.next = log_cursor{core::to_millis(last.requested_at), last.id};
  }
  return page;
}

std::optional<send_detail> ledger_reader::find(const std::string& send_id) {
  auto& q = self_->find;
  q.reset();
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
  h.reset();
  h.bind(1, static_cast<std::int64_t>(d.row.id));
  while (h.executeStep())
    d.history.push_back({core::from_millis(h.getColumn(0).getInt64()), h.getColumn(1).getString(),
                         h.getColumn(2).getString(), h.getColumn(3).getString(), h.getColumn(4).getString(),
                         h.getColumn(5).getString()});
  h.reset();
  return d;
}

std::vector<poll_target> ledger_reader::due_polls(core::vendor vendor, core::timestamp now, std::size_t limit) {
  auto& q = self_->due;
  q.reset();
  q.bind(1, std::string{core::to_string(vendor)});
  q.bind(2, static_cast<std::int64_t>(core::to_millis(now)));
  q.bind(3, static_cast<std::int64_t>(limit));
  std::vector<poll_target> out;
  while (q.executeStep()) {
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

reader_pool::lease::~lease() {
  if (pool_ && reader_) {
    std::lock_guard lock{pool_->mutex_};
    pool_->idle_.push_back(std::move(reader_));
  }
}

std::variant<reader_pool::lease, open_error> reader_pool::acquire() {
  {
    std::lock_guard lock{mutex_};
    if (!idle_.empty()) {
      auto reader = std::move(idle_.back());
      idle_.pop_back();
      return lease{this, std::move(reader)};
    }
  }
  auto opened = ledger_reader::open(path_);
  if (auto* err = std::get_if<open_error>(&opened))
    return *err;
  return lease{this, std::move(std::get<std::unique_ptr<ledger_reader>>(opened))};
}

} // namespace deliveryd::db
