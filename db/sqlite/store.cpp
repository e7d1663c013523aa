#include "db/sqlite/store.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "db/sqlite/schema.hpp"
#include "db/sqlite/store_impl.hpp"

namespace deliveryd::db::sqlite {

namespace {

void configure_writer(SQLite::Database& db, const ledger_options& options) {
  db.exec("PRAGMA journal_mode = WAL");
  // FULL: the WAL is fsynced at every commit, so an acknowledged job survives power loss, not only a crash of
  // the process (NORMAL alone would not). after_sync gives the same guarantee with NORMAL plus sync_wal()
  // before any acknowledgement, which lets the fsync run beside the next transaction.
  db.exec(options.sync == durability::on_commit ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = OFF");
  db.exec("PRAGMA temp_store = MEMORY");
  // When the WAL starts over, a file grown larger than this is cut back to it. Twice the restart length: the WAL
  // overshoots it by up to a commit, and space the file keeps is rewritten in place, where new space costs ext4
  // an allocation and the zeroing of each block that a frame (4,120 bytes) covers only in part.
  db.exec("PRAGMA journal_size_limit = " +
          std::to_string(2 * static_cast<std::int64_t>(std::max(1, options.sqlite.wal_restart_pages)) * 4096));
  db.setBusyTimeout(5000);
}

/// Turns SQLite's memory statistics off, once per process and before its first connection: with them on, every
/// allocation SQLite makes takes a process-wide mutex, and deliveryd reads none of those statistics. A no-op when
/// SQLite is already initialised (a connection opened earlier); it then only keeps the default.
void disable_memory_statistics() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

/// Drops the page cache's clean pages of the ledger and its WAL, so that what follows reads what the disk holds.
/// After a sync failed (EIO, ENOSPC) the kernel keeps the pages it could not write in its cache, marked clean:
/// a process reading the file still sees them, though the disk never got them, and the next power cut takes them.
/// The daemon exits after such a failure (actors/ledger_actor.cpp); here, at its next start, SQLite's recovery of
/// the WAL must see the disk, not those pages. Pages not written back yet (dirty: the last run's writes, which
/// the kernel will still write) stay. Best effort: a file that is missing or cannot be opened is skipped.
void forget_cached_pages(const std::string& path) {
  for (const char* suffix : {"", "-wal"}) {
    const int fd = ::open((path + suffix).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

/// Passes open()'s progress to store_options::on_progress: each sentence of the migration, and again every
/// 5 s while one statement runs long (SQLite's progress handler), so that systemd's start time-out is extended
/// for as long as the work goes on.
class open_progress {
public:
  open_progress(SQLite::Database& db, progress_report report)
    : db_{db}, report_{std::move(report)}, since_{std::chrono::steady_clock::now()}, last_{since_} {
    if (report_)
      sqlite3_progress_handler(db_.getHandle(), 1'000'000, &open_progress::tick, this);
  }
  ~open_progress() {
    if (report_)
      sqlite3_progress_handler(db_.getHandle(), 0, nullptr, nullptr);
  }
  open_progress(const open_progress&) = delete;
  open_progress& operator=(const open_progress&) = delete;

  void say(const std::string& what) {
    what_ = what;
    last_ = std::chrono::steady_clock::now();
    report_(what_ + " (" + std::to_string(seconds()) + " s so far)");
  }
  progress_report sayer() {
    if (!report_)
      return {};
    return [this](const std::string& what) { say(what); };
  }

private:
  static int tick(void* self) {
    auto& p = *static_cast<open_progress*>(self);
    if (std::chrono::steady_clock::now() - p.last_ >= std::chrono::seconds{5})
      p.say(p.what_.empty() ? "opening the ledger" : p.what_);
    return 0; // never interrupts the statement
  }
  long seconds() const {
    return static_cast<long>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - since_).count());
  }

  SQLite::Database& db_;
  progress_report report_;
  std::chrono::steady_clock::time_point since_, last_;
  std::string what_;
};

/// Up to this size the whole file is checked at start (a few seconds at most); a larger ledger gets the cheap
/// checks only, so that a start stays well inside systemd's start time-out (a full check of a 4.4 GB,
/// 10-million-send ledger took 48 s). docs/operations.md shows how to run the full check by hand.
constexpr std::uintmax_t full_check_limit = 256ull * 1024 * 1024;

std::optional<std::string> check_integrity(SQLite::Database& db, const std::string& path) {
  const auto damaged = [](const std::string& why) {
    return "the ledger fails SQLite's integrity check (" + why + "); restore it from a backup";
  };
  try {
    // Reading the header and the schema refuses a file that is not SQLite or whose first pages are damaged.
    db.execAndGet("SELECT count(*) FROM sqlite_schema");
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size > full_check_limit)
      return std::nullopt;
    // quick_check is O(pages) but skips index cross-checks: enough to refuse a damaged file at start.
    auto result = db.execAndGet("PRAGMA quick_check(1)").getString();
    if (result != "ok")
      return damaged(result);
    return std::nullopt;
  } catch (const SQLite::Exception& e) {
    // A file damaged where SQLite must read it first (its header, its schema, its page count) cannot even be
    // checked: the same verdict, in the same words.
    const int code = e.getErrorCode() & 0xFF;
    if (code == SQLITE_NOTADB)
      return "the file is not an SQLite database (" + std::string{e.what()} + "); restore the ledger from a backup, "
             "or correct [storage] path";
    if (code == SQLITE_CORRUPT)
      return damaged(e.what());
    throw;
  }
}

} // namespace

std::variant<std::unique_ptr<ledger_store>, ledger_error> ledger_store::open(const ledger_options& options) {
  namespace fs = std::filesystem;
  disable_memory_statistics();
  try {
    fs::path file{options.path};
    if (file.has_parent_path()) {
      std::error_code ec;
      fs::create_directories(file.parent_path(), ec);
      if (ec)
        return ledger_error{ec == std::errc::no_space_on_device ? fault::full : fault::read_only,
                            "cannot create the ledger's folder " + file.parent_path().string() + ": " + ec.message()};
    }
    if (auto refused = refuse_before_open(options.path))
      return ledger_error{refused->cause, options.path + ": " + refused->message};
    forget_cached_pages(options.path);
    // NOMUTEX: only the ledger's thread uses this connection (the sync thread has a descriptor of its own, the
    // checkpointer a connection of its own), so SQLite's per-call locking of it is pure cost: 6 % of the ledger
    // thread in the SendGrid benchmark went to pthread_mutex_lock and unlock.
    SQLite::Database db{options.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX};
    if (sqlite3_db_readonly(db.getHandle(), "main") == 1) // what access() did not foresee (ACLs, a race)
      return ledger_error{fault::read_only, options.path + ": SQLite could open the ledger only read-only; check its "
                                            "owner, mode and mount"};
    if (auto bad = check_integrity(db, options.path))
      return ledger_error{fault::corrupt, options.path + ": " + *bad};
    // Ownership is checked before anything is written: switching a foreign file to WAL would change its header.
    db.exec("PRAGMA cache_size = -65536"); // 64 MiB; set before migrating, which may rewrite or index every send
    {
      open_progress progress{db, options.on_progress}; // only while db is this connection: it moves below
      if (auto refused = migrate(db, progress.sayer()))
        return ledger_error{fault::corrupt, options.path + ": " + *refused};
    }
    configure_writer(db, options);
    auto zone = core::zone::locate(options.zone);
    if (!zone)
      return ledger_error{fault::corrupt, options.zone + " is not in this system's time zone database"};
    auto self = std::make_unique<impl>(std::move(db), options.deadlines, options.polls);
    self->sync = options.sync;
    self->wal_path = options.path + "-wal";
    self->zone = *zone;
    {
      // The message keys in memory for the writer's lookups (db/sqlite/recent_keys.hpp), read from the index
      // before anything else uses the ledger: a few seconds for millions of sends, said and extending systemd's
      // start time-out as a migration's step does.
      // It reads through a connection of its own with a small cache: through the writer's, it left 64 MiB of
      // index pages in that cache at start, and the daemon's memory still grew as much as before under load
      // (peak RSS 266-270 MB in bench/ingest.sh, against 199.8 MB this way).
      SQLite::Database reader{options.path, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX};
      reader.exec("PRAGMA cache_size = -2048");
      open_progress progress{reader, options.on_progress};
      const auto sends = reader.execAndGet("SELECT coalesce(max(id), 0) FROM sends").getInt64();
      if (sends >= 1'000'000)
        if (auto say = progress.sayer())
          say("reading the message keys of " + std::to_string(sends) + " sends into memory");
      warm_up(reader, self->keys);
    }
    {
      open_progress progress{self->db, options.on_progress}; // a change of zone reads every send once
      self->ensure_rollup_zone(progress.sayer());
    }
    if (options.sqlite.checkpoint_every.count() > 0) {
      self->checkpointer = std::make_unique<wal_checkpointer>(options.path, options.sqlite.checkpoint_every);
      self->wal_restart_pages = std::max(1, options.sqlite.wal_restart_pages);
      // Replaces SQLite's automatic checkpoint (after_commit() does that job): the hook only notes the length.
      sqlite3_wal_hook(
          self->db.getHandle(),
          [](void* arg, sqlite3*, const char*, int frames) {
            static_cast<impl*>(arg)->wal_frames = frames;
            return SQLITE_OK;
          },
          self.get());
    }
    return std::unique_ptr<ledger_store>{new ledger_store{std::move(self)}};
  } catch (const std::exception& e) {
    auto why = explain_open_failure(e, options.path);
    return ledger_error{why.cause, options.path + ": cannot open the ledger: " + why.message};
  }
}

ledger_store::ledger_store(std::unique_ptr<impl> self) : self_{std::move(self)} {}

recent_keys::stats ledger_store::key_table() const { return self_->keys.counters(); }
ledger_store::~ledger_store() = default;

void ledger_store::begin() {
  self_->discard_counts();
  self_->db.exec("BEGIN IMMEDIATE");
}

void ledger_store::commit() {
  self_->flush_rollups();
  self_->db.exec("COMMIT");
  self_->after_commit();
}

void ledger_store::impl::after_commit() {
  if (!checkpointer || wal_frames < wal_restart_pages / 2)
    return;
  if (wal_frames < wal_restart_pages) {
    checkpointer->nudge(); // the bulk is copied on the checkpointer's thread, beside the next transaction
    return;
  }
  // Between two transactions: the checkpointer copied the bulk, so this copies the last commits' pages. Should
  // the checkpointer be at work, or readers hold part of the WAL back, the next commit tries again; past twice
  // the restart length the writer waits for the checkpointer rather than let the WAL grow on.
  checkpointer->writer_checkpoint(
      [this] { sqlite3_wal_checkpoint_v2(db.getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr); },
      wal_frames >= 2 * wal_restart_pages);
}

void ledger_store::impl::reset_statements() noexcept {
  for (auto* q : {&find_send_by_id, &find_send_by_message, &find_send_by_rowid, &message_taken, &insert_send,
                  &set_vendor_message_id, &update_state, &insert_event, &select_held, &delete_event, &select_due,
                  &in_failover_of, &clear_deadline, &touch_probe, &set_poll, &failover_key, &failover_parent,
                  &failover_legs, &set_logical, &load_key_stmt, &parent_of_stmt, &rollup_upsert, &price_upsert,
                  &price_of, &pending_upsert, &source_upsert})
    q->tryReset();
}

void ledger_store::rollback() noexcept {
  self_->discard_counts();
  self_->reset_statements();
  try {
    self_->db.exec("ROLLBACK");
  } catch (...) {
    // No transaction was open (a failed BEGIN, or SQLite already rolled back): nothing to undo.
  }
}

durability ledger_store::sync_mode() const noexcept { return self_->sync; }

void ledger_store::sync_wal() {
  auto& d = *self_;
  std::lock_guard lock{d.wal_mutex};
  // The WAL keeps its inode while the writer is open (SQLite truncates it, never replaces it); should it ever be
  // another file, the descriptor is opened again, so a sync never goes to a file SQLite no longer writes.
  struct stat named {};
  if (::stat(d.wal_path.c_str(), &named) != 0)
    throw std::system_error{errno, std::generic_category(), "cannot find the WAL " + d.wal_path};
  struct stat held {};
  if (d.wal_fd < 0 || ::fstat(d.wal_fd, &held) != 0 || held.st_ino != named.st_ino || held.st_dev != named.st_dev) {
    if (d.wal_fd >= 0)
      ::close(d.wal_fd);
    d.wal_fd = ::open(d.wal_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (d.wal_fd < 0)
      throw std::system_error{errno, std::generic_category(), "cannot open the WAL " + d.wal_path};
  }
  if (::fdatasync(d.wal_fd) != 0)
    throw std::system_error{errno, std::generic_category(), "fdatasync of the WAL failed"};
}

void ledger_store::write_probe(core::timestamp now) {
  auto& q = self_->touch_probe;
  q.reset();
  q.bind(1, static_cast<std::int64_t>(core::to_millis(now)));
  q.exec();
}

std::uint64_t ledger_store::log_position() {
  SQLite::Statement q{self_->db, "SELECT value FROM meta WHERE key = 'ack_log_position'"};
  if (!q.executeStep())
    return 0;
  return std::stoull(q.getColumn(0).getString());
}

void ledger_store::set_log_position(std::uint64_t position) {
  SQLite::Statement q{self_->db, "INSERT INTO meta (key, value) VALUES ('ack_log_position', ?) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value"};
  q.bind(1, std::to_string(position));
  q.exec();
}

std::string ledger_store::ledger_id() {
  SQLite::Statement q{self_->db, "SELECT value FROM meta WHERE key = 'ledger_id'"};
  return q.executeStep() ? q.getColumn(0).getString() : std::string{};
}

void ledger_store::set_ledger_id(const std::string& id) {
  SQLite::Statement q{self_->db, "INSERT INTO meta (key, value) VALUES ('ledger_id', ?) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value"};
  q.bind(1, id);
  q.exec();
}

bool ledger_store::probe() noexcept {
  try {
    return self_->db.execAndGet("SELECT 1").getInt() == 1;
  } catch (...) {
    return false;
  }
}

} // namespace deliveryd::db::sqlite
