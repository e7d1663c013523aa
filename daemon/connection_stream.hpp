#pragma once
/// One listener connection as cpp-httplib's `Stream`: the socket, a read buffer that lives as long as the
/// connection, time-outs, and the listener's stop signal.
///
/// cpp-httplib 0.11's own SocketStream lives for one request (what it read ahead of the next request is lost),
/// waits with a fixed time-out that a stop cannot cut short, and cannot tell its connection loop what the answer
/// said. This one keeps its buffer across requests, so the loop knows whether a next request has arrived already;
/// waits in poll() on the socket and on the stop signal, so that a stop shortens every wait to what is left of
/// the stop budget; writes with MSG_NOSIGNAL; and notes whether the answer it wrote said `Connection: close`.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <httplib.h>

namespace deliveryd::daemon {

using steady_clock = std::chrono::steady_clock;

/// A listener's stop signal: an eventfd that becomes readable, and the moments by which reads and writes must end.
class stop_signal {
public:
  stop_signal();
  ~stop_signal();
  stop_signal(const stop_signal&) = delete;
  stop_signal& operator=(const stop_signal&) = delete;

  /// Raises the signal (once): reads end by now + `read_budget` at the latest, writes by now + `write_budget` (a
  /// little later, so that the answer to a read cut short still goes out).
  void raise(std::chrono::milliseconds read_budget, std::chrono::milliseconds write_budget);
  /// True once raised.
  bool raised() const { return raised_.load(std::memory_order_acquire); }
  /// The moment by which every read must end: steady_clock's maximum until raised.
  steady_clock::time_point deadline() const { return load(read_deadline_); }
  /// The moment by which every write must end: steady_clock's maximum until raised.
  steady_clock::time_point write_deadline() const { return load(write_deadline_); }
  /// The eventfd to poll for POLLIN; it stays readable once raised.
  int fd() const { return fd_; }

private:
  static steady_clock::time_point load(const std::atomic<steady_clock::rep>& at) {
    return steady_clock::time_point{steady_clock::duration{at.load(std::memory_order_acquire)}};
  }

  int fd_ = -1;
  std::atomic<bool> raised_{false};
  std::atomic<steady_clock::rep> read_deadline_{steady_clock::time_point::max().time_since_epoch().count()};
  std::atomic<steady_clock::rep> write_deadline_{steady_clock::time_point::max().time_since_epoch().count()};
};

/// How long one read or one write may wait for the socket.
struct stream_timeouts {
  std::chrono::milliseconds read{std::chrono::seconds{10}};
  std::chrono::milliseconds write{std::chrono::seconds{10}};
};

/// The stream of one connection (see the file comment). Not thread-safe: one thread serves it at a time.
class connection_stream final : public httplib::Stream {
public:
  connection_stream(int fd, stream_timeouts timeouts, const stop_signal& stop);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

  /// Bytes read from the socket that no request has taken yet (the start of the next request).
  bool has_buffered() const { return begin_ < end_; }
  /// Reads what the socket holds now into the buffer, without waiting: recv()'s result (the bytes now buffered, 0
  /// when the peer has closed, -1 with errno EAGAIN when nothing has come). What is buffered already is kept.
  ssize_t fill();
  /// Gives the read buffer's memory back while nothing is buffered (an idle connection keeps none); the next read
  /// takes it again.
  void release_buffer();
  /// Called before each request: the next answer written is looked at for `Connection: close`.
  void expect_answer() {
    head_pending_ = true;
    answer_closes_ = false;
  }
  /// True when the last answer's head said `Connection: close`.
  bool answer_closes() const { return answer_closes_; }

private:
  /// Waits until the socket is ready for `events` or `limit` (cut to the stop deadline) has passed.
  bool wait_for(short events, std::chrono::milliseconds limit) const;
  /// Notes `Connection: close` in an answer's head (the first write after expect_answer(); httplib writes the
  /// whole head in one call, and a 1xx interim answer before the final one).
  void look_at_head(const char* data, std::size_t size);

  int fd_;
  stream_timeouts timeouts_;
  const stop_signal& stop_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool head_pending_ = false;
  bool answer_closes_ = false;
  mutable std::string remote_ip_; ///< looked up once per connection, on first use
  mutable int remote_port_ = -1;
  mutable std::string local_ip_;
  mutable int local_port_ = -1;
};

} // namespace deliveryd::daemon
