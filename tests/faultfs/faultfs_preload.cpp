/// The libc functions the fault layer interposes (LD_PRELOAD=libdeliveryd_faultfs.so). Each one passes a call on
/// untracked descriptors and names straight to libc; on a tracked file it keeps the model (tests/faultfs/README.md)
/// under the state lock. The 64-bit names (open64, pwrite64, ftruncate64, ...) are the same functions on 64-bit
/// glibc and are defined as well, since libsqlite3 imports those names (open64, pwrite64, ftruncate64, fcntl64)
/// and the daemon the plain ones (open, fdatasync).
#undef _FORTIFY_SOURCE

#include <cstdarg>
#include <cstdio>
#include <ctime>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "faultfs_layer.hpp"

using namespace deliveryd::testing::faultfs;
using namespace deliveryd::testing::faultfs::layer;

namespace {

mode_t mode_argument(int flags, va_list args) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE ? static_cast<mode_t>(va_arg(args, int)) : 0;
}

/// open, openat and creat. O_TRUNC on a tracked file is done as a tracked ftruncate after the open, so that the
/// truncation is dirty like any other size change.
int open_file(int dirfd, const char* path, int flags, mode_t mode) {
  const auto& real = libc();
  if (!enabled() || (flags & O_TMPFILE) == O_TMPFILE)
    return real.openat(dirfd, path, flags, mode);
  resolved r;
  resolve(dirfd, path, r);
  if (r.where == place::outside)
    return real.openat(dirfd, path, flags, mode);
  const bool truncate = (flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != O_RDONLY && r.where == place::file;
  const int fd = real.openat(dirfd, path, truncate ? flags & ~O_TRUNC : flags, mode);
  if (fd < 0)
    return fd;
  errno_keeper keep;
  state_lock lock;
  bool tracked = false;
  struct stat st {};
  const bool known = ::fstat(fd, &st) == 0;
  if (known && S_ISDIR(st.st_mode))
    attach_directory(fd);
  else if (known && S_ISREG(st.st_mode) && r.where == place::file)
    tracked = attach(fd, r, st);
  if (truncate) {
    if (tracked) {
      count(counter::truncate_calls);
      if (const int e = mark_truncate(fds_of(lookup(fd).file), 0))
        fatal("cannot mark a truncation at open", e);
    }
    sys::ftruncate(fd, 0);
  }
  return fd;
}

/// The offset a write at the descriptor's position starts at.
std::uint64_t position_of(int fd, int flags, const file_fds& f) {
  return (flags & O_APPEND) != 0 ? static_cast<std::uint64_t>(sys::size(f.real))
                                 : static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_CUR));
}

std::uint64_t total_of(const struct iovec* iov, int count) {
  std::uint64_t n = 0;
  for (int i = 0; i < count; ++i)
    n += iov[i].iov_len;
  return n;
}

/// Every kind of write on a tracked file: a fault changes nothing; otherwise the pages are marked dirty, then the
/// real file is written (`perform`), then an O_SYNC/O_DSYNC descriptor's pages go to the disk at once.
/// `offset` < 0: the descriptor's position.
template <class Perform> ssize_t tracked_write(int file, int fd, off_t offset, std::uint64_t length, Perform perform) {
  errno_keeper keep;
  state_lock lock;
  count(counter::write_calls);
  int error = 0;
  if (should_fail(op::write, file, error)) {
    keep.set(error);
    return -1;
  }
  const auto f = fds_of(file);
  const int flags = static_cast<int>(::syscall(SYS_fcntl, fd, F_GETFL));
  const auto start = offset >= 0 ? static_cast<std::uint64_t>(offset) : position_of(fd, flags, f);
  if (const int e = mark_write(f, start, length))
    fatal("cannot mark a write dirty", e);
  const ssize_t n = perform();
  keep.set(errno);
  if (n > 0 && (flags & O_DSYNC) != 0) {
    count(counter::dsync_writes);
    if (const int e = write_back_range(f, start, static_cast<std::uint64_t>(n)))
      fatal("cannot carry an O_DSYNC write to the disk", e);
  }
  return n;
}

int tracked_truncate(int file, int fd, off_t length) {
  errno_keeper keep;
  state_lock lock;
  count(counter::truncate_calls);
  int error = 0;
  if (should_fail(op::write, file, error)) {
    keep.set(error);
    return -1;
  }
  if (const int e = mark_truncate(fds_of(file), static_cast<std::uint64_t>(length)))
    fatal("cannot mark a truncation dirty", e);
  const int r = libc().ftruncate(fd, length);
  keep.set(errno);
  return r;
}

