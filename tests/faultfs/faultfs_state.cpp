#include "faultfs_state.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "faultfs_protocol.hpp"

namespace deliveryd::testing::faultfs {

namespace sys {
// The calls the layer interposes go to the kernel by number; the others (pread, fstat, flock) are libc's.
int open_at(int dirfd, const char* path, int flags, mode_t mode) noexcept {
  return static_cast<int>(::syscall(SYS_openat, dirfd, path, flags | O_CLOEXEC, mode));
}
int close(int fd) noexcept { return static_cast<int>(::syscall(SYS_close, fd)); }
ssize_t pread(int fd, void* buffer, std::size_t length, off_t offset) noexcept {
  return ::pread(fd, buffer, length, offset);
}
ssize_t pwrite(int fd, const void* buffer, std::size_t length, off_t offset) noexcept {
  return static_cast<ssize_t>(::syscall(SYS_pwrite64, fd, buffer, length, offset));
}
int ftruncate(int fd, off_t length) noexcept { return static_cast<int>(::syscall(SYS_ftruncate, fd, length)); }
off_t size(int fd) noexcept {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}
int flock(int fd, int operation) noexcept {
  int r;
  while ((r = ::flock(fd, operation)) != 0 && errno == EINTR) {
  }
  return r;
}
int rename_at(int from_dir, const char* from, int to_dir, const char* to) noexcept {
  return static_cast<int>(::syscall(SYS_renameat, from_dir, from, to_dir, to));
}
int unlink_at(int dirfd, const char* path) noexcept { return static_cast<int>(::syscall(SYS_unlinkat, dirfd, path, 0)); }
} // namespace sys

namespace {

constexpr std::size_t chunk = 64 * 1024;

std::uint64_t pages_to_cover(std::uint64_t bytes) { return (bytes + page_size - 1) / page_size; }

/// Writes all of [buffer, buffer + length) at offset, or fails.
int write_all(int fd, const char* buffer, std::size_t length, std::uint64_t offset) noexcept {
  while (length > 0) {
    const auto n = sys::pwrite(fd, buffer, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? errno : EIO;
    buffer += n;
    length -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return 0;
}

/// Copies [offset, offset + length) between two files; bytes past the source's end are written as zeros.
int copy_range(int from, int to, std::uint64_t offset, std::uint64_t length) noexcept {
  char buffer[chunk];
  while (length > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length, chunk));
    std::size_t got = 0;
    while (got < want) {
      const auto n = sys::pread(from, buffer + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return errno;
      if (n == 0)
        break;
      got += static_cast<std::size_t>(n);
    }
    std::memset(buffer + got, 0, want - got);
    if (const int e = write_all(to, buffer, want, offset))
      return e;
    offset += want;
    length -= want;
  }
  return 0;
}

/// Makes [offset, offset + length) of `to` equal to `from`'s (zeros past `from`'s end), writing only the pieces
/// that differ: a page cache that already shows the disk is left alone (and may be read-only).
int copy_range_if_different(int from, int to, std::uint64_t offset, std::uint64_t length) noexcept {
  char wanted[page_size];
  char present[page_size];
  while (length > 0) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length, page_size));
    const auto a = sys::pread(from, wanted, n, static_cast<off_t>(offset));
    const auto b = sys::pread(to, present, n, static_cast<off_t>(offset));
    if (a < 0 || b < 0)
      return errno;
    std::memset(wanted + a, 0, n - static_cast<std::size_t>(a));
    if (static_cast<std::size_t>(b) != n || std::memcmp(wanted, present, n) != 0)
      if (const int e = write_all(to, wanted, n, offset))
        return e;
    offset += n;
    length -= n;
  }
  return 0;
}

