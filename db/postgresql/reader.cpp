// A read connection of the PostgreSQL ledger: the same queries as the SQLite reader, and the claims on due polls
// that keep two daemons from fetching one send.
#include <algorithm>
#include <limits>

#include "core/utf8.hpp"
#include "db/postgresql/backend.hpp"
#include "db/postgresql/connection.hpp"
#include "db/postgresql/schema.hpp"

namespace deliveryd::db::postgresql {

namespace {

// The logical state where a send has failover legs, its own otherwise; column 13 says which.
constexpr const char* row_columns =
  "id, send_id, requested_at, type, coalesce(source_id, ''), coalesce(source_name, ''), "
  "coalesce(logical_status, status), medium, coalesce(vendor, ''), contact, coalesce(logical_code, code), "
  "coalesce(logical_reason, reason), coalesce(logical_category, category), logical_status IS NOT NULL, status, code";
constexpr int row_column_count = 16;

constexpr const char* filter_sql = " AND fallback_of IS NULL "
                                   "AND ($4::text IS NULL OR (type = 'campaign' AND source_id = $4::text)) "
                                   "AND ($5::text IS NULL OR (type = 'one_time' AND source_id = $5::text)) "
                                   "AND ($6::text IS NULL OR coalesce(logical_status, status) = $6::text) "
                                   "AND ($7::text IS NULL OR medium = $7::text) "
                                   "AND ($8::text IS NULL OR contact = $8::text) ";

log_row read_row(const pqxx::row& q) {
  log_row r;
  r.id = q[0].as<std::int64_t>();
  r.send_id = q[1].as<std::string>();
  r.requested_at = core::from_millis(q[2].as<std::int64_t>());
  r.type = q[3].as<std::string>();
  r.source_id = q[4].as<std::string>();
  r.source_name = q[5].as<std::string>();
  r.status = q[6].as<std::string>();
  r.medium = q[7].as<std::string>();
  r.vendor = q[8].as<std::string>();
  r.contact = q[9].as<std::string>();
  r.code = q[10].as<std::string>();
  r.reason = q[11].as<std::string>();
  r.category = q[12].as<std::string>();
  if (q[13].as<bool>())
    r.legs.push_back({r.send_id, r.medium, r.vendor, q[14].as<std::string>(), q[15].as<std::string>()});
  return r;
}

/// True when every text filter can match stored text: PostgreSQL refuses NUL and broken UTF-8 as parameters, and
/// no stored value holds them (intake refuses them), so such a filter matches nothing.
bool matchable(const log_filter& f) {
  for (const auto* t : {&f.campaign, &f.one_time, &f.contact})
    if (*t && !core::is_storable_utf8(**t))
      return false;
  return true;
}

std::optional<std::string> text_of(const std::optional<core::status>& s) {
  return s ? std::optional<std::string>{std::string{core::to_string(*s)}} : std::nullopt;
}
std::optional<std::string> text_of(const std::optional<core::medium>& m) {
  return m ? std::optional<std::string>{std::string{core::to_string(*m)}} : std::nullopt;
}

const std::vector<std::pair<const char*, std::string>>& statements() {
  static const std::vector<std::pair<const char*, std::string>> all{
    {"day", std::string{"SELECT "} + row_columns + " FROM sends WHERE requested_at >= $1 "
              "AND (requested_at, id) < ($2, $3)" + filter_sql + "ORDER BY requested_at DESC, id DESC LIMIT $9"},
    {"ascending", std::string{"SELECT "} + row_columns + " FROM sends WHERE (requested_at, id) > ($1, $2) "
                    "AND requested_at < $3" + filter_sql + "ORDER BY requested_at, id LIMIT $9"},
    {"find", std::string{"SELECT "} + row_columns + ", coalesce(vendor_message_id, ''), coalesce(fallback_of, ''), "
               "coalesce(vendor_price, ''), coalesce(vendor_price_unit, '') FROM sends WHERE send_id = $1"},
    {"history", "SELECT received_at, source, coalesce(status_after, ''), coalesce(code_after, ''), vendor_status, "
                "vendor_code FROM events WHERE send = $1 ORDER BY id"},
    {"legs", "SELECT send_id, medium, coalesce(vendor, ''), status, code FROM sends WHERE fallback_of = $1 ORDER BY id"},
    // A claim: the sends due, not claimed by a daemon whose claim still holds (the database's clock decides),
    // skipping rows another daemon is claiming this instant.
    {"claim_due",
     "WITH due AS (SELECT id FROM sends WHERE vendor = $1 AND next_poll_at <= $2 AND vendor_message_id IS NOT NULL "
     "AND (poll_claimed_until IS NULL OR poll_claimed_until < (extract(epoch FROM clock_timestamp()) * 1000)::bigint) "
     "AND NOT (id = ANY($6::bigint[])) "
     "ORDER BY next_poll_at LIMIT $3 FOR UPDATE SKIP LOCKED) "
     "UPDATE sends SET poll_claimed_until = (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $4, "
     "poll_claimed_by = $5 FROM due WHERE sends.id = due.id AND sends.next_poll_at <= $2 "
     // Again on the row as the UPDATE locks it: a claim or a poll committed since this statement's snapshot wins.
     "AND (sends.poll_claimed_until IS NULL "
     "OR sends.poll_claimed_until < (extract(epoch FROM clock_timestamp()) * 1000)::bigint) "
     "RETURNING sends.id, sends.vendor_message_id, sends.requested_at, sends.status, sends.poll_attempts, "
     "sends.vendor_price IS NOT NULL, sends.next_poll_at"},
    // The account's limits for the group, under a lock per vendor that the claims of every daemon take in turn:
    // fetches in flight are the claims that still hold, starts are the claims of the last second.
    {"fetch_lock", "SELECT pg_advisory_xact_lock(" + std::to_string(fetch_lock) + ", hashtext($1))"},
    {"fetch_room", "WITH gone AS (DELETE FROM fetch_starts WHERE vendor = $1 AND started_at <= "
                   "(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1000) "
                   "SELECT (SELECT count(*) FROM sends WHERE vendor = $1 AND poll_claimed_until > "
                   "(extract(epoch FROM clock_timestamp()) * 1000)::bigint), "
                   "(SELECT count(*) FROM fetch_starts WHERE vendor = $1 AND started_at > "
                   "(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 1000)"},
    {"fetch_started", "INSERT INTO fetch_starts (vendor, started_at) SELECT $1, "
                      "(extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM generate_series(1, $2)"},
    {"pending", "SELECT vendor, sends FROM pending_sends WHERE sends <> 0 ORDER BY vendor"},
    {"rollups", "SELECT day, medium, status, sends, logical FROM rollups WHERE scope = $1 AND scope_id = $2 "
                "AND day BETWEEN $3 AND $4 AND (sends <> 0 OR logical <> 0)"},
    {"prices", "SELECT currency, sum(micros)::bigint FROM price_rollups WHERE scope = $1 AND scope_id = $2 "
               "AND day BETWEEN $3 AND $4 GROUP BY currency"},
    {"sources", "SELECT scope, scope_id, name, logical FROM sources WHERE month = $1 AND logical > 0 "
                "ORDER BY logical DESC, scope, scope_id"},
  };
  return all;
}

class reader final : public ledger_reader {
public:
  explicit reader(ledger_options options) : options_{std::move(options)} {}