/// fsync and fdatasync. The dirty pages are snapshotted when the call begins; only that snapshot reaches the disk
/// if the real call succeeds, never what other threads write while it runs (POSIX promises no more). An armed
/// fault, or a failure of the real call, makes the snapshotted pages clean without their reaching the disk (they
/// are lost: a later successful sync does not write them). The real call runs outside the state lock, beside
/// the other threads' writes; syncs of one file wait for each other.
int tracked_sync(int fd, op o, int (*perform)(int)) {
  const auto d = lookup(fd);
  if (d.file < 0) {
    if (d.directory) {
      errno_keeper keep;
      state_lock lock;
      count(counter::dir_syncs);
    }
    return perform(fd);
  }
  errno_keeper keep;
  file_sync_lock one_at_a_time{d.file};
  unsigned delay = 0;
  {
    state_lock lock;
    count(o == op::fsync ? counter::fsync_calls : counter::fdatasync_calls);
    int error = 0;
    if (should_fail(o, d.file, error)) {
      std::uint64_t lost = 0;
      if (const int e = lose_dirty(fds_of(d.file).meta, lost))
        fatal("cannot drop the dirty pages of a failed sync", e);
      count(counter::lost_pages, lost);
      keep.set(error);
      return -1;
    }
    if (const int e = begin_sync(fds_of(d.file)))
      fatal("cannot snapshot the dirty pages for a sync", e);
    delay = sync_delay_ms();
  }
  if (delay > 0) {
    timespec wait{static_cast<time_t>(delay / 1000), static_cast<long>(delay % 1000) * 1'000'000L};
    while (::nanosleep(&wait, &wait) != 0 && errno == EINTR) {
    }
  }
  const int r = perform(fd);
  keep.set(errno);
  state_lock lock;
  std::uint64_t pages = 0;
  if (const int e = end_sync(fds_of(d.file), r == 0, pages))
    fatal("cannot end a sync", e);
  count(r == 0 ? counter::synced_pages : counter::lost_pages, pages);
  return r;
}

/// unlink, unlinkat and remove: a tracked name's state goes with it (directory operations are durable at once).
template <class Perform> int remove_name(int dirfd, const char* path, Perform perform) {
  if (!enabled())
    return perform();
  resolved r;
  resolve(dirfd, path, r);
  if (r.where != place::file)
    return perform();
  errno_keeper keep;
  state_lock lock;
  const int result = perform();
  keep.set(errno);
  if (result == 0) {
    count(counter::unlink_calls);
    forget_name(r.relative);
  }
  return result;
}

/// rename, renameat and renameat2: the state follows the name; a name replaced loses its state; a file renamed
/// into the root is taken as it is (on the disk) at its next open. RENAME_EXCHANGE is not modelled.
template <class Perform> int rename_name(int from_dir, const char* from, int to_dir, const char* to, Perform perform) {
  if (!enabled())
    return perform();
  resolved a;
  resolved b;
  resolve(from_dir, from, a);
  resolve(to_dir, to, b);
  if (a.where != place::file && b.where != place::file)
    return perform();
  errno_keeper keep;
  state_lock lock;
  const int result = perform();
  keep.set(errno);
  if (result != 0)
    return result;
  count(counter::rename_calls);
  if (b.where == place::file)
    forget_name(b.relative);
  if (a.where == place::file && b.where == place::file)
    move_name(a.relative, b.relative);
  else if (a.where == place::file)
    forget_name(a.relative);
  return result;
}

/// dup, dup2, dup3 and fcntl(F_DUPFD): the copy refers to the same tracked file; a descriptor replaced by dup2
/// stops referring to its own.
template <class Perform> int duplicate(int fd, int target, Perform perform) {
  const auto involved = [](int d) { return d >= 0 && (lookup(d).file >= 0 || lookup(d).directory); };
  if (!enabled() || (!involved(fd) && !involved(target)))
    return perform();
  errno_keeper keep;
  state_lock lock;
  if (target >= 0 && target != fd)
    detach(target);
  const int copy = perform();
  keep.set(errno);
  if (copy >= 0 && copy != fd)
    attach_copy(fd, copy);
  return copy;
}

} // namespace