/// Calls visit(first, end) for each run of dirty pages, in order; stops at the first error visit returns.
template <class Visit> int for_dirty_runs(int meta_fd, Visit visit) noexcept {
  char marks[4096];
  std::uint64_t base = 0;
  std::uint64_t run_first = 0;
  bool in_run = false;
  for (;;) {
    const auto n = sys::pread(meta_fd, marks, sizeof marks, static_cast<off_t>(meta_header_size + base));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    for (ssize_t i = 0; i < n; ++i) {
      const bool dirty = marks[i] != 0;
      if (dirty && !in_run) {
        run_first = base + static_cast<std::uint64_t>(i);
        in_run = true;
      } else if (!dirty && in_run) {
        in_run = false;
        if (const int e = visit(run_first, base + static_cast<std::uint64_t>(i)))
          return e;
      }
    }
    if (n == 0)
      break;
    base += static_cast<std::uint64_t>(n);
  }
  return in_run ? visit(run_first, base) : 0;
}

/// Forgets every dirty mark and the size's.
int clear_marks(int meta_fd) noexcept {
  if (sys::ftruncate(meta_fd, static_cast<off_t>(meta_header_size)) != 0)
    return errno;
  return set_size_dirty(meta_fd, false);
}

/// Calls change(page, value) for the marks of pages [first, end) (all of the file's pages for end 0; past the end
/// of the meta file a mark reads clean) and writes back those it changed; stops at the first error change
/// returns.
template <class Change> int change_marks(int meta_fd, std::uint64_t first, std::uint64_t end, Change change) noexcept {
  if (end == 0) {
    const auto size = sys::size(meta_fd);
    if (size < 0)
      return errno;
    end = static_cast<std::uint64_t>(size) > meta_header_size ? static_cast<std::uint64_t>(size) - meta_header_size : 0;
  }
  std::uint8_t marks[4096];
  while (first < end) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(end - first, sizeof marks));
    const auto got = sys::pread(meta_fd, marks, n, static_cast<off_t>(meta_header_size + first));
    if (got < 0)
      return errno;
    std::memset(marks + got, 0, n - static_cast<std::size_t>(got));
    bool changed = false;
    for (std::size_t i = 0; i < n; ++i) {
      auto value = static_cast<mark>(marks[i]);
      if (const int e = change(first + i, value))
        return e;
      changed = changed || static_cast<std::uint8_t>(value) != marks[i];
      marks[i] = static_cast<std::uint8_t>(value);
    }
    if (changed)
      if (const int e = write_all(meta_fd, reinterpret_cast<const char*>(marks), n, meta_header_size + first))
        return e;
    first += n;
  }
  return 0;
}

/// A mark written again: dirty, or resynced when a sync in flight snapshotted it.
mark written(mark m) noexcept {
  return m == mark::syncing || m == mark::resynced ? mark::resynced : mark::dirty;
}

mark size_mark(int meta_fd) noexcept {
  std::uint8_t flag = 0;
  return sys::pread(meta_fd, &flag, 1, offsetof(meta_header, size_dirty)) == 1 ? static_cast<mark>(flag) : mark::clean;
}

int set_size_mark(int meta_fd, mark m) noexcept {
  const auto flag = static_cast<char>(m);
  return write_all(meta_fd, &flag, 1, offsetof(meta_header, size_dirty));
}

} // namespace

int reset_meta(int meta_fd, std::uint64_t dev, std::uint64_t ino) noexcept {
  meta_header h{};
  std::memcpy(h.magic, meta_magic, sizeof h.magic);
  h.dev = dev;
  h.ino = ino;
  if (sys::ftruncate(meta_fd, 0) != 0)
    return errno;
  return write_all(meta_fd, reinterpret_cast<const char*>(&h), sizeof h, 0);
}

bool meta_identity(int meta_fd, std::uint64_t& dev, std::uint64_t& ino) noexcept {
  meta_header h{};
  if (sys::pread(meta_fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h) ||
      std::memcmp(h.magic, meta_magic, sizeof h.magic) != 0)
    return false;
  dev = h.dev;
  ino = h.ino;
  return true;
}

int mark_dirty(int meta_fd, std::uint64_t first, std::uint64_t end) noexcept {
  if (first >= end)
    return 0;
  return change_marks(meta_fd, first, end, [](std::uint64_t, mark& m) noexcept {
    m = written(m);
    return 0;
  });
}

int set_size_dirty(int meta_fd, bool dirty) noexcept {
  return set_size_mark(meta_fd, dirty ? written(size_mark(meta_fd)) : mark::clean);
}

