#include "db/sqlite/schema.hpp"

#include <array>
#include <cstdint>
#include <string_view>

#include <sqlite3.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Transaction.h>

#include "adapters/crypto.hpp"

// The sources of every month recounted from the sends: v7's data, and part of a recount for a new zone. The text
// is part of a released migration: never edit it, write a new statement for new code instead.
#define SOURCES_RECOUNT_SQL \
  "INSERT INTO sources (month, scope, scope_id, name, logical) " \
  "SELECT g.month, g.type, g.source_id, coalesce(named.source_name, ''), g.logical FROM (" \
  "  SELECT day / 100 AS month, type, source_id, sum(fallback_of IS NULL) AS logical, " \
  "         max(CASE WHEN source_name <> '' THEN id END) AS named_id " \
  "  FROM sends WHERE type IN ('campaign', 'one_time') AND source_id IS NOT NULL GROUP BY 1, 2, 3) AS g " \
  "LEFT JOIN sends AS named ON named.id = g.named_id;\n"

namespace deliveryd::db::sqlite {

namespace {

/// Rows of `sends` keyed per transaction by key_sends: about 20 MB of pages, so the WAL stays small.
constexpr std::int64_t key_chunk_rows = 100000;

/// deliveryd_message_key(vendor, id) in SQL, for the v5 migration.
void message_key_function(sqlite3_context* ctx, int, sqlite3_value** args) {
  const auto text_of = [](sqlite3_value* v) -> std::optional<std::string_view> {
    const auto* text = sqlite3_value_text(v); // before sqlite3_value_bytes, which then counts that text
    if (text == nullptr)
      return std::nullopt;
    return std::string_view{reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_value_bytes(v))};
  };
  const auto vendor = text_of(args[0]);
  const auto id = text_of(args[1]);
  if (!vendor || !id) {
    sqlite3_result_null(ctx);
    return;
  }
  try {
    sqlite3_result_int64(ctx, vendor_message_key(*vendor, *id));
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

int user_version(SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); }

/// v5's data step: adds sends.message_key (vendor_message_key(vendor, vendor_message_id), NULL unless both are
/// set) and fills it through deliveryd_message_key, which it registers on this connection only, committing every
/// key_chunk_rows rows. In one transaction, rewriting every send put the whole table in the WAL (twice the disk,
/// and SQLite searching a huge WAL for every page: 81 s for 5.4M sends, against 19 s in steps). A crash in
/// between loses nothing: the next start finds the column and keys the rows still without a key.
void key_sends(SQLite::Database& db, const progress_report& progress) {
  if (sqlite3_create_function_v2(db.getHandle(), "deliveryd_message_key", 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, nullptr,
                                 message_key_function, nullptr, nullptr, nullptr)
      != SQLITE_OK)
    throw SQLite::Exception{db.getHandle()};
  if (db.execAndGet("SELECT count(*) FROM pragma_table_info('sends') WHERE name = 'message_key'").getInt() == 0)
    db.exec("ALTER TABLE sends ADD COLUMN message_key INTEGER");
  const std::int64_t last = db.execAndGet("SELECT coalesce(max(id), 0) FROM sends").getInt64();
  SQLite::Statement fill{db, "UPDATE sends SET message_key = deliveryd_message_key(vendor, vendor_message_id) "
                             "WHERE id > ? AND id <= ? AND vendor IS NOT NULL AND vendor_message_id IS NOT NULL "
                             "AND message_key IS NULL"};
  for (std::int64_t from = 0; from < last; from += key_chunk_rows) {
    if (progress && from % (10 * key_chunk_rows) == 0) // every 2 s or so
      progress("schema version 5: keying sends by vendor message id, row " + std::to_string(from) + " of "
               + std::to_string(last));
    SQLite::Transaction tx{db, SQLite::TransactionBehavior::IMMEDIATE};
    fill.reset();
    fill.bind(1, from);
    fill.bind(2, from + key_chunk_rows);
    fill.exec();
    tx.commit();
  }
}

/// One step of the schema: `sql` runs in one transaction with the version bump; `data`, when set, runs before
/// it, in transactions of its own, and must be safe to run again after a crash halfway (the version is still
/// the old one then). `what`, when set, is what an upgrade says while `sql` runs: a step that reads or
/// indexes every send or event, which takes seconds per million.
struct migration {
  std::string_view sql;
  void (*data)(SQLite::Database&, const progress_report&) = nullptr;
  std::string_view what{};
};

// Each entry moves the schema from version i to i + 1. Never edit a released entry: append a new one.
constexpr std::array<migration, 7> migrations{{
  {// v1: sends with their current state, and the append-only history of events.
  R"sql(
CREATE TABLE sends (
  id                INTEGER PRIMARY KEY,      -- insertion order: new sends append to the B-tree
  send_id           TEXT NOT NULL UNIQUE,     -- the pipeline's idempotency key
  type              TEXT NOT NULL,
  source_id         TEXT,
  source_name       TEXT,
  medium            TEXT NOT NULL,
  vendor            TEXT,                     -- NULL only for excluded sends without a vendor
  contact           TEXT NOT NULL,            -- E.164 or e-mail, normalised at intake
  requested_at      INTEGER NOT NULL,         -- ms since the epoch
  vendor_message_id TEXT,
  fallback_of       TEXT,                     -- send_id of the Alimtalk send this is a failover leg of
  excluded_code     TEXT,                     -- as registered, for idempotency checks
  status            TEXT NOT NULL,
  code              TEXT NOT NULL DEFAULT '',
  reason            TEXT NOT NULL DEFAULT '',
  category          TEXT NOT NULL DEFAULT '',
  decided_at        INTEGER NOT NULL DEFAULT 0,
  vendor_price      TEXT,                     -- exactly as the vendor reported it ("-0.00790")
  vendor_price_unit TEXT,
  deadline_at       INTEGER,                  -- when a still pending send becomes uncertain; NULL once final
  updated_at        INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX sends_by_vendor_message ON sends(vendor, vendor_message_id)
  WHERE vendor_message_id IS NOT NULL;
CREATE INDEX sends_by_time ON sends(requested_at, id);
CREATE INDEX sends_by_deadline ON sends(deadline_at) WHERE deadline_at IS NOT NULL;

CREATE TABLE events (
  id                INTEGER PRIMARY KEY,
  send              INTEGER,                  -- sends.id; NULL while held for a send not registered yet
  vendor            TEXT NOT NULL,
  vendor_message_id TEXT,
  dedupe_key        TEXT,                     -- the vendor's identity of the event, NULL if none
  source            TEXT NOT NULL,
  outcome           TEXT NOT NULL,
  code              TEXT NOT NULL DEFAULT '',
  reason            TEXT NOT NULL DEFAULT '',
  category          TEXT NOT NULL DEFAULT '',
  vendor_time       INTEGER NOT NULL,
  received_at       INTEGER NOT NULL,
  vendor_status     TEXT NOT NULL DEFAULT '',
  vendor_code       TEXT NOT NULL DEFAULT '',
  status_after      TEXT,                     -- the send's state after this event (NULL while held)
  code_after        TEXT,
  raw               TEXT                      -- the vendor's payload as received, for audits
) STRICT;
CREATE UNIQUE INDEX events_by_dedupe ON events(vendor, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX events_by_send ON events(send, id) WHERE send IS NOT NULL;
CREATE INDEX events_held ON events(vendor, vendor_message_id) WHERE send IS NULL;
)sql"},
  {// v2: polling schedules of the vendor actors that poll; the logical state of Alimtalk sends with failover
  // legs (NULL while a send has no legs: its own state is its logical state); the write probe, one row
  // rewritten while commits fail (a commit that writes nothing proves nothing about the disk).
  R"sql(
CREATE TABLE write_probe (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  written_at INTEGER NOT NULL
) STRICT;
ALTER TABLE sends ADD COLUMN next_poll_at INTEGER;                   -- ms; NULL: nothing to poll
ALTER TABLE sends ADD COLUMN poll_attempts INTEGER NOT NULL DEFAULT 0; -- grows the back-off
ALTER TABLE sends ADD COLUMN logical_status TEXT;
ALTER TABLE sends ADD COLUMN logical_code TEXT;
ALTER TABLE sends ADD COLUMN logical_reason TEXT;
ALTER TABLE sends ADD COLUMN logical_category TEXT;
CREATE INDEX sends_by_poll ON sends(vendor, next_poll_at) WHERE next_poll_at IS NOT NULL;
CREATE INDEX sends_by_fallback ON sends(fallback_of, id) WHERE fallback_of IS NOT NULL;
)sql"},
  {// v3: per-day roll-ups for the month summary, kept in the same transaction as the sends. `day` is the
  // calendar day of requested_at in the configured zone; ledger_store::open fills it (and rebuilds the
  // roll-ups) whenever the zone recorded in `meta` is not the configured one, which includes this upgrade.
  R"sql(
ALTER TABLE sends ADD COLUMN day INTEGER NOT NULL DEFAULT 0;
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE rollups (
  scope    TEXT NOT NULL,              -- 'all', 'campaign' or 'one_time'
  scope_id TEXT NOT NULL,              -- '' for 'all', else the source_id
  day      INTEGER NOT NULL,           -- yyyymmdd in the configured zone
  medium   TEXT NOT NULL,
  status   TEXT NOT NULL,
  sends    INTEGER NOT NULL DEFAULT 0, -- every send of this medium in this (own) status, legs included: by_medium
  logical  INTEGER NOT NULL DEFAULT 0, -- logical sends (legs excluded) in this logical status: total, by_status, days
  PRIMARY KEY (scope, scope_id, day, medium, status)
) STRICT, WITHOUT ROWID;
-- Pending sends by vendor for the metrics endpoint: deadline_at is set exactly while a send is pending.
CREATE INDEX sends_pending ON sends(vendor) WHERE deadline_at IS NOT NULL;
CREATE TABLE price_rollups (
  scope    TEXT NOT NULL,
  scope_id TEXT NOT NULL,
  day      INTEGER NOT NULL,
  currency TEXT NOT NULL,
  micros   INTEGER NOT NULL DEFAULT 0, -- sum of |vendor_price| in millionths of the currency unit
  PRIMARY KEY (scope, scope_id, day, currency)
) STRICT, WITHOUT ROWID;
)sql"},
  {// v4: event dedupe with locality. A vendor's event ids (Twilio MessageSid|status, SendGrid sg_event_id) are
  // random, so a unique index on (vendor, dedupe_key) took every event into a random leaf of a B-tree as large
  // as the history: once that outgrows the cache, each commit writes one page per event. Every dedupe key
  // names its message, so uniqueness per send says the same, and (send, dedupe_key) inserts land next to the
  // send's other events, which arrive in roughly the order the sends were made. Held events (no send yet) are
  // unique per (vendor, vendor_message_id, dedupe_key), an index that also serves their lookup.
  R"sql(
DROP INDEX events_by_dedupe;
DROP INDEX events_held;
CREATE UNIQUE INDEX events_dedupe ON events(send, dedupe_key) WHERE send IS NOT NULL AND dedupe_key IS NOT NULL;
CREATE UNIQUE INDEX events_held ON events(vendor, vendor_message_id, dedupe_key) WHERE send IS NULL;
)sql", nullptr, "indexing events for dedupe per send"},
  {// v5: sends found by a 48-bit key of (vendor, vendor_message_id) instead of the text pair. A unique index on
  // the pair held about 40 bytes of random text per send, and every webhook, poll and intake descended it: its
  // text comparisons and its size (256 MB at 5M sends) made it the costliest step of an intake. The key's
  // index is a third of that, compared as integers. Keys may collide, so the index is not unique: the writer
  // looks the pair up before it inserts or sets a vendor id, and every lookup compares vendor and id too.
  // key_sends (above) adds and fills sends.message_key before this runs.
  R"sql(
DROP INDEX sends_by_vendor_message;
CREATE INDEX sends_by_message_key ON sends(message_key) WHERE message_key IS NOT NULL;
)sql", key_sends, "indexing the message keys"},
  {// v6: a vendor's callback writes fewer pages. Callbacks reach their sends in no order the B-trees share, so
  // each index entry a callback adds or removes costs a leaf of its own in the commit. Three such entries go:
  // - sends_pending: the pending sends per vendor are counted in pending_sends instead, summed per transaction
  //   like the roll-ups (status = 'pending' is what it counts).
  // - sends_by_deadline's entry of a send that becomes final: deadline_at now stays set until the deadline
  //   passes, when the sweep clears it (and makes the send uncertain only if it is still pending). The sweep
  //   meets the sends in deadline order, so the clearing writes neighbouring rows and leaves together.
  // - events_dedupe, merged into events_by_send: a unique index on (send, dedupe_key) still refuses a duplicate
  //   (NULL keys are distinct), and a send's events are found there as before, then ordered by id.
  R"sql(
CREATE TABLE pending_sends (
  vendor TEXT PRIMARY KEY,
  sends  INTEGER NOT NULL DEFAULT 0   -- sends of this vendor whose own status is 'pending'
) STRICT, WITHOUT ROWID;
INSERT INTO pending_sends (vendor, sends)
  SELECT vendor, count(*) FROM sends WHERE status = 'pending' AND vendor IS NOT NULL GROUP BY vendor;
DROP INDEX sends_pending;
DROP INDEX events_dedupe;
DROP INDEX events_by_send;
CREATE UNIQUE INDEX events_by_send ON events(send, dedupe_key) WHERE send IS NOT NULL;
)sql", nullptr, "counting the pending sends and indexing events by send"},
  {// v7: the campaigns and one-time messages of each month with their names and numbers of sends, for the
  // console's chooser (GET /v1/log/sources): one short range of this table per month, where the roll-ups would
  // need every source's days. Kept by the writer like the roll-ups; recounted with them for a new zone.
  R"sql(
CREATE TABLE sources (
  month    INTEGER NOT NULL,           -- yyyymm in the configured zone (sends.day / 100)
  scope    TEXT NOT NULL,              -- 'campaign' or 'one_time'
  scope_id TEXT NOT NULL,              -- the source_id
  name     TEXT NOT NULL DEFAULT '',   -- source_name of the latest send registered with one
  logical  INTEGER NOT NULL DEFAULT 0, -- logical sends of the month (failover legs not counted), as in rollups
  PRIMARY KEY (month, scope, scope_id)
) STRICT, WITHOUT ROWID;
)sql" SOURCES_RECOUNT_SQL, nullptr, "counting the campaigns and one-time messages of each month"},
}};

} // namespace

const char* const sources_recount_sql = SOURCES_RECOUNT_SQL;

int latest_schema_version() noexcept { return static_cast<int>(migrations.size()); }

std::optional<std::string> migrate(SQLite::Database& db, const progress_report& progress) {
  const int app = db.execAndGet("PRAGMA application_id").getInt();
  const int version = user_version(db);
  const int tables = db.execAndGet("SELECT count(*) FROM sqlite_schema").getInt();
  if (app != application_id && (app != 0 || tables != 0 || version != 0))
    return "the file is not a deliveryd ledger (it has other tables or another application id); "
           "refusing to touch it";
  if (version > latest_schema_version())
    return "the ledger has schema version " + std::to_string(version) + " but this deliveryd knows only up to "
           + std::to_string(latest_schema_version()) + "; run a newer deliveryd";
  if (version == latest_schema_version())
    return std::nullopt;
  if (version > 0 && progress)
    progress("upgrading the ledger from schema version " + std::to_string(version) + " to "
             + std::to_string(latest_schema_version()));
  // Debian's SQLite zeroes every freed page (secure_delete), so dropping v4's text index wrote all of it to the
  // WAL again (281 MB at 5.6M sends). Those pages hold vendor ids, no contacts: FAST zeroes only what costs no
  // extra write. The daemon keeps the build's default, so that purged contacts do not linger in free pages.
  const int secure_delete = db.execAndGet("PRAGMA secure_delete").getInt();
  db.exec("PRAGMA secure_delete = FAST");
  for (int v = version; v < latest_schema_version(); ++v) {
    const auto& step = migrations[static_cast<std::size_t>(v)];
    if (step.data != nullptr)
      step.data(db, progress);
    if (version > 0 && progress && !step.what.empty())
      progress("schema version " + std::to_string(v + 1) + ": " + std::string{step.what});
    SQLite::Transaction tx{db, SQLite::TransactionBehavior::IMMEDIATE};
    db.exec(std::string{step.sql});
    db.exec("PRAGMA application_id = " + std::to_string(application_id));
    db.exec("PRAGMA user_version = " + std::to_string(v + 1));
    if (version == 0 && v + 1 == latest_schema_version()) {
      // A new ledger is named at once, so that an ack log folder left by another ledger is never taken for its
      // own (db/ack_log.hpp); a ledger made before names existed takes its log's name at its next start.
      SQLite::Statement name{db, "INSERT INTO meta (key, value) VALUES ('ledger_id', ?)"};
      name.bind(1, adapters::random_token(16));
      name.exec();
    }
    tx.commit();
  }
  db.exec("PRAGMA secure_delete = " + std::to_string(secure_delete));
  return std::nullopt;
}

} // namespace deliveryd::db::sqlite
