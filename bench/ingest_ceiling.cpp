#include "ingest_ceiling.hpp"

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include <httplib.h>

#include "daemon/http_common.hpp"
#include "daemon/http_server.hpp"

namespace deliveryd::bench::ingest {

namespace {

using deliveryd::daemon::http_server;

/// Blocks SIGTERM and SIGINT in this thread and every thread started after it, so that only sigwait takes them.
/// Called before any thread starts: a thread that had them unblocked would be killed by them.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

/// Gives `server` (made with the webhooks listener's connection limits and threads) the rest of that listener's
/// settings (daemon/app.cpp): time-outs, body limit, error bodies; and GET /healthz, which the bench polls.
void configure_like_webhooks(http_server& server) {
  deliveryd::daemon::configure_server(server, 1 << 20);
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
}

/// Serves `server` on 127.0.0.1:`port` until one of `signals` comes, then stops accepting and waits for the
/// requests in flight. Returns the exit code (1 when it cannot listen).
int serve_until_signal(http_server& server, const sigset_t& signals, int port, const char* what) {
  if (!deliveryd::daemon::bind_listener(server, "127.0.0.1", port)) {
    std::fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", what, port);
    return 1;
  }
  std::thread listener{[&] { server.listen_after_bind(); }};
  int sig = 0;
  sigwait(&signals, &sig);
  server.stop_accepting();
  listener.join();
  return 0;
}

} // namespace

bool append_line(int fd, std::string_view record, const char* who) {
  char newline = '\n';
  iovec parts[2] = {{const_cast<char*>(record.data()), record.size()}, {&newline, 1}};
  std::size_t left = record.size() + 1;
  int first = 0;
  while (left > 0) {
    const auto n = ::writev(fd, parts + first, 2 - first);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::fprintf(stderr, "%s: write failed: %s\n", who, n < 0 ? std::strerror(errno) : "wrote nothing");
      return false;
    }
    // A short write (a full disk, a signal) leaves the rest to write: skip what was written.
    auto written = static_cast<std::size_t>(n);
    left -= written;
    while (first < 2 && written >= parts[first].iov_len)
      written -= parts[first++].iov_len;
    if (first < 2) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + written;
      parts[first].iov_len -= written;
    }
  }
  return true;
}

namespace {

/// An append-only file whose appends are made durable in groups by one sync thread, as a ledger's group commit
/// makes its jobs durable: an append waits until an fdatasync that began after it has completed, and one
/// fdatasync covers every append made before it began.
class group_synced_file {
public:
  /// The appends' totals.
  struct counters {
    std::uint64_t appends = 0; ///< appends written
    std::uint64_t syncs = 0;   ///< fdatasync calls made
    std::uint64_t refused = 0; ///< appends not acknowledged: a write or an fdatasync failed
  };

  /// Opens `path` (created, or truncated) and starts the sync thread. Throws std::runtime_error when it cannot be
  /// opened.
  explicit group_synced_file(const std::string& path)
    : fd_{::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)} {
    if (fd_ < 0)
      throw std::runtime_error{"cannot open " + path + ": " + std::strerror(errno)};
    sync_thread_ = std::thread{[this] { sync_loop(); }};
  }

  group_synced_file(const group_synced_file&) = delete;
  group_synced_file& operator=(const group_synced_file&) = delete;

  /// Stops the sync thread once every append is covered (or the file has failed), then closes the file. No append
  /// may be under way.
  ~group_synced_file() {
    {
      const std::lock_guard lock{mutex_};
      stopping_ = true;
    }
    work_.notify_one();
    sync_thread_.join();
    ::close(fd_);
  }

  /// Appends `record` and a newline in one write, then waits until an fdatasync that began after it has
  /// completed. True when it is durable; false when the write or that fdatasync failed, or the file failed
  /// before: after a failed fdatasync the kernel may have dropped dirty pages, so no later append is trusted.
  bool append(std::string_view record) {
    std::unique_lock lock{mutex_};
    if (failed_ || !write_record(record)) {
      if (!failed_) {
        // What is in the file no longer reads as one record a line: the appends still waiting are not
        // acknowledged either, and the sync thread stops covering.
        failed_ = true;
        durable_.notify_all();
      }
      ++refused_;
      return false;
    }
    const auto sequence = ++appended_;
    if (sync_idle_)
      work_.notify_one(); // a busy sync thread looks for new appends when its fdatasync returns
    durable_.wait(lock, [&] { return synced_ >= sequence || failed_; });
    if (synced_ >= sequence)
      return true;
    ++refused_;
    return false;
  }