bool size_dirty(int meta_fd) noexcept { return size_mark(meta_fd) != mark::clean; }

int mark_write(const file_fds& f, std::uint64_t offset, std::uint64_t length) noexcept {
  if (length == 0)
    return 0;
  const auto real = sys::size(f.real);
  const auto disk = sys::size(f.shadow);
  if (real < 0 || disk < 0)
    return errno;
  const auto end = offset + length;
  const auto first = std::min(offset, static_cast<std::uint64_t>(real)) / page_size;
  if (const int e = mark_dirty(f.meta, first, pages_to_cover(end)))
    return e;
  if (end > static_cast<std::uint64_t>(real) || end > static_cast<std::uint64_t>(disk))
    return set_size_dirty(f.meta, true);
  return 0;
}

int mark_truncate(const file_fds& f, std::uint64_t length) noexcept {
  const auto real = sys::size(f.real);
  const auto disk = sys::size(f.shadow);
  if (real < 0 || disk < 0)
    return errno;
  const auto low = std::min(length, static_cast<std::uint64_t>(real));
  const auto high = std::max(length, static_cast<std::uint64_t>(real));
  if (low != high)
    if (const int e = mark_dirty(f.meta, low / page_size, pages_to_cover(high)))
      return e;
  if (length != static_cast<std::uint64_t>(real) || length != static_cast<std::uint64_t>(disk))
    return set_size_dirty(f.meta, true);
  return 0;
}

int begin_sync(const file_fds& f) noexcept {
  const auto real = sys::size(f.real);
  if (real < 0)
    return errno;
  const auto size = static_cast<std::uint64_t>(real);
  if (const int e = write_all(f.meta, reinterpret_cast<const char*>(&size), sizeof size,
                              offsetof(meta_header, sync_size)))
    return e;
  if (size_dirty(f.meta))
    if (const int e = set_size_mark(f.meta, mark::syncing))
      return e;
  if (sys::ftruncate(f.stage, 0) != 0)
    return errno;
  return change_marks(f.meta, 0, 0, [&](std::uint64_t page, mark& m) noexcept {
    if (m == mark::clean)
      return 0;
    m = mark::syncing;
    const auto from = page * page_size;
    return from < size ? copy_range(f.real, f.stage, from, std::min(page_size, size - from)) : 0;
  });
}

int end_sync(const file_fds& f, bool succeeded, std::uint64_t& pages) noexcept {
  pages = 0;
  std::uint64_t size = 0;
  if (sys::pread(f.meta, &size, sizeof size, offsetof(meta_header, sync_size)) != sizeof size)
    return EIO;
  const auto size_was = size_mark(f.meta);
  if (size_was == mark::syncing || size_was == mark::resynced) {
    if (succeeded && sys::ftruncate(f.shadow, static_cast<off_t>(size)) != 0)
      return errno;
    if (const int e = set_size_mark(f.meta, size_was == mark::resynced ? mark::dirty : mark::clean))
      return e;
  }
  const auto disk = sys::size(f.shadow);
  if (disk < 0)
    return errno;
  const auto limit = std::min(size, static_cast<std::uint64_t>(disk));
  return change_marks(f.meta, 0, 0, [&](std::uint64_t page, mark& m) noexcept {
    if (m != mark::syncing && m != mark::resynced)
      return 0;
    m = m == mark::resynced ? mark::dirty : mark::clean;
    ++pages;
    const auto from = page * page_size;
    return succeeded && from < limit ? copy_range(f.stage, f.shadow, from, std::min(page_size, limit - from)) : 0;
  });
}

int write_back_range(const file_fds& f, std::uint64_t offset, std::uint64_t length) noexcept {
  if (length == 0)
    return 0;
  const auto real = sys::size(f.real);
  const auto disk = sys::size(f.shadow);
  if (real < 0 || disk < 0)
    return errno;
  const auto end = offset + length;
  if (end > static_cast<std::uint64_t>(disk) && sys::ftruncate(f.shadow, static_cast<off_t>(end)) != 0)
    return errno;
  const auto first = offset / page_size;
  const auto last = pages_to_cover(end);
  const auto to = std::min({last * page_size, std::max<std::uint64_t>(end, disk), static_cast<std::uint64_t>(real)});
  if (const int e = copy_range(f.real, f.shadow, first * page_size, to - first * page_size))
    return e;
  char zeros[4096] = {};
  for (auto p = first; p < last;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(last - p, sizeof zeros));
    if (const int e = write_all(f.meta, zeros, n, meta_header_size + p))
      return e;
    p += n;
  }
  return sys::size(f.shadow) == real ? set_size_dirty(f.meta, false) : 0;
}

