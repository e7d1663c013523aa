#include "daemon/task_pool.hpp"

#include <algorithm>
#include <system_error>

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"

namespace deliveryd::daemon {

namespace {

/// At least one thread, and a maximum no lower than the minimum.
pool_limits sane(pool_limits limits) {
  limits.min_threads = std::max<std::size_t>(1, limits.min_threads);
  limits.max_threads = std::max(limits.min_threads, limits.max_threads);
  return limits;
}

} // namespace

elastic_pool::elastic_pool(pool_limits limits) : limits_{sane(limits)} {
  std::lock_guard lock{mutex_};
  for (std::size_t i = 0; i < limits_.min_threads; ++i)
    start_locked();
}

elastic_pool::~elastic_pool() {
  bool stopped = false;
  {
    std::lock_guard lock{mutex_};
    stopped = shutdown_;
  }
  if (!stopped)
    shutdown();
}

void elastic_pool::start_locked() {
  auto self = threads_.emplace(threads_.end());
  ++idle_; // counted as idle from now on, so that the next enqueue does not start another one for the same job
  try {
    // The new thread first takes the mutex, which the caller holds: it sees its entry assigned.
    *self = std::thread{[this, self] { work(self); }};
  } catch (const std::system_error& e) {
    threads_.erase(self);
    --idle_;
    spdlog::warn("http thread_limit: cannot start another worker ({}); connections wait for a free one", e.what());
  }
}

void elastic_pool::enqueue(std::function<void()> fn) {
  join_finished();
  {
    std::unique_lock lock{mutex_};
    if (shutdown_) {
      // httplib stops accepting before it shuts the queue down; should a connection still come, serve it here
      // rather than leak its socket.
      lock.unlock();
      fn();
      return;
    }
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_.size() < limits_.max_threads)
      start_locked();
  }
  cond_.notify_one();
}

void elastic_pool::work(thread_list::iterator self) {
  core::name_this_thread(limits_.thread_name);
  std::unique_lock lock{mutex_};
  for (;;) { // idle_ counts this thread while it waits (start_locked counted it the first time)
    const bool woken = cond_.wait_for(lock, limits_.idle, [this] { return !jobs_.empty() || shutdown_; });
    --idle_;
    if (!woken) {
      if (threads_.size() <= limits_.min_threads) {
        ++idle_;
        continue;
      }
      // Idle for long enough and above the minimum: end, leaving the handle to be joined by someone else.
      finished_.push_back(std::move(*self));
      threads_.erase(self);
      return;
    }
    if (jobs_.empty())
      return; // shutting down and nothing left; shutdown() joins this thread through its entry
    auto fn = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    fn();
    fn = nullptr; // the connection's state goes now, not when the next job arrives
    lock.lock();
    ++idle_;
  }
}

void elastic_pool::join_finished() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock{mutex_};
    done.swap(finished_);
  }
  for (auto& t : done)
    t.join();
}

void elastic_pool::shutdown() {
  {
    std::lock_guard lock{mutex_};
    shutdown_ = true; // from here on no worker leaves threads_ on its own
  }
  cond_.notify_all();
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
  join_finished();
}

std::size_t elastic_pool::threads() const {
  std::lock_guard lock{mutex_};
  return threads_.size();
}

std::size_t elastic_pool::busy() const {
  std::lock_guard lock{mutex_};
  return threads_.size() - idle_;
}

std::size_t elastic_pool::queued() const {
  std::lock_guard lock{mutex_};
  return jobs_.size();
}

} // namespace deliveryd::daemon
