#include "faultfs_layer.hpp"

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace deliveryd::testing::faultfs::layer {

namespace {

/// One tracked file (an inode) open in this process.
struct tracked_file {
  int refs = 0;            ///< this process's descriptors of it; 0: the slot is free
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  file_fds fds;            ///< the layer's own read-write descriptor of the real file, the shadow, the meta and
                           ///< stage files
  char relative[PATH_MAX]; ///< its name under the root; empty once that name is gone (unlink, rename over it)
  pthread_mutex_t sync_mutex = PTHREAD_MUTEX_INITIALIZER; ///< file_sync_lock's, in this process
};

constexpr std::size_t max_files = 256;
constexpr std::size_t max_fds = std::size_t{1} << 20;
constexpr std::uint32_t directory_mark = 0x80000000u;

struct layer_state {
  bool enabled = false;
  char root[PATH_MAX] = {};
  std::size_t root_length = 0;
  int files_dir = -1; ///< $STATE/files
  int lock_fd = -1;   ///< $STATE/lock
  control_block* control = nullptr;
  std::atomic<std::uint32_t>* slots = nullptr; ///< per descriptor: file index + 1, or directory_mark, or 0
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
  tracked_file files[max_files];
  libc_functions libc{};
};

layer_state& state() noexcept {
  static layer_state s;
  return s;
}

pthread_once_t once = PTHREAD_ONCE_INIT;

template <class F> void resolve_symbol(F& target, const char* name) noexcept {
  target = reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

void load_libc(libc_functions& f) noexcept {
  resolve_symbol(f.openat, "openat");
  resolve_symbol(f.close, "close");
  resolve_symbol(f.write, "write");
  resolve_symbol(f.pwrite, "pwrite64");
  resolve_symbol(f.writev, "writev");
  resolve_symbol(f.pwritev, "pwritev64");
  resolve_symbol(f.ftruncate, "ftruncate64");
  resolve_symbol(f.truncate, "truncate64");
  resolve_symbol(f.fsync, "fsync");
  resolve_symbol(f.fdatasync, "fdatasync");
  resolve_symbol(f.posix_fadvise, "posix_fadvise64");
  resolve_symbol(f.unlink, "unlink");
  resolve_symbol(f.unlinkat, "unlinkat");
  resolve_symbol(f.remove, "remove");
  resolve_symbol(f.rename, "rename");
  resolve_symbol(f.renameat, "renameat");
  resolve_symbol(f.renameat2, "renameat2");
  resolve_symbol(f.dup, "dup");
  resolve_symbol(f.dup2, "dup2");
  resolve_symbol(f.dup3, "dup3");
  resolve_symbol(f.fcntl, "fcntl64");
}

/// Opens (creating) $STATE's files and maps the control block; aborts when the state cannot be used, since a
/// layer that tracks nothing would let every test pass.
void open_state(layer_state& s, const char* root, const char* dir) noexcept {
  if (::realpath(root, s.root) == nullptr)
    fatal("cannot resolve DELIVERYD_FAULTFS_ROOT", errno);
  s.root_length = std::strlen(s.root);
  char state_dir[PATH_MAX];
  if (::realpath(dir, state_dir) == nullptr)
    fatal("cannot resolve DELIVERYD_FAULTFS_STATE", errno);
  if (std::strncmp(state_dir, s.root, s.root_length) == 0 &&
      (state_dir[s.root_length] == '/' || state_dir[s.root_length] == '\0'))
    fatal("DELIVERYD_FAULTFS_STATE must lie outside DELIVERYD_FAULTFS_ROOT", EINVAL);
  const int state_fd = sys::open_at(AT_FDCWD, state_dir, O_RDONLY | O_DIRECTORY);
  if (state_fd < 0)
    fatal("cannot open DELIVERYD_FAULTFS_STATE", errno);
  if (::mkdirat(state_fd, "files", 0700) != 0 && errno != EEXIST)
    fatal("cannot create $DELIVERYD_FAULTFS_STATE/files", errno);
  s.files_dir = sys::open_at(state_fd, "files", O_RDONLY | O_DIRECTORY);
  s.lock_fd = sys::open_at(state_fd, "lock", O_RDWR | O_CREAT, 0600);
  const int control_fd = sys::open_at(state_fd, "control", O_RDWR | O_CREAT, 0600);
  if (s.files_dir < 0 || s.lock_fd < 0 || control_fd < 0)
    fatal("cannot open the files of DELIVERYD_FAULTFS_STATE", errno);
  sys::flock(s.lock_fd, LOCK_EX);
  if (sys::size(control_fd) < static_cast<off_t>(sizeof(control_block)))
    sys::ftruncate(control_fd, sizeof(control_block));
  sys::flock(s.lock_fd, LOCK_UN);
  void* block = ::mmap(nullptr, sizeof(control_block), PROT_READ | PROT_WRITE, MAP_SHARED, control_fd, 0);
  if (block == MAP_FAILED)
    fatal("cannot map $DELIVERYD_FAULTFS_STATE/control", errno);
  s.control = static_cast<control_block*>(block);
  sys::close(control_fd);
  sys::close(state_fd);
  // Anonymous pages come zeroed and are committed only where a descriptor number is used.
  void* slots = ::mmap(nullptr, max_fds * sizeof(std::uint32_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (slots == MAP_FAILED)
    fatal("cannot map the descriptor table", errno);
  s.slots = static_cast<std::atomic<std::uint32_t>*>(slots);
  s.enabled = true;
}

void initialise() noexcept {
  auto& s = state();
  load_libc(s.libc);
  const char* root = std::getenv(root_variable);
  const char* dir = std::getenv(state_variable);
  if (root != nullptr && dir != nullptr && *root != '\0' && *dir != '\0')
    open_state(s, root, dir);
}

/// Gives descriptor `fd` an open file description of its own on the same file, so that flock on it in this
/// process no longer shares the lock of the process it was inherited from (flock belongs to the description).
void reopen_in_place(int fd) noexcept {
  if (fd < 0)
    return;
  char self[64];
  std::snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  const int fresh = sys::open_at(AT_FDCWD, self, O_RDWR);
  if (fresh < 0)
    fatal("cannot reopen a state file after fork", errno);
  if (::syscall(SYS_dup3, fresh, fd, O_CLOEXEC) < 0)
    fatal("cannot put a reopened state file in place after fork", errno);
  sys::close(fresh);
}

// fork (PostgreSQL's postmaster forks every backend, without exec): no other thread may be inside the
// bookkeeping when the table is copied, so the parent holds its mutex across the fork. The child inherits the
// descriptor table and the tracked files, which is right (its descriptors are the parent's), but also the parent's
// open file descriptions of the lock file and the meta files, and flock locks belong to a description: a child
// that took "the" state lock through them would share it with its parent rather than wait for it. So the child
// reopens them, and starts with mutexes of its own (only the forking thread lives on, and it held none but the
// state mutex).
void before_fork() noexcept {
  if (state().enabled)
    pthread_mutex_lock(&state().mutex);
}

void after_fork_in_parent() noexcept {
  if (state().enabled)
    pthread_mutex_unlock(&state().mutex);
}

void after_fork_in_child() noexcept {
  auto& s = state();
  if (!s.enabled)
    return;
  pthread_mutex_init(&s.mutex, nullptr);
  reopen_in_place(s.lock_fd);
  for (auto& t : s.files) {
    pthread_mutex_init(&t.sync_mutex, nullptr);
    if (t.refs > 0)
      reopen_in_place(t.fds.meta);
  }
}

void initialise_with_fork() noexcept {
  initialise();
  if (pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child) != 0)
    fatal("cannot register the fork handlers", ENOMEM);
}

void ensure_initialised() noexcept { pthread_once(&once, initialise_with_fork); }

/// Starts the layer with the process, before its main runs threads.
[[gnu::constructor]] void start_with_the_process() { ensure_initialised(); }

void set_slot(int fd, std::uint32_t value) noexcept {
  if (fd >= 0 && static_cast<std::size_t>(fd) < max_fds)
    state().slots[fd].store(value, std::memory_order_release);
}

/// Builds the name of a state file of `key` in `out`.
void state_name(const char* key, const char* suffix, char (&out)[PATH_MAX]) noexcept {
  std::snprintf(out, sizeof out, "%s%s", key, suffix);
}

/// Creates the shadow of a file seen for the first time: a copy of its content, put in place by a rename so that
/// a kill in the middle leaves no half shadow.
int create_shadow(const char* key, int real_fd) noexcept {
  auto& s = state();
  char temporary[PATH_MAX];
  char shadow[PATH_MAX];
  state_name(key, ".disk.tmp", temporary);
  state_name(key, ".disk", shadow);
  const int fd = sys::open_at(s.files_dir, temporary, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return errno;
  int e = copy_file(real_fd, fd);
  sys::close(fd);
  if (e == 0 && sys::rename_at(s.files_dir, temporary, s.files_dir, shadow) != 0)
    e = errno;
  return e;
}

/// Opens (making them when needed) a tracked file's shadow and meta file into `f`.
int open_state_files(const char* key, const struct stat& st, file_fds& f) noexcept {
  auto& s = state();
  char meta[PATH_MAX];
  char shadow[PATH_MAX];
  char stage[PATH_MAX];
  state_name(key, ".meta", meta);
  state_name(key, ".disk", shadow);
  state_name(key, ".stage", stage);
  f.meta = sys::open_at(s.files_dir, meta, O_RDWR | O_CREAT, 0600);
  f.stage = sys::open_at(s.files_dir, stage, O_RDWR | O_CREAT, 0600);
  if (f.meta < 0 || f.stage < 0)
    return errno;
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  if (!meta_identity(f.meta, dev, ino) || dev != st.st_dev || ino != st.st_ino) {
    // First sight of this file (or another inode under the same name): what it holds now is on the disk. The old
    // shadow goes first, so that a kill before the new one exists leaves no stale shadow behind a valid header.
    sys::unlink_at(s.files_dir, shadow);
    if (const int e = reset_meta(f.meta, st.st_dev, st.st_ino))
      return e;
  }
  f.shadow = sys::open_at(s.files_dir, shadow, O_RDWR);
  if (f.shadow < 0 && errno == ENOENT) {
    if (const int e = create_shadow(key, f.real))
      return e;
    f.shadow = sys::open_at(s.files_dir, shadow, O_RDWR);
  }
  return f.shadow < 0 ? errno : 0;
}

void close_fds(file_fds& f) noexcept {
  for (int* fd : {&f.real, &f.shadow, &f.meta, &f.stage})
    if (*fd >= 0) {
      sys::close(*fd);
      *fd = -1;
    }
}

bool ends_with(const char* text, const char* suffix) noexcept {
  const auto n = std::strlen(text);
  const auto m = ::strnlen(suffix, sizeof(arm_slot::suffix));
  return m <= n && std::memcmp(text + n - m, suffix, m) == 0;
}

} // namespace

const libc_functions& libc() noexcept {
  ensure_initialised();
  return state().libc;
}

bool enabled() noexcept {
  ensure_initialised();
  return state().enabled;
}

state_lock::state_lock() noexcept {
  pthread_mutex_lock(&state().mutex);
  if (sys::flock(state().lock_fd, LOCK_EX) != 0)
    fatal("cannot take the state lock", errno);
}

state_lock::~state_lock() {
  sys::flock(state().lock_fd, LOCK_UN);
  pthread_mutex_unlock(&state().mutex);
}

void resolve(int dirfd, const char* path, resolved& out) noexcept {
  out.where = place::outside;
  out.relative = nullptr;
  const auto& s = state();
  if (path == nullptr || *path == '\0')
    return;
  const char* slash = std::strrchr(path, '/');
  const char* name = slash ? slash + 1 : path;
  char folder[PATH_MAX];
  if (slash == path)
    std::snprintf(folder, sizeof folder, "/");
  else if (slash != nullptr)
    std::snprintf(folder, sizeof folder, "%.*s", static_cast<int>(slash - path), path);
  else
    std::snprintf(folder, sizeof folder, ".");
  if (folder[0] != '/' && dirfd != AT_FDCWD) {
    char link[64];
    char base[PATH_MAX];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    const auto n = ::readlink(link, base, sizeof base - 1);
    if (n <= 0)
      return;
    base[n] = '\0';
    char joined[PATH_MAX];
    if (std::snprintf(joined, sizeof joined, "%s/%s", base, folder) >= static_cast<int>(sizeof joined))
      return;
    std::memcpy(folder, joined, sizeof folder);
  }
  char real_folder[PATH_MAX];
  if (::realpath(folder, real_folder) == nullptr)
    return;
  const bool no_file_name = *name == '\0' || std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0;
  if (std::snprintf(out.full, sizeof out.full, "%s/%s", std::strcmp(real_folder, "/") == 0 ? "" : real_folder,
                    no_file_name ? "" : name) >= static_cast<int>(sizeof out.full))
    return;
  if (std::strncmp(out.full, s.root, s.root_length) != 0)
    return;
  const char after = out.full[s.root_length];
  if (no_file_name)
    out.where = after == '/' || after == '\0' ? place::tree : place::outside;
  else if (after == '/' && out.full[s.root_length + 1] != '\0') {
    out.where = place::file;
    out.relative = out.full + s.root_length + 1;
  } else if (after == '\0')
    out.where = place::tree;
}

file_sync_lock::file_sync_lock(int file) noexcept : file_{file} {
  auto& t = state().files[file_];
  pthread_mutex_lock(&t.sync_mutex);
  if (sys::flock(t.fds.meta, LOCK_EX) != 0)
    fatal("cannot take a file's sync lock", errno);
}

file_sync_lock::~file_sync_lock() {
  auto& t = state().files[file_];
  sys::flock(t.fds.meta, LOCK_UN);
  pthread_mutex_unlock(&t.sync_mutex);
}

descriptor lookup(int fd) noexcept {
  const auto& s = state();
  if (!s.enabled || fd < 0 || static_cast<std::size_t>(fd) >= max_fds)
    return {};
  const auto v = s.slots[fd].load(std::memory_order_acquire);
  if (v == 0)
    return {};
  if (v == directory_mark)
    return {-1, true};
  return {static_cast<int>(v - 1), false};
}

bool attach(int fd, const resolved& file, const struct stat& st) noexcept {
  auto& s = state();
  char key[256];
  if (static_cast<std::size_t>(fd) >= max_fds || !key_of(file.relative, key, sizeof key)) {
    count(counter::untracked_opens);
    return false;
  }
  count(counter::open_calls);
  for (std::size_t i = 0; i < max_files; ++i) {
    auto& t = s.files[i];
    if (t.refs > 0 && t.dev == st.st_dev && t.ino == st.st_ino) {
      ++t.refs;
      set_slot(fd, static_cast<std::uint32_t>(i + 1));
      return true;
    }
  }
  for (std::size_t i = 0; i < max_files; ++i) {
    auto& t = s.files[i];
    if (t.refs != 0)
      continue;
    // Through /proc: the very inode the process opened, whatever happened to its name meanwhile. Read-only when
    // the file's mode allows no more (the process then cannot write it either).
    char self[64];
    std::snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    t.fds.real = sys::open_at(AT_FDCWD, self, O_RDWR);
    if (t.fds.real < 0)
      t.fds.real = sys::open_at(AT_FDCWD, self, O_RDONLY);
    if (t.fds.real < 0)
      fatal("cannot open a tracked file again", errno);
    if (const int e = open_state_files(key, st, t.fds))
      fatal("cannot make a tracked file's state", e);
    t.refs = 1;
    t.dev = st.st_dev;
    t.ino = st.st_ino;
    std::snprintf(t.relative, sizeof t.relative, "%s", file.relative);
    set_slot(fd, static_cast<std::uint32_t>(i + 1));
    return true;
  }
  count(counter::untracked_opens);
  return false;
}

void attach_directory(int fd) noexcept { set_slot(fd, directory_mark); }

void attach_copy(int fd, int copy) noexcept {
  const auto d = lookup(fd);
  if (d.directory)
    set_slot(copy, directory_mark);
  else if (d.file >= 0) {
    ++state().files[d.file].refs;
    set_slot(copy, static_cast<std::uint32_t>(d.file + 1));
  }
}

void detach(int fd) noexcept {
  const auto d = lookup(fd);
  set_slot(fd, 0);
  if (d.file < 0)
    return;
  count(counter::close_calls);
  auto& t = state().files[d.file];
  if (--t.refs == 0)
    close_fds(t.fds);
}

file_fds fds_of(int file) noexcept { return state().files[file].fds; }

const char* relative_of_file(int file) noexcept { return state().files[file].relative; }

void forget_name(const char* relative) noexcept {
  auto& s = state();
  char key[256];
  if (!key_of(relative, key, sizeof key))
    return;
  char name[PATH_MAX];
  for (const char* suffix : {".disk", ".meta", ".stage"}) {
    state_name(key, suffix, name);
    sys::unlink_at(s.files_dir, name);
  }
  for (auto& t : s.files)
    if (t.refs > 0 && std::strcmp(t.relative, relative) == 0)
      t.relative[0] = '\0';
}

void move_name(const char* from, const char* to) noexcept {
  auto& s = state();
  char from_key[256];
  char to_key[256];
  if (!key_of(from, from_key, sizeof from_key) || !key_of(to, to_key, sizeof to_key))
    return;
  for (const char* suffix : {".disk", ".meta", ".stage"}) {
    char a[PATH_MAX];
    char b[PATH_MAX];
    state_name(from_key, suffix, a);
    state_name(to_key, suffix, b);
    sys::rename_at(s.files_dir, a, s.files_dir, b);
  }
  for (auto& t : s.files)
    if (t.refs > 0 && std::strcmp(t.relative, from) == 0)
      std::snprintf(t.relative, sizeof t.relative, "%s", to);
}

bool should_fail(op o, int file, int& error) noexcept {
  auto& arm = state().control->arms[static_cast<std::size_t>(o)];
  if (arm.remaining == 0 || (arm.suffix[0] != '\0' && !ends_with(relative_of_file(file), arm.suffix)))
    return false;
  if (arm.remaining > 0)
    --arm.remaining;
  error = arm.error;
  static constexpr counter faults[op_count] = {counter::write_faults, counter::fsync_faults,
                                               counter::fdatasync_faults};
  count(faults[static_cast<std::size_t>(o)]);
  return true;
}

unsigned sync_delay_ms() noexcept { return state().control->sync_delay_ms; }

void count(counter c, std::uint64_t n) noexcept { state().control->counters[static_cast<std::size_t>(c)] += n; }

void fatal(const char* what, int error) noexcept {
  char line[512];
  const int n = std::snprintf(line, sizeof line, "deliveryd_faultfs: %s: %s\n", what, std::strerror(error));
  if (n > 0)
    [[maybe_unused]] auto ignored = ::syscall(SYS_write, 2, line, static_cast<std::size_t>(n));
  std::abort();
}

} // namespace deliveryd::testing::faultfs::layer
