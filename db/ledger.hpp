#pragma once
/// The storage interface: everything above db/ writes and reads the ledger through `ledger_writer` and
/// `ledger_reader`, and opens it through `open_writer` and `open_reader`. Which back end runs (SQLite, in
/// db/sqlite/) is the options' business alone; errors cross as values (db/result.hpp), never as a back end's
/// exception. docs/architecture.md, "The storage interface", says how to add a back end.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/records.hpp"
#include "db/result.hpp"

namespace deliveryd::db {

/// The back ends.
enum class backend {
  sqlite,     ///< one file on this host ([storage] path): the embedded default
  postgresql, ///< one database that several hosts share ([storage] url)
};

/// When a commit counts as durable.
enum class durability {
  /// The commit itself reaches the disk before it returns (SQLite: synchronous=FULL).
  on_commit,
  /// The commit returns first; whoever acknowledges it calls make_durable() before (on any thread), so that one
  /// sync covers every commit before it while the next transaction is built (SQLite: synchronous=NORMAL plus an
  /// fdatasync of the WAL). What the daemon uses.
  after_sync,
  /// Survives a crash of the process, not of the machine: bench fills and tests only.
  none,
};

/// Told, in a sentence, what long one-time work at open (a schema migration, a recount) is doing.
using progress_report = std::function<void(const std::string&)>;

/// Options of the SQLite back end that the others do not have.
struct sqlite_options {
  /// How often a thread of its own checkpoints the WAL (db/sqlite/checkpointer.hpp); zero leaves checkpoints to
  /// the writer's commits, as SQLite does by default.
  std::chrono::milliseconds checkpoint_every{500};
  /// The WAL length, in pages, past which the writer copies what is left of it back into the database file right
  /// after a commit, so that the next transaction starts the WAL over from its beginning. Under steady load the
  /// checkpointer never catches up with the last commit, and the WAL would only grow. 65,536 pages of 4 KiB is
  /// 256 MiB; the WAL file is kept at up to twice that (journal_size_limit). Against 64 MiB, intake ran 14 %
  /// faster (docs/performance.md): the writer copies a WAL's tail once per restart.
  int wal_restart_pages = 65536;
};

/// Options of the PostgreSQL back end.
struct postgresql_options {
  /// A libpq connection string or URI. Its password, if any, never appears in a message (redact()).
  std::string url;
  /// This host's name in the shared ledger: its write probe row, and who holds a claim on a poll.
  std::string host_id;
  /// How long a claim on a due poll keeps other daemons off that send; a daemon that dies leaves its claims to
  /// the others once it has passed.
  std::chrono::milliseconds poll_lease{60000};
};

/// How to open the ledger.
struct ledger_options {
  backend kind = backend::sqlite;
  std::string path;                   ///< SQLite: the database file, created with its folder on first start
  deadline_table deadlines;           ///< uncertain_after per enabled vendor
  durability sync = durability::on_commit; ///< when a commit is durable
  poll_table polls;                   ///< first polls of the vendors that poll
  std::string zone = "Asia/Seoul";    ///< IANA zone of the roll-ups' days
  sqlite_options sqlite;              ///< SQLite's own tuning
  postgresql_options postgresql;      ///< PostgreSQL's own settings
  /// Told what open_writer() is doing when it does long one-time work, at each step and at least every 5 s while
  /// one statement runs, from the thread that called it. The daemon logs it and asks systemd for more start time.
  progress_report on_progress{};
};

/// The writer side of the ledger. Not thread-safe: exactly one owner (the ledger actor, on its own thread)
/// uses it, except for make_durable(). Every write happens inside the group transaction begin() opens; after
/// an error the caller rolls back, and nothing of the transaction is stored.
class ledger_writer {
public:
  virtual ~ledger_writer() = default;

  /// Starts the group transaction.
  virtual result<void> begin() = 0;
  /// Commits the group transaction. With durability::after_sync it is not durable before make_durable().
  virtual result<void> commit() = 0;
  /// Rolls the group transaction back; never fails.
  virtual void rollback() noexcept = 0;

  /// When a commit is durable (as opened).
  virtual durability sync_mode() const noexcept = 0;
  /// Makes every transaction committed before the call durable when it returns (durability::after_sync; a
  /// no-op otherwise). Safe to call from another thread than the writer's, while it builds its next transaction.
  /// After an error, what those commits wrote may be lost: they must not be acknowledged.
  virtual result<void> make_durable() = 0;

  /// Whether this back end keeps the ack log's position (db/ack_log.hpp): SQLite does; PostgreSQL, shared by
  /// several hosts, takes every event straight into its commits (a host's local log would hide acknowledged
  /// events from the others, and be lost with the host).
  virtual bool keeps_log_position() const noexcept { return false; }
  /// The ack log position this ledger has applied up to, as committed (0 for a new ledger).
  virtual result<std::uint64_t> log_position() {
    return ledger_error{fault::corrupt, "this ledger back end keeps no ack log position"};
  }
  /// Records `position` as applied, inside the group transaction: it commits with the events read up to it.
  virtual result<void> set_log_position(std::uint64_t) {
    return ledger_error{fault::corrupt, "this ledger back end keeps no ack log position"};
  }
  /// The id that names this ledger in its ack log's folder (meta row `ledger_id`), so that a log is never applied
  /// to another ledger; "" for a ledger that has none yet (made before ids existed).
  virtual result<std::string> ledger_id() {
    return ledger_error{fault::corrupt, "this ledger back end keeps no ack log"};
  }
  /// Records `id` as this ledger's id, durably, outside any transaction (at start, before the writer begins).
  virtual result<void> set_ledger_id(const std::string&) {
    return ledger_error{fault::corrupt, "this ledger back end keeps no ack log"};
  }