  void connect_now() {
    conn_.reset();
    auto c = connect(options_.postgresql.url, true);
    for (const auto& [name, sql] : statements())
      c->prepare(name, sql);
    conn_ = std::move(c);
  }

  pqxx::connection& connection() { return *conn_; }

  result<day_page> day(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
                       std::optional<log_cursor> after) override {
    return guarded("cannot read the day", [&] {
      if (!matchable(filter))
        return day_page{};
      pqxx::read_transaction tx{*conn_};
      return read_page(tx, tx.exec_prepared("day", std::int64_t{core::to_millis(from)},
                                            after ? after->requested_at : std::int64_t{core::to_millis(to)},
                                            after ? after->id : std::numeric_limits<std::int64_t>::min(),
                                            filter.campaign, filter.one_time, text_of(filter.status),
                                            text_of(filter.medium), filter.contact,
                                            static_cast<std::int64_t>(limit + 1)),
                       limit);
    });
  }

  result<day_page> ascending(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
                             std::optional<log_cursor> after) override {
    return guarded("cannot read the month", [&] {
      if (!matchable(filter))
        return day_page{};
      pqxx::read_transaction tx{*conn_};
      return read_page(tx, tx.exec_prepared("ascending",
                                            after ? after->requested_at : std::int64_t{core::to_millis(from)},
                                            after ? after->id : std::numeric_limits<std::int64_t>::min(),
                                            std::int64_t{core::to_millis(to)}, filter.campaign, filter.one_time,
                                            text_of(filter.status), text_of(filter.medium), filter.contact,
                                            static_cast<std::int64_t>(limit + 1)),
                       limit);
    });
  }

