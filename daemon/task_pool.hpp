#pragma once
/// The listeners' worker threads: a pool that grows with the connections it is given and shrinks when idle.
///
/// cpp-httplib serves each connection on one thread from accept to close, reading headers and body with blocking
/// reads. With the library's fixed pool, a few dozen clients that send half a request and then trickle (or just
/// keep-alive connections that stay quiet) occupy every thread, and everyone else's connection waits in the queue
/// unread. This pool starts a thread whenever a connection arrives and no thread is idle, up to a maximum, so that
/// slow clients cost a thread each but never delay the others; threads idle for a while end again.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace deliveryd::daemon {

/// How many threads a listener keeps and may start.
struct pool_limits {
  std::size_t min_threads = 8;   ///< started at once and kept while idle
  std::size_t max_threads = 256; ///< never more: beyond, connections wait in the queue for a free thread
  std::chrono::milliseconds idle{std::chrono::seconds{30}}; ///< a thread above min_threads idle this long ends
  const char* thread_name = "http"; ///< the workers' name in ps -T and /proc (15 bytes are kept)
};

/// An elastic httplib::TaskQueue (see the file comment). Thread-safe; shutdown() drains the queue and joins.
class elastic_pool final : public httplib::TaskQueue {
public:
  explicit elastic_pool(pool_limits limits);
  ~elastic_pool() override;
  elastic_pool(const elastic_pool&) = delete;
  elastic_pool& operator=(const elastic_pool&) = delete;

  /// Queues a connection's work; starts a thread when none is idle and the maximum allows.
  void enqueue(std::function<void()> fn) override;
  /// Runs what is queued, then stops and joins every thread (httplib calls it when the server stops).
  void shutdown() override;

  /// Threads alive now.
  std::size_t threads() const;
  /// Threads running a connection now.
  std::size_t busy() const;
  /// Connections waiting for a thread now.
  std::size_t queued() const;

private:
  using thread_list = std::list<std::thread>;

  /// Starts one more worker; the caller holds the mutex.
  void start_locked();
  /// A worker's loop; `self` is its own entry in threads_.
  void work(thread_list::iterator self);
  /// Joins the workers that ended on their own (called without the mutex).
  void join_finished();

  const pool_limits limits_;
  mutable std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_;
  thread_list threads_;               ///< live workers
  std::vector<std::thread> finished_; ///< workers that ended when idle, to be joined
  std::size_t idle_ = 0;              ///< workers waiting for a job
  bool shutdown_ = false;
};

} // namespace deliveryd::daemon
