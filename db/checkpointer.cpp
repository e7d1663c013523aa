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

std::uint64_t wal_checkpointer::checkpoints() const {
  std::lock_guard lock{mutex_};
  return checkpoints_;
}

std::string wal_checkpointer::last_error() const {
  std::lock_guard lock{mutex_};
  return last_error_;
}

void wal_checkpointer::run() {
  std::optional<SQLite::Database> db;
  std::unique_lock lock{mutex_};
  while (!wake_.wait_for(lock, every_, [this] { return stop_; })) {
    lock.unlock();
    std::string error;
    int log = 0;
    try {
      if (!db) {
        db.emplace(path_, SQLite::OPEN_READWRITE);
        db->setBusyTimeout(100);
      }
      int copied = 0;
      // PASSIVE: copy as much as readers allow, never wait for or block the writer.
      const int rc = sqlite3_wal_checkpoint_v2(db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        error = sqlite3_errmsg(db->getHandle());
    } catch (const std::exception& e) {
      error = e.what();
      db.reset(); // reopen on the next round (the file may have been unavailable)
    }
    lock.lock();
    if (error.empty() && log > 0)
      ++checkpoints_;
    last_error_ = std::move(error);
  }
}

} // namespace deliveryd::db
