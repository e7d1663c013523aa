#include "daemon/idle_watch.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <system_error>
#include <vector>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"

namespace deliveryd::daemon {

namespace {

/// epoll's data for the two eventfds (connections are their own pointers).
char wake_tag = 0;
char stop_tag = 0;

/// Whole milliseconds until `deadline`, rounded up; 0 once it has passed.
int millis_until(steady_clock::time_point deadline) {
  const auto now = steady_clock::now();
  if (deadline <= now)
    return 0;
  return static_cast<int>(std::min<long long>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count(),
                                              60'000));
}

void add_to_epoll(int epoll_fd, int fd, void* tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = tag;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::system_error{errno, std::generic_category(), "epoll_ctl"};
}

} // namespace

connection::connection(int socket, stream_timeouts timeouts, const stop_signal& stop)
  : fd{socket}, stream{socket, timeouts, stop}, idle_since{steady_clock::now()} {}

connection::~connection() {
  // A FIN, not a RST: whoever closes has made sure that nothing of a request is left unread.
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

connection_state look_at(int fd) {
  char byte = 0;
  for (;;) {
    const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
      return connection_state::request;
    if (n == 0)
      return connection_state::gone;
    if (errno == EINTR)
      continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? connection_state::quiet : connection_state::gone;
  }
}

idle_watch::idle_watch(std::chrono::milliseconds keep_for, const stop_signal& stop, serve_fn serve,
                       const char* thread_name)
  : keep_for_{keep_for}, stop_{stop}, serve_{std::move(serve)}, thread_name_{thread_name} {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    throw std::system_error{errno, std::generic_category(), "idle_watch"};
  add_to_epoll(epoll_fd_, wake_fd_, &wake_tag);
  add_to_epoll(epoll_fd_, stop_.fd(), &stop_tag);
  thread_ = std::thread{[this] { run(); }};
}

idle_watch::~idle_watch() {
  stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

bool idle_watch::park(std::shared_ptr<connection> c) {
  bool first = false;
  {
    std::lock_guard lock{mutex_};
    if (closing_)
      return false;
    first = list_.empty();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c.get();
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
      spdlog::warn("http idle_watch_failed: cannot watch an idle connection ({}); closing it", errno);
      return false;
    }
    auto* raw = c.get();
    raw->parked = list_.insert(list_.end(), std::move(c));
  }
  if (first) { // the watcher may be waiting without a time-out
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }
  return true;
}

std::shared_ptr<connection> idle_watch::take_locked(connection* c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  auto out = std::move(*c->parked);
  list_.erase(c->parked);
  return out;
}

void idle_watch::settle(std::shared_ptr<connection> c) {
  if (look_at(c->fd) == connection_state::request)
    serve_(std::move(c)); // it arrived before the close: it is served (with Connection: close when stopping)
  // Otherwise `c` goes here, closed with a FIN.
}

void idle_watch::release_all() {
  std::list<std::shared_ptr<connection>> all;
  {
    std::lock_guard lock{mutex_};
    closing_ = true;
    for (auto& c : list_)
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
    all.swap(list_);
  }
  for (auto& c : all)
    settle(std::move(c));
}

void idle_watch::run() {
  core::name_this_thread(thread_name_);
  std::array<epoll_event, 64> events{};
  for (;;) {
    int timeout = -1;
    {
      std::lock_guard lock{mutex_};
      if (ended_)
        break;
      if (!list_.empty())
        timeout = millis_until(list_.front()->idle_since + keep_for_);
    }
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::error("http idle_watch_failed: epoll_wait: {}", errno);
      break;
    }
    if (stop_.raised())
      break; // every idle connection ends now
    std::vector<std::shared_ptr<connection>> ready;
    {
      std::lock_guard lock{mutex_};
      for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == &wake_tag) {
          std::uint64_t count = 0;
          [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
        } else if (events[i].data.ptr != &stop_tag) {
          ready.push_back(take_locked(static_cast<connection*>(events[i].data.ptr)));
        }
      }
      const auto now = steady_clock::now();
      while (!list_.empty() && list_.front()->idle_since + keep_for_ <= now)
        ready.push_back(take_locked(list_.front().get()));
    }
    for (auto& c : ready)
      settle(std::move(c));
  }
  release_all();
}

void idle_watch::stop() {
  {
    std::lock_guard lock{mutex_};
    ended_ = true;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable())
    thread_.join();
}

std::size_t idle_watch::parked() const {
  std::lock_guard lock{mutex_};
  return list_.size();
}

} // namespace deliveryd::daemon