#define FAULTFS_EXPORT extern "C" __attribute__((visibility("default")))

FAULTFS_EXPORT int open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return open_file(AT_FDCWD, path, flags, mode);
}

FAULTFS_EXPORT int open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return open_file(AT_FDCWD, path, flags, mode);
}

FAULTFS_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return open_file(dirfd, path, flags, mode);
}

FAULTFS_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = mode_argument(flags, args);
  va_end(args);
  return open_file(dirfd, path, flags, mode);
}

// The _FORTIFY_SOURCE entry points: the same without a mode.
FAULTFS_EXPORT int __open_2(const char* path, int flags) { return open_file(AT_FDCWD, path, flags, 0); }
FAULTFS_EXPORT int __open64_2(const char* path, int flags) { return open_file(AT_FDCWD, path, flags, 0); }
FAULTFS_EXPORT int __openat_2(int dirfd, const char* path, int flags) { return open_file(dirfd, path, flags, 0); }
FAULTFS_EXPORT int __openat64_2(int dirfd, const char* path, int flags) { return open_file(dirfd, path, flags, 0); }

FAULTFS_EXPORT int creat(const char* path, mode_t mode) {
  return open_file(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
FAULTFS_EXPORT int creat64(const char* path, mode_t mode) {
  return open_file(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

FAULTFS_EXPORT int close(int fd) {
  const auto d = lookup(fd);
  if (d.file >= 0 || d.directory) {
    errno_keeper keep;
    state_lock lock;
    detach(fd);
  }
  return libc().close(fd);
}

FAULTFS_EXPORT ssize_t write(int fd, const void* buffer, size_t length) {
  const auto d = lookup(fd);
  if (d.file < 0)
    return libc().write(fd, buffer, length);
  return tracked_write(d.file, fd, -1, length, [&] { return libc().write(fd, buffer, length); });
}

FAULTFS_EXPORT ssize_t pwrite(int fd, const void* buffer, size_t length, off_t offset) {
  const auto d = lookup(fd);
  if (d.file < 0)
    return libc().pwrite(fd, buffer, length, offset);
  return tracked_write(d.file, fd, offset, length, [&] { return libc().pwrite(fd, buffer, length, offset); });
}

FAULTFS_EXPORT ssize_t pwrite64(int fd, const void* buffer, size_t length, off_t offset) {
  return pwrite(fd, buffer, length, offset);
}

FAULTFS_EXPORT ssize_t writev(int fd, const struct iovec* iov, int count) {
  const auto d = lookup(fd);
  if (d.file < 0)
    return libc().writev(fd, iov, count);
  return tracked_write(d.file, fd, -1, total_of(iov, count), [&] { return libc().writev(fd, iov, count); });
}

FAULTFS_EXPORT ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
  const auto d = lookup(fd);
  if (d.file < 0)
    return libc().pwritev(fd, iov, count, offset);
  return tracked_write(d.file, fd, offset, total_of(iov, count),
                       [&] { return libc().pwritev(fd, iov, count, offset); });
}

FAULTFS_EXPORT ssize_t pwritev64(int fd, const struct iovec* iov, int count, off_t offset) {
  return pwritev(fd, iov, count, offset);
}

FAULTFS_EXPORT int ftruncate(int fd, off_t length) {
  const auto d = lookup(fd);
  if (d.file < 0)
    return libc().ftruncate(fd, length);
  return tracked_truncate(d.file, fd, length);
}

FAULTFS_EXPORT int ftruncate64(int fd, off_t length) { return ftruncate(fd, length); }

/// truncate(path) (PostgreSQL empties a dropped relation's file this way before it unlinks it at the next
/// checkpoint): on a tracked name, a tracked ftruncate through a descriptor the layer opens and closes. A name it
/// cannot open for writing (a folder, a missing file, no permission, a FIFO without a reader) goes to libc, which
/// gives the errno.
FAULTFS_EXPORT int truncate(const char* path, off_t length) {
  if (!enabled())
    return libc().truncate(path, length);
  resolved r;
  resolve(AT_FDCWD, path, r);
  if (r.where != place::file)
    return libc().truncate(path, length);
  const int fd = open_file(AT_FDCWD, path, O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    return libc().truncate(path, length);
  const auto d = lookup(fd);
  const int result = d.file >= 0 ? tracked_truncate(d.file, fd, length) : libc().ftruncate(fd, length);
  errno_keeper keep;
  close(fd);
  return result;
}

FAULTFS_EXPORT int truncate64(const char* path, off_t length) { return truncate(path, length); }

FAULTFS_EXPORT int fsync(int fd) { return tracked_sync(fd, op::fsync, libc().fsync); }

FAULTFS_EXPORT int fdatasync(int fd) { return tracked_sync(fd, op::fdatasync, libc().fdatasync); }

/// POSIX_FADV_DONTNEED drops the clean pages in whole pages of the range (all of the file for length 0): they
/// become the disk's again.
FAULTFS_EXPORT int posix_fadvise(int fd, off_t offset, off_t length, int advice) {
  const auto d = lookup(fd);
  if (d.file >= 0 && advice == POSIX_FADV_DONTNEED && offset >= 0 && length >= 0) {
    errno_keeper keep;
    state_lock lock;
    count(counter::dontneed_calls);
    const auto first = (static_cast<std::uint64_t>(offset) + page_size - 1) / page_size;
    const auto end = length == 0 ? 0 : static_cast<std::uint64_t>(offset + length) / page_size;
    if (length == 0 || end > first)
      if (const int e = drop_clean(fds_of(d.file), first, end, length == 0))
        fatal("cannot drop clean pages", e);
  }
  return libc().posix_fadvise(fd, offset, length, advice);
}

FAULTFS_EXPORT int posix_fadvise64(int fd, off_t offset, off_t length, int advice) {
  return posix_fadvise(fd, offset, length, advice);
}

FAULTFS_EXPORT int unlink(const char* path) {
  return remove_name(AT_FDCWD, path, [&] { return libc().unlink(path); });
}

FAULTFS_EXPORT int unlinkat(int dirfd, const char* path, int flags) {
  if ((flags & AT_REMOVEDIR) != 0)
    return libc().unlinkat(dirfd, path, flags);
  return remove_name(dirfd, path, [&] { return libc().unlinkat(dirfd, path, flags); });
}

FAULTFS_EXPORT int remove(const char* path) {
  return remove_name(AT_FDCWD, path, [&] { return libc().remove(path); });
}

FAULTFS_EXPORT int rename(const char* from, const char* to) {
  return rename_name(AT_FDCWD, from, AT_FDCWD, to, [&] { return libc().rename(from, to); });
}

FAULTFS_EXPORT int renameat(int from_dir, const char* from, int to_dir, const char* to) {
  return rename_name(from_dir, from, to_dir, to, [&] { return libc().renameat(from_dir, from, to_dir, to); });
}

FAULTFS_EXPORT int renameat2(int from_dir, const char* from, int to_dir, const char* to, unsigned flags) {
  return rename_name(from_dir, from, to_dir, to,
                     [&] { return libc().renameat2(from_dir, from, to_dir, to, flags); });
}

FAULTFS_EXPORT int dup(int fd) {
  return duplicate(fd, -1, [&] { return libc().dup(fd); });
}

FAULTFS_EXPORT int dup2(int fd, int target) {
  return duplicate(fd, target, [&] { return libc().dup2(fd, target); });
}

FAULTFS_EXPORT int dup3(int fd, int target, int flags) {
  return duplicate(fd, target, [&] { return libc().dup3(fd, target, flags); });
}

/// fcntl passes every command on; F_DUPFD and F_DUPFD_CLOEXEC are tracked like dup. The argument is read as a
/// pointer-sized word, as glibc's own wrappers do: an int argument travels in the same register.
FAULTFS_EXPORT int fcntl(int fd, int command, ...) {
  va_list args;
  va_start(args, command);
  void* argument = va_arg(args, void*);
  va_end(args);
  if (command != F_DUPFD && command != F_DUPFD_CLOEXEC)
    return libc().fcntl(fd, command, argument);
  return duplicate(fd, -1, [&] { return libc().fcntl(fd, command, argument); });
}

FAULTFS_EXPORT int fcntl64(int fd, int command, ...) {
  va_list args;
  va_start(args, command);
  void* argument = va_arg(args, void*);
  va_end(args);
  if (command != F_DUPFD && command != F_DUPFD_CLOEXEC)
    return libc().fcntl(fd, command, argument);
  return duplicate(fd, -1, [&] { return libc().fcntl(fd, command, argument); });
}
