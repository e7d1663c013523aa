#pragma once
/// A listener's idle keep-alive connections, kept without a thread each.
///
/// cpp-httplib 0.11 waits for a connection's next request on the thread that served the last one, polling every
/// 10 ms, and notices a stop only when that wait times out. With idle connections kept for `idle_timeout` (75 s),
/// a pool of a few hundred pooled connections would hold every listener thread and shut everyone else out. So a
/// connection that stays quiet after an answer is handed to one watcher thread per listener (epoll), which gives it
/// back to the thread pool when its next request arrives, closes it when it has been idle too long, and closes every
/// idle connection at once when the listener stops.
///
/// Closing as idle never drops a request: right before closing, the watcher looks (recv MSG_PEEK) for the first byte
/// of a request, and serves the connection instead if one has arrived. It closes with a FIN (nothing unread, so the
/// kernel sends no RST).

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "daemon/connection_stream.hpp"

namespace deliveryd::daemon {

/// A listener connection: its socket (closed with it), its stream, and what the listener counts.
struct connection {
  connection(int socket, stream_timeouts timeouts, const stop_signal& stop);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  const int fd;
  connection_stream stream;
  std::size_t served = 0;               ///< requests answered so far
  steady_clock::time_point idle_since;  ///< when the last answer was written (or the connection accepted)
  std::list<std::shared_ptr<connection>>::iterator parked; ///< its place in idle_watch's list, while there
};

/// What the watcher finds on a connection it looks at.
enum class connection_state {
  request, ///< bytes of a request have arrived
  quiet,   ///< nothing to read, the connection is open
  gone,    ///< the peer closed it, or it failed
};

/// Looks at a connection without taking anything from it (recv MSG_PEEK, without waiting).
connection_state look_at(int fd);

/// The watcher (see the file comment). Thread-safe.
class idle_watch {
public:
  /// Gives a connection whose next request has arrived back to be served.
  using serve_fn = std::function<void(std::shared_ptr<connection>)>;

  /// Watches until stop(); a connection idle `keep_for` since its idle_since is closed; `serve` gets the
  /// connections whose request arrived (called on the watcher's thread, named `thread_name`).
  idle_watch(std::chrono::milliseconds keep_for, const stop_signal& stop, serve_fn serve, const char* thread_name);
  ~idle_watch();
  idle_watch(const idle_watch&) = delete;
  idle_watch& operator=(const idle_watch&) = delete;

  /// Takes a quiet connection; false once the listener is stopping (the caller closes it then).
  bool park(std::shared_ptr<connection> c);
  /// Ends the watch: connections with a request are handed to `serve`, the others closed; joins the thread.
  void stop();

  /// Connections parked now.
  std::size_t parked() const;

private:
  /// The watcher thread's loop.
  void run();
  /// Takes `c` out of the list and of epoll; the caller holds the mutex.
  std::shared_ptr<connection> take_locked(connection* c);
  /// Serves or closes a connection taken out of the watch, after one more look.
  void settle(std::shared_ptr<connection> c);
  /// Takes every connection out (the listener stops) and settles them.
  void release_all();

  const std::chrono::milliseconds keep_for_;
  const stop_signal& stop_;
  const serve_fn serve_;
  const char* thread_name_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1; ///< an eventfd: a first connection was parked, or stop() was called
  mutable std::mutex mutex_;
  std::list<std::shared_ptr<connection>> list_; ///< oldest first: every connection is kept equally long
  bool closing_ = false;                         ///< no more parking
  bool ended_ = false;                           ///< stop() was called
  std::thread thread_;
};

} // namespace deliveryd::daemon
