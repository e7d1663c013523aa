#pragma once
/// What the storage-fault tests (storage_fault_test.cpp) share: mounts of their own (a tmpfs, an ext4 image), a
/// file system filled up, the ledger read directly, Twilio sends with SIDs, and a deliveryd that must refuse to
/// start.

#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"

namespace it::storage {

// ---- mounts and file systems --------------------------------------------------------------------------------

/// Fails the test unless this process has a mount namespace of its own, apart from the one it was started from
/// (unshare makes one and then runs the tests in it): mounts made here must not reach the host, and must vanish
/// with the process should the test die. The message says how to run the tests.
void require_private_mounts();

/// A mount made by a test; detached (lazily, so never blocked by a straggler) when it goes.
class mounted {
public:
  /// Takes charge of what is mounted on `where`.
  explicit mounted(fs::path where) : where_{std::move(where)} {}
  ~mounted();
  mounted(const mounted&) = delete;
  mounted& operator=(const mounted&) = delete;

  /// Unmounts now (nothing may have a file open there); false when the kernel refuses.
  bool unmount();

private:
  fs::path where_;
};

/// Mounts a tmpfs of `size` ("32m") on `dir`, created first.
std::unique_ptr<mounted> mount_tmpfs(const fs::path& dir, const std::string& size);

/// Fills the file system of `file` with it, 64 KiB at a time, until the kernel says it is full (ENOSPC, else
/// the test fails); returns the bytes written.
std::size_t fill_up(const fs::path& file);

/// Free bytes of the file system of `path`, as an unprivileged user sees them.
unsigned long long free_bytes(const fs::path& path);

/// Whether a new file can be created in `dir` (it is removed again).
bool can_create_in(const fs::path& dir);

/// The device a mount point is mounted from, from /proc/self/mountinfo ("/dev/loop3"); "" when not mounted.
std::string source_of(const fs::path& mount_point);

// ---- the ledger, read directly ------------------------------------------------------------------------------

/// The values of a one-column query on the ledger, through a read-only connection of the test's own.
std::set<std::string> column_of(const fs::path& ledger, const std::string& sql);

/// PRAGMA integrity_check of the ledger: "ok" when it is sound.
std::string integrity_of(const fs::path& ledger);

/// The send_ids of the sends that have a webhook event with this vendor status.
std::set<std::string> sends_with_callback(const fs::path& ledger, const std::string& vendor_status);

// ---- sends --------------------------------------------------------------------------------------------------

/// A Twilio message SID made of a tag and a number: "SM" and 32 characters, distinct for distinct numbers.
std::string sid_of(const std::string& tag, int n);

/// `count` Twilio sends "<prefix>-<i>" requested at `at`, each with the SID sid_of(prefix, i) when `with_sids`.
json sends_of(const std::string& prefix, int count, seconds_point at, bool with_sids);

// ---- a deliveryd that must refuse to start ------------------------------------------------------------------

/// Writes a configuration for `ledger` with free loopback ports to `config`.
void write_config_for(const fs::path& config, const fs::path& ledger);

/// Starts deliveryd (through `launcher`, e.g. setpriv, when not empty) on `config`, whose ledger is in `folder`,
/// and checks that it exits 1 with an `open_failed` line naming `ledger`, and leaves every file of the folder as
/// it was: no new database over it, no -wal or -shm left. Returns what it printed.
std::string refused_start(const fs::path& config, const fs::path& ledger, const fs::path& folder,
                          const std::vector<std::string>& launcher = {});

/// A ledger with `count` sends, written by deliveryd, at `ledger`: one file, its WAL copied back and removed.
void make_ledger(const fs::path& ledger, int count);

} // namespace it::storage
