#include "db/postgresql/schema.hpp"

#include <array>
#include <string_view>

#include "core/money.hpp"
#include "db/write_rules.hpp"

namespace deliveryd::db::postgresql {

namespace {

// Each entry moves the schema from version i to i + 1. Never edit a released entry: append a new one.
// Instants are milliseconds since the epoch and days yyyymmdd in the configured zone, as in the SQLite ledger,
// so that cursors and exports read the same from both.
constexpr std::array<std::string_view, 2> migrations{{
  // v1: the SQLite ledger's schema v7, with its uniqueness as constraints: the same send_id or vendor message id
  // registered at two daemons at once is one send, whichever commits first.
  R"sql(
CREATE TABLE sends (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  send_id            text NOT NULL UNIQUE,
  type               text NOT NULL,
  source_id          text,
  source_name        text,
  medium             text NOT NULL,
  vendor             text,
  contact            text NOT NULL,
  requested_at       bigint NOT NULL,
  vendor_message_id  text,
  fallback_of        text,
  excluded_code      text,
  status             text NOT NULL,
  code               text NOT NULL DEFAULT '',
  reason             text NOT NULL DEFAULT '',
  category           text NOT NULL DEFAULT '',
  decided_at         bigint NOT NULL DEFAULT 0,
  vendor_price       text,
  vendor_price_unit  text,
  deadline_at        bigint,
  updated_at         bigint NOT NULL,
  next_poll_at       bigint,
  poll_attempts      integer NOT NULL DEFAULT 0,
  poll_claimed_until bigint,              -- database clock, ms: another daemon polls it after that
  poll_claimed_by    text,                -- host_id of the daemon that claimed the poll
  logical_status     text,
  logical_code       text,
  logical_reason     text,
  logical_category   text,
  day                integer NOT NULL,
  CONSTRAINT sends_vendor_message UNIQUE (vendor, vendor_message_id)
);
CREATE INDEX sends_by_time ON sends (requested_at, id);
CREATE INDEX sends_by_deadline ON sends (deadline_at) WHERE deadline_at IS NOT NULL;
CREATE INDEX sends_by_poll ON sends (vendor, next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE INDEX sends_by_fallback ON sends (fallback_of, id) WHERE fallback_of IS NOT NULL;

CREATE TABLE events (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  send              bigint,               -- sends.id; NULL while held for a send not registered yet
  vendor            text NOT NULL,
  vendor_message_id text,
  dedupe_key        text,
  source            text NOT NULL,
  outcome           text NOT NULL,
  code              text NOT NULL DEFAULT '',
  reason            text NOT NULL DEFAULT '',
  category          text NOT NULL DEFAULT '',
  vendor_time       bigint NOT NULL,
  received_at       bigint NOT NULL,
  vendor_status     text NOT NULL DEFAULT '',
  vendor_code       text NOT NULL DEFAULT '',
  status_after      text,
  code_after        text,
  raw               text
);
CREATE UNIQUE INDEX events_by_send ON events (send, dedupe_key) WHERE send IS NOT NULL;
CREATE UNIQUE INDEX events_held ON events (vendor, vendor_message_id, dedupe_key) WHERE send IS NULL;

CREATE TABLE rollups (
  scope    text NOT NULL,
  scope_id text NOT NULL,
  day      integer NOT NULL,
  medium   text NOT NULL,
  status   text NOT NULL,
  sends    bigint NOT NULL DEFAULT 0,
  logical  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, scope_id, day, medium, status)
);
CREATE TABLE price_rollups (
  scope    text NOT NULL,
  scope_id text NOT NULL,
  day      integer NOT NULL,
  currency text NOT NULL,
  micros   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, scope_id, day, currency)
);
CREATE TABLE pending_sends (
  vendor text PRIMARY KEY,
  sends  bigint NOT NULL DEFAULT 0
);
CREATE TABLE sources (
  month    integer NOT NULL,
  scope    text NOT NULL,
  scope_id text NOT NULL,
  name     text NOT NULL DEFAULT '',
  logical  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (month, scope, scope_id)
);
CREATE TABLE write_probe (
  host       text PRIMARY KEY,
  written_at bigint NOT NULL
);
)sql",
  // v2: the vendor accounts' fetch limits for the group (8 at once, 50 starts a second): the claims still held
  // are the fetches in flight, and each claim's start is kept for a second.
  R"sql(
CREATE INDEX sends_by_claim ON sends (vendor, poll_claimed_until) WHERE poll_claimed_until IS NOT NULL;
CREATE TABLE fetch_starts (
  vendor     text NOT NULL,
  started_at bigint NOT NULL              -- database clock, ms
);
CREATE INDEX fetch_starts_by_time ON fetch_starts (vendor, started_at);
)sql",
}};

