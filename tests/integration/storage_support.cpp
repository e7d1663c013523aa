#include "storage_support.hpp"

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <catch2/catch.hpp>

namespace it::storage {

namespace {

using namespace std::chrono_literals;

/// Every file of a folder and its bytes.
std::map<std::string, std::string> contents_of(const fs::path& folder) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator{folder})
    out[entry.path().filename().string()] = read_file(entry.path());
  return out;
}

/// Names of a folder's files, for failure messages.
std::string names_of(const std::map<std::string, std::string>& files) {
  std::string out;
  for (const auto& [name, bytes] : files)
    out += name + " (" + std::to_string(bytes.size()) + " bytes) ";
  return out;
}

} // namespace

void require_private_mounts() {
  std::error_code own_error, parent_error;
  const auto own = fs::read_symlink("/proc/self/ns/mnt", own_error);
  const auto parent = fs::read_symlink("/proc/" + std::to_string(::getppid()) + "/ns/mnt", parent_error);
  INFO("these tests mount file systems: run them as root in a private mount namespace, "
       "`unshare -m --propagation private build/tests/integration_tests '[storage]'` (docs/operations.md)");
  REQUIRE_FALSE(own_error);
  REQUIRE_FALSE(parent_error);
  REQUIRE(own != parent);
}

mounted::~mounted() {
  if (!where_.empty())
    ::umount2(where_.c_str(), MNT_DETACH);
}

bool mounted::unmount() {
  const bool ok = ::umount2(where_.c_str(), 0) == 0;
  if (ok)
    where_.clear();
  return ok;
}

std::unique_ptr<mounted> mount_tmpfs(const fs::path& dir, const std::string& size) {
  fs::create_directories(dir);
  const std::string options = "size=" + size + ",mode=0755";
  const int rc = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str());
  INFO("mount -t tmpfs -o " << options << " " << dir.string() << ": " << std::strerror(errno));
  REQUIRE(rc == 0);
  return std::make_unique<mounted>(dir);
}

std::size_t fill_up(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const std::string chunk(64 * 1024, 'x');
  std::size_t written = 0;
  int error = 0;
  for (;;) {
    const auto n = ::write(fd, chunk.data(), chunk.size());
    if (n <= 0) {
      error = errno;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  INFO("filling " << file.string() << " stopped: " << std::strerror(error));
  REQUIRE(error == ENOSPC);
  return written;
}

unsigned long long free_bytes(const fs::path& path) {
  struct statvfs s {};
  REQUIRE(::statvfs(path.c_str(), &s) == 0);
  return static_cast<unsigned long long>(s.f_bavail) * s.f_frsize;
}

bool can_create_in(const fs::path& dir) {
  const auto probe = dir / "probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return false;
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

std::string source_of(const fs::path& mount_point) {
  std::istringstream lines{read_file("/proc/self/mountinfo")};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields{line};
    std::string id, parent, devno, root, point;
    fields >> id >> parent >> devno >> root >> point;
    if (point != mount_point.string())
      continue;
    const auto dash = line.find(" - ");
    std::istringstream tail{line.substr(dash + 3)};
    std::string type, source;
    tail >> type >> source;
    return source;
  }
  return {};
}

std::set<std::string> column_of(const fs::path& ledger, const std::string& sql) {
  SQLite::Database db{ledger.string(), SQLite::OPEN_READONLY};
  SQLite::Statement q{db, sql};
  std::set<std::string> out;
  while (q.executeStep())
    out.insert(q.getColumn(0).getString());
  return out;
}

std::string integrity_of(const fs::path& ledger) {
  SQLite::Database db{ledger.string(), SQLite::OPEN_READONLY};
  return db.execAndGet("PRAGMA integrity_check").getString();
}

std::set<std::string> sends_with_callback(const fs::path& ledger, const std::string& vendor_status) {
  return column_of(ledger, "SELECT s.send_id FROM events e JOIN sends s ON e.send = s.id WHERE e.source = 'webhook' "
                           "AND e.vendor_status = '" + vendor_status + "'");
}

std::string sid_of(const std::string& tag, int n) {
  const auto number = std::to_string(n);
  auto sid = "SM" + tag;
  sid.resize(34 - number.size(), '0'); // the number last, so that 1 and 10 stay apart
  return sid + number;
}

json sends_of(const std::string& prefix, int count, seconds_point at, bool with_sids) {
  json items = json::array();
  for (int i = 0; i < count; ++i)
    items.push_back(twilio_send(prefix + "-" + std::to_string(i), at,
                                with_sids ? std::optional<std::string>{sid_of(prefix, i)} : std::nullopt));
  return items;
}

void write_config_for(const fs::path& config, const fs::path& ledger) {
  write_file(config, "[storage]\npath = \"" + ledger.string() + "\"\n\n[webhooks]\nlisten = \"127.0.0.1:"
                       + std::to_string(free_port()) + "\"\npublic_url = \"http://127.0.0.1\"\n\n[ops]\nlisten = "
                       "\"127.0.0.1:" + std::to_string(free_port()) + "\"\n\n[twilio]\naccount_sid = "
                       "\"AC00000000000000000000000000000000\"\nauth_token = \"" + auth_token + "\"\n");
}

std::string refused_start(const fs::path& config, const fs::path& ledger, const fs::path& folder,
                          const std::vector<std::string>& launcher) {
  const auto before = contents_of(folder);
  auto argv = launcher;
  argv.insert(argv.end(), {DELIVERYD_BINARY, "--config", config.string()});
  auto run = run_program(argv, 30s);
  INFO("deliveryd said:\n" << run.output);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.output, Catch::Contains("ledger open_failed: " + ledger.string() + ": "));
  CHECK_THAT(run.output, !Catch::Contains("deliveryd ready"));
  const auto after = contents_of(folder);
  INFO("before: " << names_of(before) << "\nafter: " << names_of(after));
  CHECK(after == before);
  return run.output;
}

void make_ledger(const fs::path& ledger, int count) {
  daemon_options options;
  options.ledger_path = ledger;
  daemon_process d{options};
  auto ops = d.ops_client();
  const auto items = sends_of("kept", count, same_day_base(), true);
  auto answer = body_of(post_sends(*ops, items));
  REQUIRE(answer["accepted"] == count);
  REQUIRE(d.terminate() == 0);
  {
    // The last connection to close, when it may write, removes the WAL once it is copied back.
    SQLite::Database db{ledger.string(), SQLite::OPEN_READWRITE};
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  REQUIRE_FALSE(fs::exists(ledger.string() + "-wal"));
  REQUIRE_FALSE(fs::exists(ledger.string() + "-shm"));
}

} // namespace it::storage
