#pragma once
/// The model's operations on one tracked file, given its descriptors: the real file (the page cache), its shadow
/// (the disk), its meta file (the pages' and the size's marks) and, for syncs, its stage file (a sync's snapshot). Shared by the layer and
/// the tests' control library, so that a sync inside the daemon and a power cut in the test apply one model.
///
/// Every function makes raw system calls (syscall(2)), never the libc functions the layer interposes, so that it
/// can run inside the layer while the layer's lock is held; none throws or allocates. The caller holds the state
/// lock. Errors come back as an errno value (0: done).
///
/// Order against a SIGKILL at any instruction: a page is marked dirty before the real file changes, and marks
/// are cleared only after the shadow holds the page. A kill in between leaves a page marked dirty whose content
/// already is on the shadow, which a later sync copies once more: harmless. A kill in the middle of a sync's
/// copy leaves some dirty pages on the disk and others not, as a power cut during a real fsync can; marks of a
/// sync in flight (mark::syncing, mark::resynced) left by a killed process count as dirty.

#include <cstdint>

#include <sys/types.h>

namespace deliveryd::testing::faultfs {

/// Raw system calls, past any interposer. Each returns -1 and sets errno on failure, like libc's.
namespace sys {
int open_at(int dirfd, const char* path, int flags, mode_t mode = 0) noexcept;
int close(int fd) noexcept;
ssize_t pread(int fd, void* buffer, std::size_t length, off_t offset) noexcept;
ssize_t pwrite(int fd, const void* buffer, std::size_t length, off_t offset) noexcept;
int ftruncate(int fd, off_t length) noexcept;
/// The file's size, -1 on failure.
off_t size(int fd) noexcept;
int flock(int fd, int operation) noexcept;
int rename_at(int from_dir, const char* from, int to_dir, const char* to) noexcept;
int unlink_at(int dirfd, const char* path) noexcept;
} // namespace sys

/// A tracked file's descriptors.
struct file_fds {
  int real = -1;
  int shadow = -1;
  int meta = -1;
  int stage = -1; ///< the snapshot of a sync in flight (the layer only)
};

/// A meta file's header, written anew: no dirty page, the size clean, for the real file (dev, ino).
int reset_meta(int meta_fd, std::uint64_t dev, std::uint64_t ino) noexcept;
/// Reads (dev, ino) from the header; false when the file has no valid header.
bool meta_identity(int meta_fd, std::uint64_t& dev, std::uint64_t& ino) noexcept;
/// Marks pages [first, end) dirty (mark::resynced where a sync in flight snapshotted them).
int mark_dirty(int meta_fd, std::uint64_t first, std::uint64_t end) noexcept;
/// Marks the size dirty (resynced while a sync is in flight), or clean.
int set_size_dirty(int meta_fd, bool dirty) noexcept;
/// Whether the size is dirty (false when it cannot be read).
bool size_dirty(int meta_fd) noexcept;

/// Marks what a write of `length` bytes at `offset` will change, before it is made: the pages it covers, the
/// zeros it leaves between the real file's end and `offset`, and the size when it ends past the real file's or
/// the disk's size.
int mark_write(const file_fds& f, std::uint64_t offset, std::uint64_t length) noexcept;
/// Marks what resizing the real file to `length` will change, before it is made: the pages between the old and
/// the new size, and the size.
int mark_truncate(const file_fds& f, std::uint64_t length) noexcept;

/// The start of a sync (fsync, fdatasync): the dirty pages' content and the real file's size are snapshotted
/// into the stage file, and their marks become mark::syncing. A write during the sync makes them
/// mark::resynced. Syncs of one file must not overlap (the layer holds a lock per file).
int begin_sync(const file_fds& f) noexcept;
/// The end of a sync begun with begin_sync. On success the snapshot goes to the shadow (the size when it was
/// dirty, then the pages) and syncing marks become clean, resynced ones dirty; `pages` gets the number copied.
/// On failure the snapshot is lost: syncing marks become clean without the pages reaching the shadow (the kernel
/// marks them clean after a writeback error), resynced ones stay dirty; `pages` gets the number lost. What was
/// written during the sync is never on the disk by this sync: only what the file held when it began.
int end_sync(const file_fds& f, bool succeeded, std::uint64_t& pages) noexcept;
/// An O_SYNC/O_DSYNC write of [offset, offset + length) that the real file took: its pages and, when the write
/// ended past the disk's size, the size go to the shadow; those pages' marks are cleared.
int write_back_range(const file_fds& f, std::uint64_t offset, std::uint64_t length) noexcept;
/// A failed sync: every dirty page becomes clean without reaching the shadow (the kernel marks them clean after
/// a writeback error), and so does a dirty size. `pages` gets the number of pages lost.
int lose_dirty(int meta_fd, std::uint64_t& pages) noexcept;
/// A page-cache eviction of pages [first, end) (end 0: to the end of the file): each clean page of the real file
/// becomes the shadow's again (zeros past the shadow's end); with `whole` and the size clean, the real file's
/// size becomes the shadow's too. A lost page then disappears from the process's view.
int drop_clean(const file_fds& f, std::uint64_t first, std::uint64_t end, bool whole) noexcept;
/// The power cut of one file: the real file becomes the shadow (content and size), no page is dirty any more.
int restore(const file_fds& f) noexcept;
/// Copies a whole file (content and size) from one descriptor to another.
int copy_file(int from_fd, int to_fd) noexcept;

/// Writes `relative` (a path under the root) as a key, into `out` of `capacity` bytes; false when it does not fit
/// in a file name.
bool key_of(const char* relative, char* out, std::size_t capacity) noexcept;
/// The path under the root that a key stands for; false when `key` is no key.
bool relative_of(const char* key, char* out, std::size_t capacity) noexcept;

} // namespace deliveryd::testing::faultfs