/// True when the current schema has a table named `name`.
bool has_table(pqxx::transaction_base& tx, const std::string& name) {
  return tx.exec_params1("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1",
                         name)[0]
           .as<int>()
         > 0;
}

/// Fills sends.day in `zone` and recounts every roll-up, price roll-up and source from the sends.
void recount(pqxx::work& tx, const core::zone& zone) {
  tx.exec_params0("UPDATE sends SET day = to_char(to_timestamp(requested_at / 1000.0) AT TIME ZONE $1, "
                  "'YYYYMMDD')::integer", std::string{zone.name()});
  tx.exec0("DELETE FROM rollups; DELETE FROM price_rollups; DELETE FROM sources");
  for (std::string scope : {"all", "campaign", "one_time"}) {
    const auto where = scope == "all" ? std::string{} : " AND type = '" + scope + "' AND source_id IS NOT NULL";
    const auto id = scope == "all" ? std::string{"''"} : std::string{"source_id"};
    tx.exec0("INSERT INTO rollups (scope, scope_id, day, medium, status, sends, logical) SELECT '" + scope + "', "
             + id + ", day, medium, status, count(*), 0 FROM sends WHERE true" + where
             + " GROUP BY 2, day, medium, status ON CONFLICT (scope, scope_id, day, medium, status) "
               "DO UPDATE SET sends = rollups.sends + excluded.sends");
    tx.exec0("INSERT INTO rollups (scope, scope_id, day, medium, status, sends, logical) SELECT '" + scope + "', "
             + id + ", day, medium, coalesce(logical_status, status), 0, count(*) FROM sends "
               "WHERE fallback_of IS NULL" + where
             + " GROUP BY 2, day, medium, 5 ON CONFLICT (scope, scope_id, day, medium, status) "
               "DO UPDATE SET logical = rollups.logical + excluded.logical");
  }
  tx.exec0("INSERT INTO sources (month, scope, scope_id, name, logical) "
           "SELECT g.month, g.type, g.source_id, coalesce(named.source_name, ''), g.logical FROM ("
           "  SELECT day / 100 AS month, type, source_id, count(*) FILTER (WHERE fallback_of IS NULL) AS logical, "
           "         max(CASE WHEN source_name <> '' THEN id END) AS named_id "
           "  FROM sends WHERE type IN ('campaign', 'one_time') AND source_id IS NOT NULL GROUP BY 1, 2, 3) AS g "
           "LEFT JOIN sends AS named ON named.id = g.named_id");
  // Prices as the writer counts them (core::abs_micros), which SQL's numeric would not match for every text.
  tally prices;
  for (const auto& row : tx.exec("SELECT day, type, coalesce(source_id, ''), vendor_price, vendor_price_unit "
                                 "FROM sends WHERE vendor_price IS NOT NULL")) {
    rollup_key k;
    k.day = row[0].as<std::int32_t>();
    k.type = row[1].as<std::string>();
    k.source_id = row[2].as<std::string>();
    prices.count_price(k, "", "", row[3].as<std::string>(), row[4].is_null() ? "" : row[4].as<std::string>());
  }
  for (const auto& [id, micros] : prices.prices)
    tx.exec_params0("INSERT INTO price_rollups (scope, scope_id, day, currency, micros) VALUES ($1, $2, $3, $4, $5) "
                    "ON CONFLICT (scope, scope_id, day, currency) DO UPDATE SET micros = price_rollups.micros + "
                    "excluded.micros",
                    std::get<0>(id), std::get<1>(id), std::get<2>(id), std::get<3>(id), micros);
  tx.exec_params0("INSERT INTO deliveryd_meta (key, value) VALUES ('rollup_zone', $1) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  std::string{zone.name()});
}

/// The SQLite ledger that deliveryctl copy-ledger began to copy into this one and has not finished (its
/// copy_source in deliveryd_meta, without copy_finished); nullopt when there is none.
std::optional<std::string> unfinished_copy(pqxx::connection& c) {
  pqxx::nontransaction tx{c};
  auto r = tx.exec("SELECT value, EXISTS (SELECT 1 FROM deliveryd_meta WHERE key = 'copy_finished') "
                   "FROM deliveryd_meta WHERE key = 'copy_source'");
  if (r.empty() || r[0][1].as<bool>())
    return std::nullopt;
  return r[0][0].as<std::string>();
}

/// Releases the session's migration lock however migrate() ends.
class migration_guard {
public:
  explicit migration_guard(pqxx::connection& c) : c_{c} {
    pqxx::nontransaction lock{c_};
    lock.exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock) + ")");
  }
  ~migration_guard() {
    try {
      pqxx::nontransaction unlock{c_};
      unlock.exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock) + ")");
    } catch (...) {
      // The connection is gone, and its session's locks with it.
    }
  }
  migration_guard(const migration_guard&) = delete;
  migration_guard& operator=(const migration_guard&) = delete;

