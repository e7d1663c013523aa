#include "db/checkpointer.hpp"

#include <optional>

#include <sqlite3.h>

#include <SQLiteCpp/Database.h>

namespace deliveryd::db {

wal_checkpointer::wal_checkpointer(std::string path, std::chrono::milliseconds every)
  : path_{std::move(path)}, every_{every}, thread_{[this] { run(); }} {}

wal_checkpointer::~wal_checkpointer() {
  {
    std::lock_guard lock{mutex_};
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void wal_checkpointer::run() {
  std::optional<SQLite::Database> db;
  std::unique_lock lock{mutex_};
  while (!wake_.wait_for(lock, every_, [this] { return stop_; })) {
    lock.unlock();
    try {
      if (!db) {
        db.emplace(path_, SQLite::OPEN_READWRITE);
        db->setBusyTimeout(100);
        // A connection learns that the file is in WAL mode when it first reads it; until then a checkpoint is
        // a no-op that reports success, and the WAL would only ever be copied back by the writer's backstop.
        db->execAndGet("PRAGMA schema_version");
      }
      // PASSIVE: copy as much as readers allow, never wait for or block the writer. A failure needs no report
      // here: the disk's trouble shows in the writer's commits, and the writer's own automatic checkpoint
      // bounds the WAL meanwhile.
      sqlite3_wal_checkpoint_v2(db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } catch (const std::exception&) {
      db.reset(); // reopen on the next round (the file may have been unavailable)
    }
    lock.lock();
  }
}

} // namespace deliveryd::db
