#include "daemon/connection_stream.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <system_error>

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace deliveryd::daemon {

namespace {

/// Bytes read ahead per recv(): httplib reads request lines byte by byte, so they come from here.
constexpr std::size_t buffer_size = 16 * 1024;

/// How long a write may wait for the socket however late in the stop it comes: a request whose handling outlasted
/// the stop budget (a slow commit) was done, and its answer must still go out to a client that reads.
constexpr std::chrono::milliseconds stop_write_allowance{250};

/// Whole milliseconds from now until `deadline`, rounded up (0 when it has passed, capped for poll's int).
int millis_until(steady_clock::time_point deadline) {
  const auto now = steady_clock::now();
  if (deadline <= now)
    return 0;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
  return static_cast<int>(std::min<long long>(left, 60'000));
}

/// The numeric address and port of a socket address, as httplib gives them to routes.
void ip_and_port(const sockaddr_storage& addr, socklen_t size, std::string& ip, int& port) {
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> service{};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), size, host.data(), host.size(), service.data(),
                    service.size(), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return;
  ip = host.data();
  port = std::atoi(service.data());
}

/// True when `text` holds `needle` (lower case), ASCII letters of `text` compared without their case; no copy,
/// as this looks at every answer's head.
bool contains_folded(std::string_view text, std::string_view needle) {
  return std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         }) != text.end();
}

} // namespace

stop_signal::stop_signal() : fd_{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)} {
  if (fd_ < 0)
    throw std::system_error{errno, std::generic_category(), "eventfd"};
}

stop_signal::~stop_signal() { ::close(fd_); }

void stop_signal::raise(std::chrono::milliseconds read_budget, std::chrono::milliseconds write_budget) {
  if (raised_.load(std::memory_order_acquire))
    return;
  const auto now = steady_clock::now();
  read_deadline_.store((now + read_budget).time_since_epoch().count(), std::memory_order_release);
  write_deadline_.store((now + write_budget).time_since_epoch().count(), std::memory_order_release);
  raised_.store(true, std::memory_order_release); // after the deadlines: a raised signal always has them
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(fd_, &one, sizeof one);
}

connection_stream::connection_stream(int fd, stream_timeouts timeouts, const stop_signal& stop)
  : fd_{fd}, timeouts_{timeouts}, stop_{stop} {}

void connection_stream::release_buffer() {
  if (has_buffered())
    return;
  std::vector<char>{}.swap(buffer_);
  begin_ = end_ = 0;
}

bool connection_stream::wait_for(short events, std::chrono::milliseconds limit) const {
  const auto started = steady_clock::now();
  const auto own_deadline = started + limit;
  for (;;) {
    // Raised: the deadlines are set before the flag, so a raised signal always comes with them.
    const bool stopping = stop_.raised();
    auto deadline = std::min(own_deadline, events == POLLOUT ? stop_.write_deadline() : stop_.deadline());
    if (events == POLLOUT) // the answer to a request that took long to handle still gets a moment to go out
      deadline = std::max(deadline, std::min(own_deadline, started + stop_write_allowance));
    const int wait = millis_until(deadline);
    std::array<pollfd, 2> fds{{{fd_, events, 0}, {stop_.fd(), POLLIN, 0}}};
    const int ready = ::poll(fds.data(), stopping ? 1 : 2, wait); // past the deadline, one look without waiting
    if (ready < 0 && errno != EINTR)
      return false;
    if (ready > 0 && fds[0].revents != 0)
      return true; // ready, or an error or hang-up that the next recv() or send() reports
    if (wait == 0 && ready == 0)
      return false;
    // A time-out not yet at the deadline (poll waits whole milliseconds), EINTR or the stop signal: again.
  }
}

bool connection_stream::is_readable() const { return has_buffered() || wait_for(POLLIN, timeouts_.read); }

