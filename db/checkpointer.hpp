#pragma once
/// WAL checkpoints on a thread of their own, so that the ledger's writer only ever appends to the WAL.
///
/// SQLite's default is that the connection whose commit takes the WAL past 1,000 pages copies the WAL back
/// into the database file (and fsyncs it) inside that commit. For the ledger that is the writer, on the
/// path of every acknowledgement; and since a vendor's message ids are random keys, each commit dirties pages
/// all over the indexes, so checkpointing after every commit writes every page twice. Here a second connection
/// runs passive checkpoints every `every`: they copy what is committed without blocking the writer, and a page
/// rewritten by many commits in between is copied once.
///
/// Under steady load it never catches up with the last commit, and SQLite starts the WAL over only when a write
/// transaction begins with all of it copied. So past `restart_pages` this thread stands aside and asks the writer
/// (restart_wanted()): the writer copies the rest right after its next commit, a short copy since this thread did
/// the bulk, and its next transaction starts the WAL over. Two checkpoints at once would make one of them fail
/// with SQLITE_BUSY, hence the hand-over. When a round finds everything copied and nothing new since the
/// previous one, this thread truncates the WAL to nothing.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace deliveryd::db {

class wal_checkpointer {
public:
  /// Starts checkpointing the WAL of the ledger at `path` (already open in WAL mode) every `every`; past
  /// `restart_pages` in the WAL it asks the writer to finish the job (see above).
  wal_checkpointer(std::string path, std::chrono::milliseconds every, int restart_pages);
  /// Stops the thread after its current checkpoint.
  ~wal_checkpointer();
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

  /// True when the writer should checkpoint after its next commit; this thread does nothing until then.
  bool restart_wanted() const noexcept { return restart_wanted_.load(std::memory_order_acquire); }
  /// The writer has checkpointed: this thread goes on.
  void restart_done() noexcept { restart_wanted_.store(false, std::memory_order_release); }

private:
  void run();

  const std::string path_;
  const std::chrono::milliseconds every_;
  const int restart_pages_;
  std::atomic<bool> restart_wanted_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_; ///< last: starts once everything above exists
};

} // namespace deliveryd::db
