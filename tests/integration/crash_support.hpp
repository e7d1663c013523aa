#pragma once
/// What the crash loop needs besides the load: its settings, the sends it seeds, a look at the purge's progress in
/// the ledger file, a download that can be held in the middle, and the files left in the daemon's TMPDIR.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "load_support.hpp"

namespace it {

/// The settings of a crash loop, from the environment.
struct crash_settings {
  int kills = 5;                   ///< DELIVERYD_CRASH_KILLS (at least 4: the purge, two downloads, one XLSX write)
  std::uint64_t seed = 0;          ///< DELIVERYD_CRASH_SEED, else drawn at random (and printed, to replay a run)
  std::size_t old_sends = 40000;   ///< DELIVERYD_CRASH_OLD_SENDS: sends outside retention, for the purge
  std::size_t month_sends = 60000; ///< sends of this month seeded before the load: exports larger than the socket
                                   ///< buffers, so that a download can be cut in its middle
  int workers = 6;                 ///< load threads
};

/// The settings, with defaults for what the environment does not say.
crash_settings crash_settings_from_env();

/// `count` intake items of excluded sends (no vendor) named `prefix` + index, requested at `at` + index %
/// `days_spread` days.
json excluded_items(const std::string& prefix, std::size_t count, seconds_point at, int days_spread);

/// Sends requested before `before` in the ledger file (read-only, while the daemon runs or not).
std::int64_t sends_before(const fs::path& ledger, seconds_point before);

/// The names of the files in a folder.
std::vector<std::string> files_in(const fs::path& dir);

/// How many files process `pid` has open in `dir`, named or unlinked (from /proc/<pid>/fd).
std::size_t open_files_in(pid_t pid, const fs::path& dir);

/// How a download ended.
struct download_result {
  bool complete = false;                    ///< a whole answer was read (its length or final chunk)
  int status = 0;                           ///< the HTTP status, 0 without an answer
  std::size_t bytes = 0;                    ///< body bytes received
  std::optional<std::size_t> content_length; ///< when the answer announced one
};

/// GET of an ops path on a thread of its own, optionally held after its first body bytes: the client stops
/// reading (with a small receive buffer), so the daemon is left blocked in the middle of writing the answer.
class held_download {
public:
  /// Starts the GET; `hold` stops reading after the first bytes until release().
  held_download(int port, std::string path, bool hold);
  ~held_download();
  held_download(const held_download&) = delete;
  held_download& operator=(const held_download&) = delete;

  /// Waits until the first body bytes came; false after `timeout`.
  bool wait_for_bytes(std::chrono::milliseconds timeout);

  /// Body bytes received so far.
  std::size_t bytes() const { return bytes_.load(); }

  /// Lets a held download read on, to its end or its error.
  void release();

  /// Releases, waits for the end and says how it ended.
  download_result finish();

private:
  void run(int port, const std::string& path);

  bool hold_;
  std::atomic<std::size_t> bytes_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false;
  bool released_ = false;
  download_result result_;
  std::thread thread_;
};

} // namespace it