  /// Registers or updates sends. `rejected` already holds the parser's rejections; the writer adds conflicts and
  /// merges everything in item order.
  virtual result<intake_outcome> register_sends(const std::vector<adapters::intake::send_request>& sends,
                                                std::vector<adapters::intake::rejection> rejected,
                                                core::timestamp now) = 0;
  /// Stores and applies vendor events; events for unknown messages are held until their send registers.
  virtual result<events_outcome> apply_events(const std::vector<vendor_event>& events, core::timestamp now) = 0;
  /// Applies what polls found: the event if any, the next poll, the vendor's price.
  virtual result<events_outcome> apply_polls(const std::vector<poll_update>& polls, core::timestamp now) = 0;
  /// Takes at most `limit` sends whose deadline has passed, oldest first: each one still pending gets its
  /// `deadline` event (it becomes uncertain, ME09); one that became final meanwhile only has its deadline
  /// cleared. `per_vendor` counts the fired ones.
  virtual result<deadline_outcome> fire_deadlines(core::timestamp now, std::size_t limit,
                                                  std::map<core::vendor, std::size_t>* per_vendor = nullptr) = 0;
  /// Removes at most `limit` sends requested before the first day kept (the day, in the configured zone, of
  /// `now` − `retention_days`), their events, held events received before it, and the roll-ups of the days before
  /// it. Small steps: the ledger interleaves them with intake.
  virtual result<purge_outcome> purge(core::timestamp now, int retention_days, std::size_t limit) = 0;
  /// Rewrites the write probe: a commit that proves the ledger takes writes again after a failure.
  virtual result<void> write_probe(core::timestamp now) = 0;

  /// True when the ledger answers a trivial query: a cheap probe for /healthz.
  virtual bool probe() noexcept = 0;
};

/// One read connection of the ledger: it sees what was committed before each call. One thread at a time.
class ledger_reader {
public:
  virtual ~ledger_reader() = default;

  /// Sends requested in [from, to), newest first, after `after`, at most `limit`; failover legs excluded.
  virtual result<day_page> day(core::timestamp from, core::timestamp to, const log_filter& filter,
                               std::size_t limit, std::optional<log_cursor> after) = 0;
  /// Sends requested in [from, to), oldest first (requested_at, then id), after `after`, at most `limit`;
  /// failover legs excluded. The exports read a month through it, one keyset chunk per call.
  virtual result<day_page> ascending(core::timestamp from, core::timestamp to, const log_filter& filter,
                                     std::size_t limit, std::optional<log_cursor> after) = 0;
  /// Sends of `vendor` whose next poll is due at `now`, earliest first, at most `limit`, leaving out `busy` (the
  /// sends this daemon is fetching right now). A shared ledger claims them for this host
  /// (postgresql_options::poll_lease): no other daemon gets them until their poll is applied or the claim has
  /// passed. So a caller asks only for as many as it will start. A shared ledger also keeps the vendor account's
  /// `account` limits for the group: it returns fewer while the group's claims in flight, or its claims of the
  /// last second, leave no room. One daemon on its own ledger keeps them itself, and the ledger ignores them.
  virtual result<std::vector<poll_target>> due_polls(core::vendor vendor, core::timestamp now, std::size_t limit,
                                                     const std::vector<std::int64_t>& busy,
                                                     const fetch_limits& account) = 0;
  /// The roll-ups of days first..last (yyyymmdd, inclusive) in a scope ("all", "campaign", "one_time").
  virtual result<summary_data> summary(const std::string& scope, const std::string& scope_id,
                                       core::day_number first, core::day_number last) = 0;
  /// The campaigns and one-time messages with sends in `month` (yyyymm), most sends first (then type and id).
  virtual result<std::vector<source_total>> sources(std::int32_t month) = 0;
  /// One send with its history (oldest first), or nullopt when no send has that id.
  virtual result<std::optional<send_detail>> find(const std::string& send_id) = 0;
  /// The number of pending sends per vendor (vendors without any are left out).
  virtual result<std::vector<std::pair<std::string, std::int64_t>>> pending_by_vendor() = 0;
};

/// Opens (creating if needed) and migrates the ledger for writing. A foreign or damaged ledger is an error
/// (fault::corrupt), never replaced; so is one that cannot be written (fault::read_only).
result<std::unique_ptr<ledger_writer>> open_writer(const ledger_options& options);

/// Opens a read connection; the writer must have created the ledger.
result<std::unique_ptr<ledger_reader>> open_reader(const ledger_options& options);

} // namespace deliveryd::db
