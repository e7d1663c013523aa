#pragma once
/// The fault layer's bookkeeping inside one process (libdeliveryd_faultfs.so): its configuration, the state lock,
/// the table from descriptors to tracked files, and the armed faults. faultfs_preload.cpp holds the interposed
/// libc functions and uses only this interface. Nothing here throws or allocates from the heap; every call into
/// the kernel on the layer's own files is a raw system call (faultfs_state.hpp).

#include <cerrno>
#include <cstdint>

#include <sys/stat.h>
#include <sys/types.h>

#include "faultfs_protocol.hpp"
#include "faultfs_state.hpp"

namespace deliveryd::testing::faultfs::layer {

/// The libc functions the layer passes calls on to (dlsym(RTLD_NEXT)).
struct libc_functions {
  int (*openat)(int, const char*, int, ...);
  int (*close)(int);
  ssize_t (*write)(int, const void*, std::size_t);
  ssize_t (*pwrite)(int, const void*, std::size_t, off_t);
  ssize_t (*writev)(int, const struct iovec*, int);
  ssize_t (*pwritev)(int, const struct iovec*, int, off_t);
  int (*ftruncate)(int, off_t);
  int (*truncate)(const char*, off_t);
  int (*fsync)(int);
  int (*fdatasync)(int);
  int (*posix_fadvise)(int, off_t, off_t, int);
  int (*unlink)(const char*);
  int (*unlinkat)(int, const char*, int);
  int (*remove)(const char*);
  int (*rename)(const char*, const char*);
  int (*renameat)(int, const char*, int, const char*);
  int (*renameat2)(int, const char*, int, const char*, unsigned);
  int (*dup)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*fcntl)(int, int, ...);
};

/// The libc functions, resolved at the first call.
const libc_functions& libc() noexcept;

/// True when both environment variables are set: the layer tracks files. Without them every call passes through.
bool enabled() noexcept;

/// The state lock: the process's mutex, then flock on $STATE/lock (other processes under the layer, and the
/// test's power cut and drop_caches).
class state_lock {
public:
  state_lock() noexcept;
  ~state_lock();
  state_lock(const state_lock&) = delete;
  state_lock& operator=(const state_lock&) = delete;
};

/// A tracked file's sync lock, held for a whole fsync or fdatasync (its real call included) so that syncs of
/// one file never overlap: a mutex of the file in this process, then flock on its meta file (other processes).
/// Taken before the state lock, never while holding it.
class file_sync_lock {
public:
  explicit file_sync_lock(int file) noexcept;
  ~file_sync_lock();
  file_sync_lock(const file_sync_lock&) = delete;
  file_sync_lock& operator=(const file_sync_lock&) = delete;

private:
  int file_;
};

/// Keeps errno across the layer's own calls.
class errno_keeper {
public:
  errno_keeper() noexcept : saved_{errno} {}
  ~errno_keeper() { errno = saved_; }
  void set(int value) noexcept { saved_ = value; }
  errno_keeper(const errno_keeper&) = delete;
  errno_keeper& operator=(const errno_keeper&) = delete;

private:
  int saved_;
};

/// Where a path lies against the root.
enum class place {
  outside, ///< not under the root: passed through
  tree,    ///< the root itself, or a name under it that is no file name ("." or ".."): a directory at most
  file,    ///< a name under the root: tracked when it opens as a regular file
};

/// A path resolved at open time: realpath of its folder, plus its last name.
struct resolved {
  place where = place::outside;
  char full[4096];     ///< the absolute path
  const char* relative; ///< into full: the path under the root (place::file only)
};

/// Resolves `path` (relative paths against `dirfd`, or the working directory for AT_FDCWD).
void resolve(int dirfd, const char* path, resolved& out) noexcept;

/// What a descriptor is to the layer.
struct descriptor {
  int file = -1;      ///< the tracked file's index, -1 when the descriptor is not one
  bool directory = false; ///< a directory under the root (its syncs are counted)
};
/// The descriptor's entry, read without the lock (it is set before open returns it and cleared before close).
descriptor lookup(int fd) noexcept;

/// Under the lock: makes `fd`, just opened on `file` (a regular file under the root, `st` its fstat), a
/// descriptor of its tracked file, creating the file's state (its shadow a copy of its content) at its first
/// open. False when the layer cannot track it (counted as counter::untracked_opens).
bool attach(int fd, const resolved& file, const struct stat& st) noexcept;
/// Under the lock: `fd` is a directory under the root.
void attach_directory(int fd) noexcept;
/// Under the lock: `copy` is a duplicate of `fd` (dup, dup2, dup3, F_DUPFD).
void attach_copy(int fd, int copy) noexcept;
/// Under the lock: `fd` no longer refers to what it did (closed, or replaced by dup2); the tracked file's
/// descriptors are closed with its last one.
void detach(int fd) noexcept;

/// A tracked file's descriptors for the model (its `real` is the layer's own read-write descriptor).
file_fds fds_of(int file) noexcept;
/// The tracked file's path under the root.
const char* relative_of_file(int file) noexcept;

/// Under the lock: the state of the name `relative` is gone (unlink, or replaced by a rename): its files in
/// $STATE are removed and open descriptors keep state of their own that no name reaches.
void forget_name(const char* relative) noexcept;
/// Under the lock: the state of `from` now belongs to the name `to` (rename).
void move_name(const char* from, const char* to) noexcept;

/// Under the lock: true when an armed fault fails this call of `o` on the tracked file; `error` gets its errno
/// and the fault is counted.
bool should_fail(op o, int file, int& error) noexcept;
/// Under the lock: how long a sync waits after its snapshot (control_block::sync_delay_ms).
unsigned sync_delay_ms() noexcept;
/// Under the lock: adds to a counter.
void count(counter c, std::uint64_t n = 1) noexcept;

/// Writes a line to stderr and aborts: the layer's own state cannot be kept, so a cut would be wrong.
[[noreturn]] void fatal(const char* what, int error) noexcept;

} // namespace deliveryd::testing::faultfs::layer
