/// The listeners' elastic thread pool: a connection that blocks its thread never delays the next one (up to the
/// maximum), the maximum holds, idle threads end, and shutdown runs what is queued.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "daemon/task_pool.hpp"

using namespace std::chrono_literals;
using deliveryd::daemon::elastic_pool;
using deliveryd::daemon::pool_limits;

namespace {

/// A gate that jobs wait on until the test opens it.
class gate {
public:
  void wait() {
    std::unique_lock lock{mutex_};
    cond_.wait(lock, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock{mutex_};
      open_ = true;
    }
    cond_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable cond_;
  bool open_ = false;
};

/// Polls `done` every millisecond for up to `limit`; true as soon as it holds.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

} // namespace

TEST_CASE("elastic pool: blocked jobs do not delay the next ones, up to the maximum", "[daemon][pool]") {
  elastic_pool pool{{2, 64, 30s}};
  CHECK(pool.threads() == 2);
  gate stalled;
  std::atomic<int> started{0};
  for (int i = 0; i < 50; ++i)
    pool.enqueue([&] {
      ++started;
      stalled.wait();
    });
  // Fifty "slow clients", each holding a thread: all fifty run at once, none waits in the queue.
  REQUIRE(eventually([&] { return started == 50; }));
  CHECK(pool.threads() == 50);
  CHECK(pool.busy() == 50);
  CHECK(pool.queued() == 0);
  // One more job still runs promptly beside them.
  std::atomic<bool> quick{false};
  pool.enqueue([&] { quick = true; });
  CHECK(eventually([&] { return quick.load(); }, 1s));
  stalled.open();
  pool.shutdown();
}

TEST_CASE("elastic pool: never more threads than the maximum; the rest wait their turn", "[daemon][pool]") {
  elastic_pool pool{{1, 4, 30s}};
  gate stalled;
  std::atomic<int> started{0};
  for (int i = 0; i < 10; ++i)
    pool.enqueue([&] {
      ++started;
      stalled.wait();
    });
  REQUIRE(eventually([&] { return started == 4; }));
  std::this_thread::sleep_for(50ms);
  CHECK(started == 4);
  CHECK(pool.threads() == 4);
  CHECK(pool.queued() == 6);
  stalled.open();
  CHECK(eventually([&] { return started == 10; }));
  pool.shutdown();
}

TEST_CASE("elastic pool: threads above the minimum end when idle", "[daemon][pool]") {
  elastic_pool pool{{2, 32, 100ms}};
  gate stalled;
  std::atomic<int> started{0};
  for (int i = 0; i < 20; ++i)
    pool.enqueue([&] {
      ++started;
      stalled.wait();
    });
  REQUIRE(eventually([&] { return started == 20; }));
  CHECK(pool.threads() == 20);
  stalled.open();
  CHECK(eventually([&] { return pool.threads() == 2; }));
  // The pool still works after shrinking, and grows again.
  std::atomic<int> ran{0};
  for (int i = 0; i < 8; ++i)
    pool.enqueue([&] { ++ran; });
  CHECK(eventually([&] { return ran == 8; }));
  pool.shutdown();
}

TEST_CASE("elastic pool: shutdown runs every queued job before it returns", "[daemon][pool]") {
  elastic_pool pool{{1, 1, 30s}};
  gate stalled;
  std::atomic<int> ran{0};
  pool.enqueue([&] {
    stalled.wait();
    ++ran;
  });
  for (int i = 0; i < 5; ++i)
    pool.enqueue([&] { ++ran; });
  std::thread opener{[&] {
    std::this_thread::sleep_for(50ms);
    stalled.open();
  }};
  pool.shutdown();
  CHECK(ran == 6);
  opener.join();
}
