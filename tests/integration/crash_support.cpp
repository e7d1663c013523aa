#include "crash_support.hpp"

#include <cstdlib>

#include <sys/socket.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <catch2/catch.hpp>

namespace it {

namespace {

/// An unsigned number from the environment, or `fallback`.
std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0')
    return fallback;
  char* end = nullptr;
  const auto value = std::strtoull(text, &end, 10);
  INFO(name << "=" << text);
  REQUIRE(*end == '\0');
  return value;
}

} // namespace

crash_settings crash_settings_from_env() {
  crash_settings s;
  s.kills = static_cast<int>(env_number("DELIVERYD_CRASH_KILLS", static_cast<std::uint64_t>(s.kills)));
  s.seed = env_number("DELIVERYD_CRASH_SEED", std::random_device{}());
  s.old_sends = env_number("DELIVERYD_CRASH_OLD_SENDS", s.old_sends);
  REQUIRE(s.kills >= 4);
  REQUIRE(s.old_sends >= 10000); // the purge goes 1,000 sends a transaction: a few steps are needed to cut one
  return s;
}

json excluded_items(const std::string& prefix, std::size_t count, seconds_point at, int days_spread) {
  json items = json::array();
  for (std::size_t i = 0; i < count; ++i) {
    const auto day = std::chrono::days{static_cast<int>(i % static_cast<std::size_t>(days_spread))};
    items.push_back(json{{"send_id", prefix + std::to_string(i)},
                         {"type", "campaign"},
                         {"source_id", "seed"},
                         {"source_name", "Seeded sends"},
                         {"medium", "sms"},
                         {"contact", "010-1234-5678"},
                         {"requested_at", seoul_rfc3339(at + day)},
                         {"excluded", 10006}});
  }
  return items;
}

std::int64_t sends_before(const fs::path& ledger, seconds_point before) {
  SQLite::Database db{ledger.string(), SQLite::OPEN_READONLY};
  SQLite::Statement q{db, "SELECT count(*) FROM sends WHERE requested_at < ?"};
  q.bind(1, static_cast<std::int64_t>(before.time_since_epoch().count()) * 1000);
  REQUIRE(q.executeStep());
  return q.getColumn(0).getInt64();
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator{dir})
    names.push_back(entry.path().filename().string());
  return names;
}

std::size_t open_files_in(pid_t pid, const fs::path& dir) {
  std::size_t count = 0;
  std::error_code ec;
  const auto prefix = dir.string() + "/";
  for (const auto& entry : fs::directory_iterator{"/proc/" + std::to_string(pid) + "/fd", ec}) {
    const auto target = fs::read_symlink(entry.path(), ec); // "<dir>/name", or "<dir>/#123 (deleted)"
    if (!ec && target.string().rfind(prefix, 0) == 0)
      ++count;
  }
  return count;
}

held_download::held_download(int port, std::string path, bool hold)
  : hold_{hold}, thread_{[this, port, path = std::move(path)] { run(port, path); }} {}

held_download::~held_download() {
  release();
  if (thread_.joinable())
    thread_.join();
}

void held_download::run(int port, const std::string& path) {
  // No Catch2 assertion on this thread.
  auto client = make_client(port);
  client->set_read_timeout(60, 0);
  if (hold_) // a small window: the daemon's writes block soon after the client stops reading
    client->set_socket_options([](socket_t sock) {
      const int size = 16 * 1024;
      ::setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    });
  download_result out;
  auto res = client->Get(
    path.c_str(),
    [&](const httplib::Response& head) {
      out.status = head.status;
      if (head.has_header("Content-Length"))
        out.content_length = std::stoull(head.get_header_value("Content-Length"));
      return true;
    },
    [&](const char* /*data*/, std::size_t length) {
      bytes_ += length;
      std::unique_lock lock{mutex_};
      if (!started_) {
        started_ = true;
        changed_.notify_all();
      }
      changed_.wait(lock, [&] { return released_ || !hold_; });
      return true;
    });
  out.complete = static_cast<bool>(res);
  out.bytes = bytes_.load();
  std::lock_guard lock{mutex_};
  result_ = out;
}

bool held_download::wait_for_bytes(std::chrono::milliseconds timeout) {
  std::unique_lock lock{mutex_};
  return changed_.wait_for(lock, timeout, [&] { return started_; });
}

void held_download::release() {
  std::lock_guard lock{mutex_};
  released_ = true;
  changed_.notify_all();
}

download_result held_download::finish() {
  release();
  thread_.join();
  std::lock_guard lock{mutex_};
  return result_;
}

} // namespace it