private:
  pqxx::connection& c_;
};

} // namespace

int latest_schema_version() noexcept { return static_cast<int>(migrations.size()); }

int schema_version(pqxx::connection& c) {
  pqxx::nontransaction tx{c};
  if (!has_table(tx, "deliveryd_meta"))
    return 0;
  auto r = tx.exec("SELECT value FROM deliveryd_meta WHERE key = 'schema_version'");
  return r.empty() ? 0 : std::stoi(r[0][0].as<std::string>());
}

std::optional<std::string> migrate(pqxx::connection& c, const core::zone& zone, const progress_report& progress) {
  migration_guard guard{c}; // the first daemon of a new version migrates; the others wait here, then find it done
  int version = 0;
  {
    pqxx::nontransaction tx{c};
    const bool ours = has_table(tx, "deliveryd_meta");
    const int tables =
      tx.exec1("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")[0].as<int>();
    if (!ours && tables > 0)
      return "the database is not a deliveryd ledger (its schema has other tables); refusing to touch it";
  }
  version = schema_version(c);
  if (version > latest_schema_version())
    return "the ledger has schema version " + std::to_string(version) + " but this deliveryd knows only up to "
           + std::to_string(latest_schema_version()) + "; run a newer deliveryd";
  // Half a copy answers half the queries, and a daemon's writes would keep the copy from finishing.
  if (version > 0)
    if (auto source = unfinished_copy(c))
      return "a copy of the SQLite ledger " + *source + " into it has not finished; run deliveryctl copy-ledger "
             "--from " + *source + " again to finish it";
  if (version > 0 && version < latest_schema_version() && progress)
    progress("upgrading the ledger from schema version " + std::to_string(version) + " to "
             + std::to_string(latest_schema_version()));
  for (int v = version; v < latest_schema_version(); ++v) {
    pqxx::work tx{c};
    if (v == 0)
      tx.exec0("CREATE TABLE deliveryd_meta (key text PRIMARY KEY, value text NOT NULL)");
    tx.exec0(std::string{migrations[static_cast<std::size_t>(v)]});
    tx.exec_params0("INSERT INTO deliveryd_meta (key, value) VALUES ('schema_version', $1) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    std::to_string(v + 1));
    tx.commit();
  }
  pqxx::work tx{c};
  auto zone_row = tx.exec("SELECT value FROM deliveryd_meta WHERE key = 'rollup_zone'");
  if (zone_row.empty() || zone_row[0][0].as<std::string>() != zone.name()) {
    if (progress && !tx.exec("SELECT 1 FROM sends LIMIT 1").empty())
      progress("counting every send's day and the roll-ups in " + std::string{zone.name()});
    recount(tx, zone);
  }
  tx.commit();
  return std::nullopt;
}

} // namespace deliveryd::db::postgresql