int lose_dirty(int meta_fd, std::uint64_t& pages) noexcept {
  pages = 0;
  const int e = for_dirty_runs(meta_fd, [&](std::uint64_t first, std::uint64_t end) noexcept {
    pages += end - first;
    return 0;
  });
  return e != 0 ? e : clear_marks(meta_fd);
}

int drop_clean(const file_fds& f, std::uint64_t first, std::uint64_t end, bool whole) noexcept {
  const auto real = sys::size(f.real);
  const auto disk = sys::size(f.shadow);
  if (real < 0 || disk < 0)
    return errno;
  const bool resize = whole && !size_dirty(f.meta);
  // Pages are written only below the size the real file keeps: a page past it would change the size.
  const auto limit = static_cast<std::uint64_t>(resize ? disk : real);
  const auto top = pages_to_cover(limit);
  if (end == 0 || end > top)
    end = top;
  // Clean runs are the gaps between dirty runs; the page after the last dirty run is a sentinel.
  auto restore_clean = [&](std::uint64_t from, std::uint64_t to) noexcept {
    from = std::max(from, first);
    to = std::min(to, end);
    if (from >= to)
      return 0;
    const auto bytes_end = std::min(to * page_size, limit);
    return copy_range_if_different(f.shadow, f.real, from * page_size, bytes_end - from * page_size);
  };
  std::uint64_t clean_from = 0;
  int e = for_dirty_runs(f.meta, [&](std::uint64_t dirty_first, std::uint64_t dirty_end) noexcept {
    const int r = restore_clean(clean_from, dirty_first);
    clean_from = dirty_end;
    return r;
  });
  if (e == 0)
    e = restore_clean(clean_from, end);
  if (e == 0 && resize && real != disk && sys::ftruncate(f.real, disk) != 0)
    e = errno;
  return e;
}

int restore(const file_fds& f) noexcept {
  if (const int e = copy_file(f.shadow, f.real))
    return e;
  return clear_marks(f.meta);
}

int copy_file(int from_fd, int to_fd) noexcept {
  const auto length = sys::size(from_fd);
  if (length < 0)
    return errno;
  if (const int e = copy_range(from_fd, to_fd, 0, static_cast<std::uint64_t>(length)))
    return e;
  return sys::ftruncate(to_fd, length) == 0 ? 0 : errno;
}

bool key_of(const char* relative, char* out, std::size_t capacity) noexcept {
  // A key is a file name in files/, with room for ".meta" and a ".tmp" suffix.
  constexpr std::size_t room = 255 - 10;
  std::size_t n = 0;
  for (const char* c = relative; *c != '\0'; ++c) {
    const char* piece = *c == '%' ? "%25" : *c == '/' ? "%2F" : nullptr;
    const std::size_t width = piece ? 3 : 1;
    if (n + width + 1 > capacity || n + width > room)
      return false;
    if (piece)
      std::memcpy(out + n, piece, 3);
    else
      out[n] = *c;
    n += width;
  }
  out[n] = '\0';
  return n > 0;
}

bool relative_of(const char* key, char* out, std::size_t capacity) noexcept {
  std::size_t n = 0;
  for (const char* c = key; *c != '\0'; ++c) {
    char value = *c;
    if (*c == '%') {
      if (std::strncmp(c, "%25", 3) == 0)
        value = '%';
      else if (std::strncmp(c, "%2F", 3) == 0)
        value = '/';
      else
        return false;
      c += 2;
    }
    if (n + 2 > capacity)
      return false;
    out[n++] = value;
  }
  out[n] = '\0';
  return n > 0;
}

} // namespace deliveryd::testing::faultfs