  counters read() const {
    const std::lock_guard lock{mutex_};
    return {appended_, syncs_, refused_};
  }

private:
  /// Writes `record` and a newline at the end of the file (under the mutex).
  bool write_record(std::string_view record) { return append_line(fd_, record, "durable ceiling"); }

  /// The sync thread: waits for appends not yet covered, notes the last one, fdatasyncs, publishes it as durable
  /// and wakes every waiting append. An fdatasync error fails the file for good.
  void sync_loop() {
    pthread_setname_np(pthread_self(), "sync"); // its CPU apart from the listener's in the bench's per-thread line
    std::unique_lock lock{mutex_};
    for (;;) {
      sync_idle_ = true;
      work_.wait(lock, [&] { return stopping_ || (!failed_ && appended_ > synced_); });
      sync_idle_ = false;
      if (failed_ || appended_ == synced_)
        return; // stopping, with nothing left to cover
      const auto covered = appended_;
      lock.unlock();
      const int rc = ::fdatasync(fd_);
      const int error = errno;
      lock.lock();
      ++syncs_;
      if (rc == 0) {
        synced_ = covered;
      } else {
        failed_ = true;
        std::fprintf(stderr, "durable ceiling: fdatasync failed: %s; answering 503 from now on\n",
                     std::strerror(error));
      }
      durable_.notify_all();
    }
  }

  const int fd_;
  mutable std::mutex mutex_;
  std::condition_variable work_;    ///< the sync thread waits here for appends to cover
  std::condition_variable durable_; ///< appends wait here for the fdatasync that covers them
  std::uint64_t appended_ = 0;      ///< sequence number of the last append written
  std::uint64_t synced_ = 0;        ///< every append up to this sequence number is durable
  std::uint64_t syncs_ = 0;
  std::uint64_t refused_ = 0;
  bool sync_idle_ = false;          ///< the sync thread waits on work_
  bool failed_ = false;             ///< a write or an fdatasync failed: nothing is acknowledged from then on
  bool stopping_ = false;
  std::thread sync_thread_;         ///< last: starts once the rest is set
};

} // namespace

int ceiling_server(int port) {
  const auto signals = block_stop_signals();
  // As deliveryd's webhooks listener (daemon/app.cpp).
  http_server server{{}, deliveryd::daemon::webhooks_threads};
  configure_like_webhooks(server);
  server.Post("/webhooks/twilio", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  return serve_until_signal(server, signals, port, "ceiling server");
}

int durable_ceiling_server(int port, const std::string& path) {
  const auto signals = block_stop_signals(); // before the sync thread starts
  std::optional<group_synced_file> file;
  try {
    file.emplace(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "durable ceiling server: %s\n", e.what());
    return 1;
  }
  {
    // Declared after the file: the server and its threads are gone before the file's sync thread stops.
    http_server server{{}, deliveryd::daemon::webhooks_threads};
    configure_like_webhooks(server);
    server.Post("/webhooks/twilio", [&file](const httplib::Request& req, httplib::Response& res) {
      if (file->append(req.body)) {
        res.set_content(R"({"status":"ok"})", "application/json");
      } else {
        res.status = 503;
        res.set_content(R"({"error":"not durable"})", "application/json");
      }
    });
    server.Get("/stats", [&file](const httplib::Request&, httplib::Response& res) {
      const auto c = file->read();
      res.set_content("{\"appends\":" + std::to_string(c.appends) + ",\"syncs\":" + std::to_string(c.syncs)
                        + ",\"refused\":" + std::to_string(c.refused) + "}",
                      "application/json");
    });
    if (const int rc = serve_until_signal(server, signals, port, "durable ceiling server"); rc != 0)
      return rc;
  }
  const auto c = file->read();
  std::fprintf(stderr, "durable ceiling: %llu appends, %llu fdatasync calls (%.1f appends per sync), %llu refused\n",
               static_cast<unsigned long long>(c.appends), static_cast<unsigned long long>(c.syncs),
               c.syncs > 0 ? static_cast<double>(c.appends) / static_cast<double>(c.syncs) : 0.0,
               static_cast<unsigned long long>(c.refused));
  return 0;
}

} // namespace deliveryd::bench::ingest
