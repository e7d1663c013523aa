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
/// transaction begins with all of it copied. So the writer, after a commit that leaves the WAL past its restart
/// length, copies the rest itself (writer_checkpoint): a short copy, since this thread did the bulk, and its
/// next transaction starts the WAL over. The two never checkpoint at once (a second checkpoint would only get
/// SQLITE_BUSY): the writer skips its turn while this thread is at work, and tries again after its next commit;
/// past twice the restart length it waits for this thread instead, so that the WAL stays bounded.
/// When a round finds everything copied and nothing new since the previous one, this thread truncates the WAL.
///
/// The writer also nudges this thread once the WAL is half its restart length (nudge): a round starts at once
/// instead of at the next tick, so that under a fast-growing WAL (intake with random vendor ids dirties a new
/// page per send) the copy runs on the other core while the writer builds its next transaction, and the
/// writer's own share at the restart length stays short.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace deliveryd::db::sqlite {

class wal_checkpointer {
public:
  /// Starts checkpointing the WAL of the ledger at `path` (already open in WAL mode) every `every`.
  wal_checkpointer(std::string path, std::chrono::milliseconds every);
  /// Stops the thread after its current checkpoint.
  ~wal_checkpointer();
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

  /// Runs `checkpoint` (the writer's own) unless this thread is checkpointing now; false when it skipped. With
  /// `wait`, it waits for this thread's checkpoint to end instead of skipping.
  bool writer_checkpoint(const std::function<void()>& checkpoint, bool wait);

  /// Starts a round now rather than at the next tick (a no-op while one is asked for or under way).
  void nudge();

private:
  void run();

  const std::string path_;
  const std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool nudged_ = false;      ///< a round is asked for before the next tick
  std::mutex checkpointing_; ///< held by whoever checkpoints: this thread or the writer
  std::thread thread_;       ///< last: starts once everything above exists
};

} // namespace deliveryd::db::sqlite
