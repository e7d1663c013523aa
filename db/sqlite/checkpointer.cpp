#include "db/sqlite/checkpointer.hpp"

#include <optional>

#include <sqlite3.h>

#include <SQLiteCpp/Database.h>

#include "core/thread_name.hpp"

namespace deliveryd::db::sqlite {

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

bool wal_checkpointer::writer_checkpoint(const std::function<void()>& checkpoint, bool wait) {
  std::unique_lock busy{checkpointing_, std::defer_lock};
  if (wait)
    busy.lock();
  else if (!busy.try_lock())
    return false;
  checkpoint();
  return true;
}

void wal_checkpointer::nudge() {
  {
    std::lock_guard lock{mutex_};
    if (nudged_)
      return;
    nudged_ = true;
  }
  wake_.notify_one();
}

void wal_checkpointer::run() {
  core::name_this_thread("checkpointer");
  std::optional<SQLite::Database> db;
  int last_frames = -1; // the WAL's length at the previous round
  std::unique_lock lock{mutex_};
  for (;;) {
    wake_.wait_for(lock, every_, [this] { return stop_ || nudged_; });
    if (stop_)
      return;
    lock.unlock();
    try {
      if (!db) {
        db.emplace(path_, SQLite::OPEN_READWRITE);
        db->setBusyTimeout(100);
        // A connection learns that the file is in WAL mode when it first reads it; until then a checkpoint is
        // a no-op that reports success, and the WAL would only ever be copied back by the writer.
        db->execAndGet("PRAGMA schema_version");
      }
      std::lock_guard busy{checkpointing_};
      // PASSIVE: copy as much as readers allow, never wait for or block the writer. A failure needs no report
      // here: the disk's trouble shows in the writer's commits, and the writer's own checkpoint past the restart
      // length bounds the WAL meanwhile.
      int frames = -1;
      int copied = -1;
      sqlite3_wal_checkpoint_v2(db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
      // Idle: all of it copied and nothing committed since the previous round. TRUNCATE empties the file; it
      // needs the write lock for a moment (at most the 100 ms busy timeout, and only after a quiet round), so
      // a ledger at rest has no WAL for a backup or a reader to go through.
      if (frames > 0 && copied == frames && frames == last_frames)
        sqlite3_wal_checkpoint_v2(db->getHandle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &frames, &copied);
      last_frames = frames;
    } catch (const std::exception&) {
      db.reset(); // reopen on the next round (the file may have been unavailable)
    }
    lock.lock();
    nudged_ = false; // a nudge during the round is dropped: the writer nudges again after its next commit
  }
}

} // namespace deliveryd::db::sqlite