  result<std::vector<poll_target>> due_polls(core::vendor vendor, core::timestamp now, std::size_t limit,
                                            const std::vector<std::int64_t>& busy,
                                            const fetch_limits& account) override {
    return guarded("cannot claim due polls", [&] {
      const std::string name{core::to_string(vendor)};
      pqxx::work tx{*conn_};
      tx.exec_prepared("fetch_lock", name);
      const auto room = tx.exec_prepared1("fetch_room", name);
      const auto in_flight = room[0].as<std::int64_t>();
      const auto started = room[1].as<std::int64_t>();
      const auto take = std::min({static_cast<std::int64_t>(limit),
                                  static_cast<std::int64_t>(account.concurrency) - in_flight,
                                  static_cast<std::int64_t>(account.per_second) - started});
      if (take <= 0)
        return std::vector<poll_target>{};
      auto rows = tx.exec_prepared("claim_due", name, std::int64_t{core::to_millis(now)}, take,
                                   static_cast<std::int64_t>(options_.postgresql.poll_lease.count()),
                                   options_.postgresql.host_id, bigint_array(busy));
      if (!rows.empty())
        tx.exec_prepared("fetch_started", name, static_cast<std::int64_t>(rows.size()));
      tx.commit();
      std::vector<std::pair<std::int64_t, poll_target>> claimed;
      for (const auto& r : rows) {
        poll_target t;
        t.id = r[0].as<std::int64_t>();
        t.vendor_message_id = r[1].as<std::string>();
        t.requested_at = core::from_millis(r[2].as<std::int64_t>());
        t.status = core::parse_status(r[3].as<std::string>()).value_or(core::status::pending);
        t.attempts = r[4].as<int>();
        t.priced = r[5].as<bool>();
        claimed.emplace_back(r[6].as<std::int64_t>(), std::move(t));
      }
      std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second.id < b.second.id;
      });
      std::vector<poll_target> out;
      out.reserve(claimed.size());
      for (auto& [at, t] : claimed)
        out.push_back(std::move(t));
      return out;
    });
  }

  result<summary_data> summary(const std::string& scope, const std::string& scope_id, core::day_number first,
                               core::day_number last) override {
    return guarded("cannot read the summary", [&] {
      summary_data out;
      if (!core::is_storable_utf8(scope) || !core::is_storable_utf8(scope_id))
        return out;
      pqxx::read_transaction tx{*conn_};
      for (const auto& r : tx.exec_prepared("rollups", scope, scope_id, first, last))
        out.rows.push_back({r[0].as<core::day_number>(), r[1].as<std::string>(), r[2].as<std::string>(),
                            r[3].as<std::int64_t>(), r[4].as<std::int64_t>()});
      for (const auto& r : tx.exec_prepared("prices", scope, scope_id, first, last))
        out.price_micros[r[0].as<std::string>()] = r[1].as<std::int64_t>();
      return out;
    });
  }

