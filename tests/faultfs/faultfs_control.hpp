#pragma once
/// The test's side of the fault layer (tests/faultfs/README.md): start a process under the layer with
/// environment(), arm faults, read the counters, and, once that process is dead, cut the power or drop the page
/// cache. The layer itself (libdeliveryd_faultfs.so) runs only in the processes under test; this library never
/// loads it and talks to it through the files of the state folder (faultfs_protocol.hpp).
///
/// What it simulates: a single host's page cache over a disk that keeps only what fsync, fdatasync or an
/// O_SYNC/O_DSYNC write made durable, failing syncs that lose the dirty pages (PostgreSQL's "fsyncgate"), failing
/// writes, and a power cut. What it does not: directory operations that are not durable yet (creation, unlink
/// and rename are durable at once), torn pages or sectors (a page is the unit), writes through a shared mmap
/// (SQLite's -shm), other hosts. Errors of this library are thrown as std::system_error.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "faultfs_protocol.hpp"

namespace deliveryd::testing::faultfs {

/// What the layer counted since the state folder was made (or reset_counters).
struct counter_values {
  std::uint64_t values[counter_count] = {};
  /// One counter.
  std::uint64_t operator[](counter c) const noexcept { return values[static_cast<std::size_t>(c)]; }
};

/// One root and state folder pair: the files under `root` are tracked by every process started with
/// environment(); `state` holds their disks, dirty pages, armed faults and counters.
class control {
public:
  /// Creates both folders when missing (and the state's files); `library` is libdeliveryd_faultfs.so. `state`
  /// must not lie under `root`.
  control(std::filesystem::path root, std::filesystem::path state, std::filesystem::path library);
  ~control();
  control(const control&) = delete;
  control& operator=(const control&) = delete;

  /// The environment a process under the layer needs, as "NAME=value": LD_PRELOAD (the library first, then
  /// `preload_after` when not empty), DELIVERYD_FAULTFS_ROOT and DELIVERYD_FAULTFS_STATE.
  std::vector<std::string> environment(const std::string& preload_after = "") const;

  /// Fails the next `count` calls of `o` (-1: every call until disarmed) with `error`, only on files whose path
  /// under the root ends with `suffix` when it is not empty. Replaces what was armed for `o`.
  void arm(op o, int error, std::int64_t count = -1, const std::string& suffix = "");
  /// Disarms every operation.
  void disarm();
  /// A slow disk: every fsync and fdatasync of a tracked file waits `ms` milliseconds after it snapshotted the
  /// dirty pages, before the real call (0: no wait). What other threads write meanwhile is not part of that sync.
  void delay_syncs(unsigned ms);
  /// What the layer counted.
  counter_values counters() const;
  /// Sets every counter to 0.
  void reset_counters();

  /// The power cut: every tracked file becomes what its disk holds (content and size), and nothing is dirty any
  /// more. Only while no process under the layer runs (SIGKILL it first and wait for it).
  void power_cut();
  /// Drops the page cache's clean pages, as `echo 1 > /proc/sys/vm/drop_caches` would: in every tracked file, each
  /// page that is not dirty becomes the disk's again, and the size too when it is not dirty. Lost pages (a failed
  /// sync's) then disappear; dirty ones stay.
  void drop_caches();

  /// The tracked files' paths under the root, sorted.
  std::vector<std::string> tracked_files() const;
  /// The dirty pages of a tracked file (its path under the root), in order.
  std::vector<std::uint64_t> dirty_pages(const std::string& relative) const;
  /// Whether a tracked file's size is dirty.
  bool size_dirty(const std::string& relative) const;
  /// What the disk holds of a tracked file.
  std::string disk_content(const std::string& relative) const;

  const std::filesystem::path& root() const noexcept { return root_; }
  const std::filesystem::path& state() const noexcept { return state_; }
  const std::filesystem::path& library() const noexcept { return library_; }

private:
  /// Holds the state lock for its lifetime.
  class held_lock;

  std::filesystem::path root_;
  std::filesystem::path state_;
  std::filesystem::path library_;
  int lock_fd_ = -1;
  control_block* block_ = nullptr;
};

} // namespace deliveryd::testing::faultfs
