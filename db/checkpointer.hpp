#pragma once
/// WAL checkpoints on a thread of their own, so that the ledger's writer only ever appends to the WAL.
///
/// SQLite's default is that the connection whose commit takes the WAL past 1,000 pages copies the WAL back
/// into the database file (and fsyncs it) inside that commit. For the ledger that is the writer, on the
/// path of every acknowledgement; and since a vendor's message ids are random keys, each commit dirties pages
/// all over the indexes, so checkpointing after every commit writes every page twice. Here a second connection
/// runs passive checkpoints every `every`: they copy what is committed without blocking the writer, and a page
/// rewritten by many commits in between is copied once. The writer keeps a large automatic checkpoint as a
/// backstop (store.cpp), so the WAL stays bounded even if this thread cannot keep up.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace deliveryd::db {

class wal_checkpointer {
public:
  /// Starts checkpointing the WAL of the ledger at `path` (already open in WAL mode) every `every`.
  wal_checkpointer(std::string path, std::chrono::milliseconds every);
  /// Stops the thread after its current checkpoint.
  ~wal_checkpointer();
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

private:
  void run();

  const std::string path_;
  const std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_; ///< last: starts once everything above exists
};

} // namespace deliveryd::db
