// Per-day roll-ups of the month summary, kept in the same transaction as the sends they count.
#include <chrono>
#include <map>
#include <vector>
#include <tuple>

#include "core/money.hpp"
#include "core/month.hpp"
#include "db/sqlite/store_impl.hpp"

namespace deliveryd::db::sqlite {

std::optional<rollup_key> ledger_store::impl::load_key(std::int64_t id) {
  auto& q = load_key_stmt;
  q.reset();
  q.bind(1, static_cast<std::int64_t>(id));
  if (!q.executeStep())
    return std::nullopt;
  auto k = read_key(q, 0, id);
  q.reset();
  return k;
}

std::optional<rollup_key> ledger_store::impl::group_parent(std::int64_t id) {
  auto key = load_key(id);
  if (!key)
    return std::nullopt;
  if (!key->leg)
    return key->medium == "alimtalk" ? key : std::nullopt;
  auto& q = parent_of_stmt;
  q.reset();
  q.bind(1, key->fallback_of);
  if (!q.executeStep())
    return std::nullopt;
  const auto parent = q.getColumn(0).getInt64();
  q.reset();
  return load_key(parent);
}

void ledger_store::impl::flush_rollups() {
  for (const auto& [row, sums] : counts.rollups) {
    if (sums.first == 0 && sums.second == 0)
      continue; // moved there and away again within the transaction
    auto& q = rollup_upsert;
    q.reset();
    q.bind(1, std::get<0>(row));
    q.bind(2, std::get<1>(row));
    q.bind(3, std::get<2>(row));
    q.bind(4, std::get<3>(row));
    q.bind(5, std::get<4>(row));
    q.bind(6, static_cast<std::int64_t>(sums.first));
    q.bind(7, static_cast<std::int64_t>(sums.second));
    q.exec();
  }
  for (const auto& [vendor, sends] : counts.pending) {
    if (sends == 0)
      continue;
    auto& q = pending_upsert;
    q.reset();
    q.bind(1, vendor);
    q.bind(2, static_cast<std::int64_t>(sends));
    q.exec();
  }
  for (const auto& [row, change] : counts.sources) {
    auto& q = source_upsert;
    q.reset();
    q.bind(1, std::get<0>(row));
    q.bind(2, std::get<1>(row));
    q.bind(3, std::get<2>(row));
    q.bind(4, change.second);
    q.bind(5, static_cast<std::int64_t>(change.first));
    q.exec();
  }
  for (const auto& [row, micros] : counts.prices) {
    if (micros == 0)
      continue;
    auto& q = price_upsert;
    q.reset();
    q.bind(1, std::get<0>(row));
    q.bind(2, std::get<1>(row));
    q.bind(3, std::get<2>(row));
    q.bind(4, std::get<3>(row));
    q.bind(5, static_cast<std::int64_t>(micros));
    q.exec();
  }
  counts.clear();
}

void ledger_store::impl::settle_group(const std::optional<rollup_key>& before, std::int64_t id) {
  auto after = group_parent(id);
  if (!after)
    return;
  counts.move_group(before, *after);
}

void ledger_store::impl::ensure_rollup_zone(const progress_report& progress) {
  const std::string zone_name{zone->name()};
  {
    SQLite::Statement q{db, "SELECT value FROM meta WHERE key = 'rollup_zone'"};
    if (q.executeStep() && q.getColumn(0).getString() == zone_name)
      return;
  }
  if (progress && db.execAndGet("SELECT EXISTS (SELECT 1 FROM sends)").getInt() == 1) // a new ledger: nothing to say
    progress("counting every send's day and the roll-ups in " + zone_name);
  db.exec("BEGIN IMMEDIATE");
  try {
    SQLite::Statement scan{db, "SELECT id, requested_at, type, coalesce(source_id, ''), "
                               "coalesce(vendor_price, ''), coalesce(vendor_price_unit, '') FROM sends"};
    SQLite::Statement set_day{db, "UPDATE sends SET day = ? WHERE id = ?"};
    db.exec("DELETE FROM rollups");
    db.exec("DELETE FROM price_rollups");
    db.exec("DELETE FROM sources");
    while (scan.executeStep()) {
      set_day.reset();
      const auto day = zone->day_of(core::from_millis(scan.getColumn(1).getInt64()));
      set_day.bind(1, day);
      set_day.bind(2, scan.getColumn(0).getInt64());
      set_day.exec();
      rollup_key k;
      k.day = day;
      k.type = scan.getColumn(2).getString();
      k.source_id = scan.getColumn(3).getString();
      counts.count_price(k, "", "", scan.getColumn(4).getString(), scan.getColumn(5).getString());
    }
    flush_rollups(); // the prices: the roll-ups are counted below, by group
    // Counts by group: legs count in `sends` only; a logical send counts once in `logical`.
    for (const char* scope : {"all", "campaign", "one_time"}) {
      const std::string where = std::string{scope} == "all" ? "" : std::string{" AND type = '"} + scope + "' AND source_id IS NOT NULL";
      const std::string id = std::string{scope} == "all" ? "''" : "source_id";
      db.exec("INSERT INTO rollups (scope, scope_id, day, medium, status, sends, logical) "
              "SELECT '" + std::string{scope} + "', " + id + ", day, medium, status, count(*), 0 FROM sends WHERE 1"
              + where + " GROUP BY 2, day, medium, status "
              "ON CONFLICT DO UPDATE SET sends = sends + excluded.sends");
      db.exec("INSERT INTO rollups (scope, scope_id, day, medium, status, sends, logical) "
              "SELECT '" + std::string{scope} + "', " + id + ", day, medium, coalesce(logical_status, status), 0, "
              "count(*) FROM sends WHERE fallback_of IS NULL" + where + " GROUP BY 2, day, medium, 5 "
              "ON CONFLICT DO UPDATE SET logical = logical + excluded.logical");
    }
    db.exec(sources_recount_sql);
    SQLite::Statement set_zone{db, "INSERT INTO meta (key, value) VALUES ('rollup_zone', ?) "
                                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value"};
    set_zone.bind(1, zone_name);
    set_zone.exec();
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
}

bool ledger_store::impl::take_purged(std::int64_t cutoff, core::day_number first_kept, std::size_t limit,
                                     std::vector<std::int64_t>& ids) {
  // One row past the limit says whether another step is due, so that the step which empties the backlog knows it
  // is the last (and the purge's closing log line is not left to a step that might never run).
  SQLite::Statement q{db, "SELECT id, status = 'pending' AND vendor IS NOT NULL, coalesce(vendor, ''), day, type, "
                          "coalesce(source_id, ''), fallback_of IS NULL FROM sends "
                          "WHERE requested_at < ? ORDER BY requested_at LIMIT ?"};
  q.bind(1, static_cast<std::int64_t>(cutoff));
  q.bind(2, static_cast<std::int64_t>(limit + 1));
  while (q.executeStep()) {
    if (ids.size() == limit)
      return true;
    ids.push_back(q.getColumn(0).getInt64());
    if (q.getColumn(1).getInt() != 0) // a send purged while pending (its vendor had no deadline) counts no more
      --counts.pending[q.getColumn(2).getString()];
    // A month partly kept counts only its kept sends; a month wholly purged loses its rows in purge().
    rollup_key k;
    k.day = q.getColumn(3).getInt();
    k.type = q.getColumn(4).getString();
    k.source_id = q.getColumn(5).getString();
    if (core::month_of(k.day) >= core::month_of(first_kept) && q.getColumn(6).getInt() != 0)
      counts.count_source(k, "", -1);
  }
  return false;
}

purge_outcome ledger_store::purge(core::timestamp now, int retention_days, std::size_t limit) {
  auto& d = *self_;
  d.flush_rollups(); // counts of the days about to go are deleted with them, not written after
  const auto first_kept = d.zone->day_of(now - std::chrono::days{retention_days});
  const auto cutoff = core::to_millis(d.zone->start_of_day(first_kept));
  purge_outcome out;
  std::vector<std::int64_t> ids;
  const bool more_sends = d.take_purged(cutoff, first_kept, limit, ids);
  SQLite::Statement events{d.db, "DELETE FROM events WHERE send = ?"};
  SQLite::Statement sends{d.db, "DELETE FROM sends WHERE id = ?"};
  for (auto id : ids) {
    events.reset();
    events.bind(1, static_cast<std::int64_t>(id));
    out.events += static_cast<std::size_t>(events.exec());
    sends.reset();
    sends.bind(1, static_cast<std::int64_t>(id));
    out.sends += static_cast<std::size_t>(sends.exec());
  }
  SQLite::Statement held{d.db, "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE send IS NULL "
                               "AND received_at < ? LIMIT ?)"};
  held.bind(1, static_cast<std::int64_t>(cutoff));
  held.bind(2, static_cast<std::int64_t>(limit));
  const auto held_purged = static_cast<std::size_t>(held.exec());
  out.events += held_purged;
  bool more_held = false;
  if (held_purged == limit) {
    SQLite::Statement left{d.db, "SELECT EXISTS (SELECT 1 FROM events WHERE send IS NULL AND received_at < ?)"};
    left.bind(1, static_cast<std::int64_t>(cutoff));
    more_held = left.executeStep() && left.getColumn(0).getInt() != 0;
  }
  SQLite::Statement rollups{d.db, "DELETE FROM rollups WHERE day < ?"};
  rollups.bind(1, first_kept);
  rollups.exec();
  SQLite::Statement prices{d.db, "DELETE FROM price_rollups WHERE day < ?"};
  prices.bind(1, first_kept);
  prices.exec();
  SQLite::Statement sources{d.db, "DELETE FROM sources WHERE month < ?"};
  sources.bind(1, core::month_of(first_kept));
  sources.exec();
  out.more = more_sends || more_held;
  d.settle_autocommit(); // the pending counts of the sends it removed, as every other write settles its counts
  return out;
}

} // namespace deliveryd::db::sqlite
