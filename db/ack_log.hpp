#pragma once
/// The acknowledgement log: vendor events are durable once they are in it, and the ledger applies them behind it.
///
/// A webhook is answered 2xx only when what it reported is on the disk. Before this log, that meant the ledger's
/// own commit and sync, and on a ledger of millions of sends each event dirties about one random index page: the
/// answer waited for that. Now a webhook's mapped events are appended to this log as one checksummed record, and
/// the answer waits for one group `fdatasync` of the log that covers it (one sync thread; every record appended
/// before a sync began is covered by it). The ledger reads the acknowledged records back, applies them in large
/// batches sorted by message key, and commits the log position it reached in the same transaction
/// (docs/architecture.md, "The acknowledgement log").
///
/// On disk: `<dir>/<16 hex digits>.log`, segments of `segment_bytes`, allocated whole when created
/// (fallocate) so that an append never needs a new block, and reused (renamed) once the ledger has applied and
/// synced past them. A position is a byte offset in the endless stream of segments: segment k holds
/// [k × segment_bytes, (k + 1) × segment_bytes). A record is a 24-byte header (payload length, kind, CRC-32 of
/// the header's other fields and the payload, and the record's own position) and the payload; a record that does
/// not fit in what is left of a segment is preceded by a pad record and goes to the next one. On open, the log is
/// read from the ledger's position: it ends at the first record that is torn, zero, or left from an earlier use
/// of the segment (its position is not where it lies). Nothing past that point was acknowledged, since an
/// acknowledgement needs a sync that covered it and everything before it.
///
/// A failed fdatasync is final (the kernel may have dropped the pages it could not write): the log answers every
/// waiting and later append with the error and calls `on_lost` once, as the ledger does. A failed write or a
/// segment that cannot be created (disk full) fails that group only: nothing of it was acknowledged.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/records.hpp"
#include "db/result.hpp"

namespace deliveryd::db {

/// The size of a segment. Small enough that a new one fits on a small or nearly full disk (it is allocated whole,
/// and a 64 MiB one took all of the storage tests' 64 MiB file system), large enough that a switch (a rename and a
/// sync of the folder) comes every 50,000 callbacks or so, and that one request's record (at most the webhooks'
/// max_body_bytes, 1 MiB by default) fits many times.
inline constexpr std::uint64_t default_segment_bytes = std::uint64_t{16} << 20;

/// How an ack log is laid out and bounded.
struct ack_log_options {
  std::filesystem::path dir;                             ///< created if missing
  std::uint64_t segment_bytes = default_segment_bytes; ///< the size of each segment file (at least 64 KiB)
  /// Acknowledged and not yet applied by the ledger, in bytes, past which appends are refused (503 with
  /// Retry-After): the bound on how far the ledger may lag, and so on how long a query waits for it.
  std::uint64_t backlog_bytes = std::uint64_t{64} << 20;
  /// Called once, on the log's thread, when an fdatasync failed (why): nothing is acknowledged from then on.
  std::function<void(const std::string&)> on_lost = {};
  /// Called on the log's thread after each group became durable, with the position after it.
  std::function<void(std::uint64_t)> on_acked = {};
  /// The ledger this log belongs to (its meta row `ledger_id`), kept in `<dir>/ledger-id`. open() refuses a
  /// folder that names another ledger and still holds segments: their records are that ledger's webhooks, and
  /// applying them here would be wrong, dropping them a loss. "" skips the check (tests of the log alone).
  std::string ledger_id = {};
};

/// Acknowledged records read back for the ledger: their events, and the position after the last one.
struct logged_events {
  std::vector<vendor_event> events;
  std::uint64_t end = 0;
  std::size_t records = 0;
};

/// The log. Appends come from any thread; one thread of its own writes and syncs them.
class ack_log {
public:
  /// Opens the log in `options.dir` (creating it), reading it from `applied`, the position the ledger has applied
  /// up to: the records from there to the log's end are acknowledged and not applied yet (they are read with
  /// read()). An error when the folder cannot be made or read, or a segment is not one of this log's.
  static result<std::unique_ptr<ack_log>> open(ack_log_options options, std::uint64_t applied);

  /// The ledger named in `dir`'s `ledger-id` file; "" when there is none (no log yet, or one written before
  /// logs named their ledger).
  static result<std::string> ledger_id_in(const std::filesystem::path& dir);

  /// The acknowledged bytes that a log in `dir` holds past `applied`, read without changing anything (for tools
  /// that read a stopped daemon's ledger: anything here is not in the ledger yet). 0 when there is no log.
  static result<std::uint64_t> unapplied(const std::filesystem::path& dir, std::uint64_t applied,
                                         std::uint64_t segment_bytes = default_segment_bytes);

  /// Writes and syncs what is queued, answers it, and stops its thread: from then on append() refuses
  /// (admission::failing, failing() stays ""). Reading goes on. Idempotent.
  void stop();
  /// stop(), and closes the files.
  ~ack_log();
  ack_log(const ack_log&) = delete;
  ack_log& operator=(const ack_log&) = delete;