bool connection_stream::is_writable() const {
  // One look for both: room to write, and whether the peer has closed its side (as httplib's own stream: a peer
  // that has closed is gone, whatever the send buffer says). Only a full send buffer waits.
  pollfd p{fd_, POLLOUT | POLLIN, 0};
  int ready = ::poll(&p, 1, 0);
  if (ready <= 0 || (p.revents & (POLLOUT | POLLERR | POLLHUP)) == 0) {
    if (!wait_for(POLLOUT, timeouts_.write))
      return false;
    p = {fd_, POLLIN, 0};
    ready = ::poll(&p, 1, 0);
  }
  if (ready <= 0 || (p.revents & (POLLIN | POLLERR | POLLHUP)) == 0)
    return true;
  char byte = 0;
  return ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

ssize_t connection_stream::fill() {
  if (buffer_.empty())
    buffer_.resize(buffer_size);
  if (has_buffered())
    return static_cast<ssize_t>(end_ - begin_);
  for (;;) {
    const auto n = ::recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n > 0) {
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    return n;
  }
}

ssize_t connection_stream::read(char* ptr, size_t size) {
  if (size == 0)
    return 0;
  for (;;) {
    if (has_buffered()) {
      const auto n = std::min(size, end_ - begin_);
      std::memcpy(ptr, buffer_.data() + begin_, n);
      begin_ += n;
      return static_cast<ssize_t>(n);
    }
    // The data is usually there already (the rest of a request whose start was read): recv() first, and wait
    // only when it says there is nothing yet.
    if (buffer_.empty())
      buffer_.resize(buffer_size);
    const bool direct = size >= buffer_.size();
    const auto n = ::recv(fd_, direct ? ptr : buffer_.data(), direct ? size : buffer_.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(POLLIN, timeouts_.read))
        return -1;
      continue;
    }
    if (n <= 0 || direct)
      return n;
    begin_ = 0;
    end_ = static_cast<std::size_t>(n);
  }
}

ssize_t connection_stream::write(const char* ptr, size_t size) {
  if (head_pending_)
    look_at_head(ptr, size);
  std::size_t done = 0;
  while (done < size) {
    // Unlike read(), a write waits first (poll() reports POLLOUT only once a good part of the send buffer is free
    // again). Sending whenever any room showed let the kernel end up holding a whole 2.9 MB export for a client
    // that had read 4 KiB and stopped: the crash loop's held download was complete after the kill. Waiting first,
    // a client that stops reading holds far less of the daemon's answer in the kernel.
    if (!wait_for(POLLOUT, timeouts_.write))
      break;
    const auto n = ::send(fd_, ptr + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
      continue;
    if (n <= 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  return done > 0 ? static_cast<ssize_t>(done) : -1;
}

void connection_stream::look_at_head(const char* data, std::size_t size) {
  const std::string_view text{data, size};
  if (text.starts_with("HTTP/1.1 1") || text.starts_with("HTTP/1.0 1"))
    return; // 100 Continue: the final answer's head comes next
  head_pending_ = false;
  answer_closes_ = contains_folded(text.substr(0, text.find("\r\n\r\n")), "\r\nconnection: close");
}

namespace {

/// The address and port of `fd`'s own end (getsockname) or its peer's (getpeername), looked up on first use.
void cached_address(int fd, int (*lookup)(int, sockaddr*, socklen_t*), std::string& cached_ip, int& cached_port,
                    std::string& ip, int& port) {
  if (cached_port < 0) {
    sockaddr_storage addr{};
    socklen_t size = sizeof addr;
    cached_port = 0;
    if (lookup(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0)
      ip_and_port(addr, size, cached_ip, cached_port);
  }
  ip = cached_ip;
  port = cached_port;
}

} // namespace

void connection_stream::get_remote_ip_and_port(std::string& ip, int& port) const {
  cached_address(fd_, ::getpeername, remote_ip_, remote_port_, ip, port);
}

void connection_stream::get_local_ip_and_port(std::string& ip, int& port) const {
  cached_address(fd_, ::getsockname, local_ip_, local_port_, ip, port);
}

} // namespace deliveryd::daemon
