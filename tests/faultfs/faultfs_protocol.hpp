#pragma once
/// What the fault layer (libdeliveryd_faultfs.so, loaded into the process under test) and the tests' control
/// library (in the test process) share: the files of $DELIVERYD_FAULTFS_STATE and the layout of the control
/// block. Both sides include this header; neither links the other. The model itself is described in
/// tests/faultfs/README.md.
///
/// $DELIVERYD_FAULTFS_STATE holds:
/// - `control`: one control_block, mapped MAP_SHARED by every process under the layer and by the test, changed
///   only while the state lock is held (the armed faults and the counters);
/// - `lock`: the state lock, flock(LOCK_EX) on it (plus a mutex inside each process); the kernel drops it when a
///   holder is SIGKILLed;
/// - `files/<key>.disk`: a tracked file's shadow, what the disk holds (content and size);
/// - `files/<key>.meta`: a meta_header, then one mark per 4096-byte page of the file (a `mark`; past the end of
///   the file: clean);
/// - `files/<key>.stage`: what a sync in flight snapshotted of the dirty pages when it began (pages at their
///   offsets), copied to the shadow only if the sync succeeds.
/// `<key>` is the file's path under $DELIVERYD_FAULTFS_ROOT with '%' written "%25" and '/' written "%2F".

#include <cstddef>
#include <cstdint>

namespace deliveryd::testing::faultfs {

/// The granularity of the model: the page cache's page.
inline constexpr std::uint64_t page_size = 4096;

/// The operations a fault can be armed for.
enum class op : std::uint32_t {
  write,     ///< write, pwrite, pwrite64, writev, pwritev, pwritev64, ftruncate, ftruncate64
  fsync,     ///< fsync
  fdatasync, ///< fdatasync
};
inline constexpr std::size_t op_count = 3;

/// What the layer counts (the test's proof that it saw the calls). Calls count only tracked files.
enum class counter : std::uint32_t {
  write_calls,      ///< write-kind calls on tracked files (ftruncate counted in truncate_calls, not here)
  write_faults,     ///< write-kind calls (ftruncate included) failed by an armed fault
  fsync_calls,      ///< fsync on tracked files
  fsync_faults,     ///< fsync failed by an armed fault
  fdatasync_calls,  ///< fdatasync on tracked files
  fdatasync_faults, ///< fdatasync failed by an armed fault
  truncate_calls,   ///< ftruncate, and open with O_TRUNC, on tracked files
  open_calls,       ///< opens of tracked files
  close_calls,      ///< closes of descriptors of tracked files
  dsync_writes,     ///< writes through an O_SYNC or O_DSYNC descriptor (on the disk at once)
  synced_pages,     ///< pages copied to the disk by successful syncs
  lost_pages,       ///< dirty pages a failed sync made clean without their reaching the disk
  dontneed_calls,   ///< posix_fadvise(POSIX_FADV_DONTNEED) on tracked files
  unlink_calls,     ///< unlinks of tracked files
  rename_calls,     ///< renames from or to a tracked name
  dir_syncs,        ///< fsync or fdatasync of a directory under the root (passed through; never faulted)
  untracked_opens,  ///< regular files under the root the layer could not track (descriptor past its table, or a
                    ///< name too long for a key): a test that sees one must not trust the cut
  count_
};
inline constexpr std::size_t counter_count = static_cast<std::size_t>(counter::count_);

/// One armed fault: the next `remaining` calls of its operation fail with `error` (-1: every call until disarmed;
/// 0: disarmed), only on files whose key ends with `suffix` when it is not empty.
struct arm_slot {
  std::int32_t error;
  std::int32_t reserved;
  std::int64_t remaining;
  char suffix[112];
};

/// The file `control`: zero bytes are a valid block (nothing armed, every counter 0).
struct control_block {
  arm_slot arms[op_count];
  std::uint64_t counters[32];
  std::uint32_t sync_delay_ms; ///< a slow disk: each fsync and fdatasync of a tracked file waits this long after
                               ///< its snapshot, before the real call (0: no wait)
  std::uint32_t reserved;
};
static_assert(counter_count <= 32);

/// A page's mark in a `.meta` file, and the size's (meta_header::size_dirty). Anything but `clean` is dirty: a
/// page cache eviction keeps it, a power cut without a sync loses it.
enum class mark : std::uint8_t {
  clean = 0,     ///< the disk holds what the page cache holds
  dirty = 1,     ///< written since it last reached the disk
  syncing = 2,   ///< dirty, and snapshotted by a sync in flight: clean if that sync succeeds, lost if it fails
  resynced = 3,  ///< snapshotted by a sync in flight and written again since: dirty whatever that sync does
};

/// The start of every `.meta` file; the marks begin at meta_header_size.
struct meta_header {
  char magic[8];            ///< "FFSMETA1"
  std::uint64_t dev;        ///< the real file's st_dev and st_ino when the state was made: a file replaced behind
  std::uint64_t ino;        ///< the layer's back (another inode) starts over, its content taken as on the disk
  std::uint8_t size_dirty;  ///< a `mark`: not clean when the real file's size may differ from the disk's
  std::uint8_t reserved[7];
  std::uint64_t sync_size;  ///< the real file's size when the sync in flight began
  std::uint8_t reserved2[24];
};
inline constexpr std::uint64_t meta_header_size = 64;
static_assert(sizeof(meta_header) == meta_header_size);
inline constexpr char meta_magic[8] = {'F', 'F', 'S', 'M', 'E', 'T', 'A', '1'};

/// The environment variables that switch the layer on (both must be set, to absolute paths).
inline constexpr const char* root_variable = "DELIVERYD_FAULTFS_ROOT";
inline constexpr const char* state_variable = "DELIVERYD_FAULTFS_STATE";

} // namespace deliveryd::testing::faultfs