  result<std::vector<source_total>> sources(std::int32_t month) override {
    return guarded("cannot read the sources", [&] {
      pqxx::read_transaction tx{*conn_};
      std::vector<source_total> out;
      for (const auto& r : tx.exec_prepared("sources", month))
        out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                       r[3].as<std::int64_t>()});
      return out;
    });
  }

  result<std::optional<send_detail>> find(const std::string& send_id) override {
    return guarded("cannot read the send", [&]() -> std::optional<send_detail> {
      if (!core::is_storable_utf8(send_id))
        return std::nullopt;
      pqxx::read_transaction tx{*conn_};
      auto found = tx.exec_prepared("find", send_id);
      if (found.empty())
        return std::nullopt;
      send_detail d;
      d.row = read_row(found[0]);
      d.vendor_message_id = found[0][row_column_count].as<std::string>();
      d.fallback_of = found[0][row_column_count + 1].as<std::string>();
      d.vendor_price = found[0][row_column_count + 2].as<std::string>();
      d.vendor_price_unit = found[0][row_column_count + 3].as<std::string>();
      add_legs(tx, d.row);
      for (const auto& h : tx.exec_prepared("history", d.row.id))
        d.history.push_back({core::from_millis(h[0].as<std::int64_t>()), h[1].as<std::string>(),
                             h[2].as<std::string>(), h[3].as<std::string>(), h[4].as<std::string>(),
                             h[5].as<std::string>()});
      return d;
    });
  }

  result<std::vector<std::pair<std::string, std::int64_t>>> pending_by_vendor() override {
    return guarded("cannot read the pending sends", [&] {
      pqxx::read_transaction tx{*conn_};
      std::vector<std::pair<std::string, std::int64_t>> out;
      for (const auto& r : tx.exec_prepared("pending"))
        out.emplace_back(r[0].as<std::string>(), r[1].as<std::int64_t>());
      return out;
    });
  }

private:
  template <class F>
  auto guarded(const char* doing, F&& f) -> result<decltype(f())> {
    try {
      if (!conn_ || !conn_->is_open())
        connect_now();
      return f();
    } catch (const std::exception& e) {
      auto error = describe(e, doing, options_.postgresql.url);
      if (connection_lost(e) || (conn_ && !conn_->is_open()))
        conn_.reset(); // the next read connects again
      return error;
    }
  }

  void add_legs(pqxx::transaction_base& tx, log_row& row) {
    if (row.legs.empty())
      return;
    for (const auto& l : tx.exec_prepared("legs", row.send_id))
      row.legs.push_back({l[0].as<std::string>(), l[1].as<std::string>(), l[2].as<std::string>(),
                          l[3].as<std::string>(), l[4].as<std::string>()});
  }

  day_page read_page(pqxx::transaction_base& tx, const pqxx::result& rows, std::size_t limit) {
    day_page page;
    page.rows.reserve(rows.size());
    for (const auto& r : rows)
      page.rows.push_back(read_row(r));
    for (auto& row : page.rows)
      add_legs(tx, row);
    if (page.rows.size() > limit) {
      page.rows.pop_back();
      const auto& last = page.rows.back();
      page.next = log_cursor{core::to_millis(last.requested_at), last.id};
    }
    return page;
  }

  ledger_options options_;
  std::unique_ptr<pqxx::connection> conn_;
};

} // namespace

result<std::unique_ptr<ledger_reader>> open_reader(const ledger_options& options) {
  auto r = std::make_unique<reader>(options);
  try {
    r->connect_now();
    if (schema_version(r->connection()) == 0)
      return ledger_error{fault::unavailable, "cannot open the ledger for reading: PostgreSQL ("
                                                + redact(options.postgresql.url)
                                                + ") holds no ledger yet (the writer creates it)"};
  } catch (const std::exception& e) {
    return describe(e, "cannot open the ledger for reading", options.postgresql.url);
  }
  return std::unique_ptr<ledger_reader>{std::move(r)};
}

} // namespace deliveryd::db::postgresql
