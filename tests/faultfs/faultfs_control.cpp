#include "faultfs_control.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultfs_state.hpp"

namespace fs = std::filesystem;

namespace deliveryd::testing::faultfs {

namespace {

[[noreturn]] void fail(int error, const std::string& what) {
  throw std::system_error{error, std::generic_category(), "faultfs: " + what};
}

/// A descriptor closed with its scope.
class fd_guard {
public:
  explicit fd_guard(int fd) noexcept : fd_{fd} {}
  ~fd_guard() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const noexcept { return fd_; }

private:
  int fd_;
};

int open_or_fail(const fs::path& path, int flags, mode_t mode = 0600) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0)
    fail(errno, "cannot open " + path.string());
  return fd;
}

/// The key of a path under the root.
std::string key_for(const std::string& relative) {
  char key[256];
  if (!key_of(relative.c_str(), key, sizeof key))
    fail(ENAMETOOLONG, "no key for " + relative);
  return key;
}

/// The keys of the files with a shadow.
std::vector<std::string> keys_in(const fs::path& files) {
  std::vector<std::string> keys;
  for (const auto& entry : fs::directory_iterator{files}) {
    const auto name = entry.path().filename().string();
    if (name.size() > 5 && name.ends_with(".disk"))
      keys.push_back(name.substr(0, name.size() - 5));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string relative_for(const std::string& key) {
  char relative[PATH_MAX];
  if (!relative_of(key.c_str(), relative, sizeof relative))
    fail(EINVAL, "not a key: " + key);
  return relative;
}

} // namespace

class control::held_lock {
public:
  explicit held_lock(int fd) : fd_{fd} {
    if (sys::flock(fd_, LOCK_EX) != 0)
      fail(errno, "cannot take the state lock");
  }
  ~held_lock() { sys::flock(fd_, LOCK_UN); }
  held_lock(const held_lock&) = delete;
  held_lock& operator=(const held_lock&) = delete;

private:
  int fd_;
};

control::control(fs::path root, fs::path state, fs::path library)
  : root_{std::move(root)}, state_{std::move(state)}, library_{std::move(library)} {
  fs::create_directories(root_);
  fs::create_directories(state_ / "files");
  root_ = fs::canonical(root_);
  state_ = fs::canonical(state_);
  const auto [past_root, _] = std::mismatch(root_.begin(), root_.end(), state_.begin(), state_.end());
  if (past_root == root_.end())
    fail(EINVAL, "the state folder " + state_.string() + " lies under the root " + root_.string());
  lock_fd_ = open_or_fail(state_ / "lock", O_RDWR | O_CREAT);
  fd_guard block{open_or_fail(state_ / "control", O_RDWR | O_CREAT)};
  {
    held_lock lock{lock_fd_};
    if (sys::size(block.get()) < static_cast<off_t>(sizeof(control_block)) &&
        ::ftruncate(block.get(), sizeof(control_block)) != 0)
      fail(errno, "cannot size the control block");
  }
  void* mapped = ::mmap(nullptr, sizeof(control_block), PROT_READ | PROT_WRITE, MAP_SHARED, block.get(), 0);
  if (mapped == MAP_FAILED)
    fail(errno, "cannot map the control block");
  block_ = static_cast<control_block*>(mapped);
}

control::~control() {
  if (block_ != nullptr)
    ::munmap(block_, sizeof(control_block));
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
}

std::vector<std::string> control::environment(const std::string& preload_after) const {
  return {"LD_PRELOAD=" + library_.string() + (preload_after.empty() ? "" : ":" + preload_after),
          std::string{root_variable} + "=" + root_.string(), std::string{state_variable} + "=" + state_.string()};
}

void control::arm(op o, int error, std::int64_t count, const std::string& suffix) {
  arm_slot slot{};
  if (suffix.size() >= sizeof slot.suffix)
    fail(ENAMETOOLONG, "suffix too long: " + suffix);
  slot.error = error;
  slot.remaining = count;
  std::memcpy(slot.suffix, suffix.data(), suffix.size());
  held_lock lock{lock_fd_};
  block_->arms[static_cast<std::size_t>(o)] = slot;
}

void control::disarm() {
  held_lock lock{lock_fd_};
  for (auto& slot : block_->arms)
    slot = arm_slot{};
}

void control::delay_syncs(unsigned ms) {
  held_lock lock{lock_fd_};
  block_->sync_delay_ms = ms;
}

counter_values control::counters() const {
  held_lock lock{lock_fd_};
  counter_values c;
  std::copy_n(block_->counters, counter_count, c.values);
  return c;
}

void control::reset_counters() {
  held_lock lock{lock_fd_};
  std::fill(std::begin(block_->counters), std::end(block_->counters), 0);
}

void control::power_cut() {
  held_lock lock{lock_fd_};
  const auto files = state_ / "files";
  for (const auto& entry : fs::directory_iterator{files})
    if (entry.path().extension() == ".tmp" || entry.path().extension() == ".stage")
      fs::remove(entry.path()); // a shadow that a kill left half made, the snapshot of a sync a kill cut
  for (const auto& key : keys_in(files)) {
    const auto real_path = root_ / relative_for(key);
    fs::create_directories(real_path.parent_path());
    file_fds f;
    fd_guard real{open_or_fail(real_path, O_RDWR | O_CREAT | O_NOFOLLOW)};
    fd_guard shadow{open_or_fail(files / (key + ".disk"), O_RDONLY)};
    fd_guard meta{open_or_fail(files / (key + ".meta"), O_RDWR | O_CREAT)};
    f.real = real.get();
    f.shadow = shadow.get();
    f.meta = meta.get();
    if (const int e = restore(f))
      fail(e, "cannot cut the power of " + real_path.string());
    struct stat st {};
    if (::fstat(real.get(), &st) != 0)
      fail(errno, "cannot stat " + real_path.string());
    // The file may be another inode now (it was gone): its state belongs to it.
    if (const int e = reset_meta(meta.get(), st.st_dev, st.st_ino))
      fail(e, "cannot reset the state of " + real_path.string());
  }
}

void control::drop_caches() {
  held_lock lock{lock_fd_};
  const auto files = state_ / "files";
  for (const auto& key : keys_in(files)) {
    const auto real_path = root_ / relative_for(key);
    const int fd = ::open(real_path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
      continue;
    fd_guard real{fd};
    if (fd < 0)
      fail(errno, "cannot open " + real_path.string());
    fd_guard shadow{open_or_fail(files / (key + ".disk"), O_RDONLY)};
    fd_guard meta{open_or_fail(files / (key + ".meta"), O_RDWR)};
    if (const int e = drop_clean({real.get(), shadow.get(), meta.get()}, 0, 0, true))
      fail(e, "cannot drop the clean pages of " + real_path.string());
  }
}

std::vector<std::string> control::tracked_files() const {
  held_lock lock{lock_fd_};
  std::vector<std::string> names;
  for (const auto& key : keys_in(state_ / "files"))
    names.push_back(relative_for(key));
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::uint64_t> control::dirty_pages(const std::string& relative) const {
  held_lock lock{lock_fd_};
  fd_guard meta{open_or_fail(state_ / "files" / (key_for(relative) + ".meta"), O_RDONLY)};
  std::vector<std::uint64_t> pages;
  char marks[4096];
  for (std::uint64_t base = 0;; base += sizeof marks) {
    const auto n = ::pread(meta.get(), marks, sizeof marks, static_cast<off_t>(meta_header_size + base));
    if (n < 0)
      fail(errno, "cannot read the dirty pages of " + relative);
    for (ssize_t i = 0; i < n; ++i)
      if (marks[i] != 0)
        pages.push_back(base + static_cast<std::uint64_t>(i));
    if (n < static_cast<ssize_t>(sizeof marks))
      return pages;
  }
}

bool control::size_dirty(const std::string& relative) const {
  held_lock lock{lock_fd_};
  fd_guard meta{open_or_fail(state_ / "files" / (key_for(relative) + ".meta"), O_RDONLY)};
  return faultfs::size_dirty(meta.get());
}

std::string control::disk_content(const std::string& relative) const {
  held_lock lock{lock_fd_};
  fd_guard shadow{open_or_fail(state_ / "files" / (key_for(relative) + ".disk"), O_RDONLY)};
  std::string bytes(static_cast<std::size_t>(sys::size(shadow.get())), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const auto n = ::pread(shadow.get(), bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n <= 0)
      fail(n < 0 ? errno : EIO, "cannot read the disk of " + relative);
    got += static_cast<std::size_t>(n);
  }
  return bytes;
}

} // namespace deliveryd::testing::faultfs