  /// What append() did with a record.
  enum class admission {
    queued,  ///< `done` will be called once the record is durable or its group failed
    full,    ///< the backlog is full: nothing was queued, `done` is not called
    failing, ///< a sync failed before: nothing was queued, `done` is not called (see failing())
    ledger_failing, ///< the ledger cannot commit (ledger_failing()): nothing was queued, `done` is not called
  };

  /// Queues one record of `events`; `done("")` is called on the log's thread once it is durable, or
  /// `done(why)` when its group could not be made durable (nothing of it is acknowledged).
  admission append(const std::vector<vendor_event>& events, std::function<void(const std::string&)> done);

  /// Reads acknowledged records from `from` (a record's start, as returned in `end`) until the acknowledged end,
  /// `until` (a record's start), or until at least `max_events` events were read. Called by one reader at a time
  /// (the ledger).
  result<logged_events> read(std::uint64_t from, std::size_t max_events, std::uint64_t until = UINT64_MAX);

  /// The ledger has committed everything before `committed`, and synced everything before `durable`: the
  /// backlog shrinks, queries waiting for `committed` go on, and segments wholly before `durable` are reused.
  void applied(std::uint64_t committed, std::uint64_t durable);

  /// The ledger cannot commit (why), or can again (""). While it cannot, append() refuses (nothing more is
  /// acknowledged that the ledger could not apply, and that queries could not see), and wait_applied() does not
  /// wait: queries answer from what the ledger holds, as they did before the log existed.
  void ledger_failing(std::string why);
  /// Why the ledger cannot commit; "" while it can.
  std::string ledger_failing() const;

  /// What wait_applied() found.
  enum class barrier {
    applied,        ///< the ledger has committed everything acknowledged when the call began
    ledger_failing, ///< the ledger cannot commit: what it holds may lack events the log acknowledged
    timed_out,      ///< `within` passed first
  };
  /// Waits until the ledger has committed everything acknowledged when the call began (a query sees every event
  /// acknowledged before it arrived), or until the ledger is found failing, or `within` passed.
  barrier wait_applied(std::chrono::milliseconds within) const;

  /// The position after the last acknowledged record.
  std::uint64_t acknowledged() const;
  /// Acknowledged bytes the ledger has not committed yet.
  std::uint64_t backlog() const;
  /// The backlog's bound (ack_log_options::backlog_bytes).
  std::uint64_t backlog_limit() const noexcept { return options_.backlog_bytes; }
  /// Why a sync failed; "" while syncs work.
  std::string failing() const;

  /// Counters for /metrics.
  struct stats {
    std::uint64_t records = 0;   ///< appended and acknowledged
    std::uint64_t syncs = 0;     ///< group fdatasyncs
    std::uint64_t segments_created = 0;
    std::uint64_t segments_reused = 0;
  };
  stats counters() const;

private:
  explicit ack_log(ack_log_options options);
  struct pending {
    std::string bytes; ///< the encoded record, its header's position not set yet
    std::function<void(const std::string&)> done;
  };
  void run();
  void write_group(std::deque<pending>& group);
  result<void> ensure_segment(std::uint64_t index);
  int segment_fd(std::uint64_t index);
  void recycle(std::uint64_t durable);
  result<void> claim();
  result<void> scan(std::uint64_t applied);
  std::filesystem::path next_spare_name();

  ack_log_options options_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  mutable std::condition_variable applied_changed_;
  std::deque<pending> queue_;
  std::uint64_t queued_bytes_ = 0;
  bool stop_ = false;
  std::string failing_;
  std::string ledger_failing_;     ///< guarded by mutex_
  std::uint64_t acknowledged_ = 0; ///< guarded by mutex_
  std::uint64_t committed_ = 0;    ///< guarded by mutex_
  std::uint64_t durable_ = 0;      ///< guarded by mutex_: the ledger synced up to here
  stats stats_;                    ///< guarded by mutex_

  // The writer's own (its thread, or open() before it starts).
  std::uint64_t end_ = 0; ///< where the next record goes
  std::map<std::uint64_t, int> write_fds_;   ///< segment index → descriptor, open segments from the oldest kept
  std::vector<std::filesystem::path> spare_; ///< segments applied past, named spare-<n>.log, to be renamed into use
  std::uint64_t spare_counter_ = 0;          ///< the next spare name to try
  std::uint64_t first_kept_ = 0;             ///< the oldest segment still needed

  // The reader's own (the ledger's thread).
  std::map<std::uint64_t, int> read_fds_;
  std::mutex read_mutex_;

  std::thread thread_; ///< started last
};

/// The record payload of `events` (exposed for tests).
std::string encode_events(const std::vector<vendor_event>& events);
/// The events of a payload; an error when it is not one (a record of a newer deliveryd, or damage the checksum
/// missed).
result<std::vector<vendor_event>> decode_events(std::string_view payload);

} // namespace deliveryd::db
