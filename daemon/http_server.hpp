#pragma once
/// The listeners' HTTP server: cpp-httplib 0.11's request parsing, routing and answers, with the daemon's own
/// connection loop around them, so that a listener keeps idle keep-alive connections for `idle_timeout`, closes
/// them without dropping a request, and still stops at once.
///
/// cpp-httplib 0.11 (as Debian 12 ships it) lets a derived server replace `process_and_close_socket`, the loop that
/// serves one connection, and call its `process_request` for each request. The loop here:
/// - waits for the next request briefly on the serving thread (a busy client's next request is there at once),
///   then hands a quiet connection to the listener's idle_watch, which holds it without a thread;
/// - advertises `Keep-Alive: timeout=<idle_timeout in whole seconds>` and closes an idle connection only
///   `idle_grace` later, after one more look for a request that has arrived: a client that reuses its connection
///   within the advertised time is answered even when its request travels a second;
/// - on stop, closes every idle connection at once and lets a request being read or handled finish within the
///   stop budget, its answer saying `Connection: close`;
/// - closes a connection after an answer that says `Connection: close` (a refusal whose body was not read), so that
///   what is left of that request is never taken for the next one.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include <httplib.h>

#include "daemon/connection_stream.hpp"
#include "daemon/task_pool.hpp"

namespace deliveryd::daemon {

struct connection;
class idle_watch;

/// What a listener allows its connections.
struct connection_limits {
  std::chrono::milliseconds idle_timeout{std::chrono::seconds{75}}; ///< [webhooks|ops] idle_timeout
  /// Kept beyond idle_timeout before an idle connection is closed: a request sent at the advertised moment may
  /// still be on its way (a round trip, a retransmitted segment).
  std::chrono::milliseconds idle_grace{std::chrono::seconds{1}};
  std::chrono::milliseconds read_timeout{std::chrono::seconds{10}};  ///< one read of a request, at most
  std::chrono::milliseconds write_timeout{std::chrono::seconds{10}}; ///< one write of an answer, at most
  /// After a stop, reads of the requests in flight end this long after it at the latest, and writes of their
  /// answers `stop_write_budget` after it, so that the daemon exits within 2 s of SIGTERM.
  std::chrono::milliseconds stop_budget{1200};
  std::chrono::milliseconds stop_write_budget{1500}; ///< see stop_budget
  /// How long the serving thread waits for a next request before the connection goes to the idle watch.
  std::chrono::milliseconds hot_wait{20};
  /// Requests per connection; the last answer says `Connection: close`.
  std::size_t max_requests = 1000;
};

/// The seconds of `Keep-Alive: timeout=`: idle_timeout in whole seconds, rounded down, at least 1 (config
/// refuses an idle_timeout under 1 s, so a connection is always kept at least as long as advertised).
constexpr std::chrono::seconds advertised_idle(std::chrono::milliseconds idle_timeout) {
  const auto whole = std::chrono::floor<std::chrono::seconds>(idle_timeout);
  return whole < std::chrono::seconds{1} ? std::chrono::seconds{1} : whole;
}

/// How long an idle connection is kept before it is closed: idle_timeout plus the grace.
constexpr std::chrono::milliseconds kept_idle(const connection_limits& limits) {
  return limits.idle_timeout + limits.idle_grace;
}

/// A listener (see the file comment). Routes and handlers are set as on any httplib::Server.
class http_server final : public httplib::Server {
public:
  http_server(connection_limits limits, pool_limits threads);
  ~http_server() override;

  /// Raises the stop: idle connections close now, requests in flight get the stop budget. Returns at once;
  /// both listeners call it before either waits, so that their budgets run together.
  void begin_stop();
  /// Stops accepting: connections already queued by the kernel are taken and served first (their requests
  /// reached deliveryd), then the listening socket is closed; the thread in listen_after_bind() then waits for
  /// the connections in flight and returns.
  void stop_accepting();

  /// True while a request is served by a listener that is stopping (called from a handler's thread): a read cut
  /// short by the stop budget is answered 503, not 400.
  static bool stopping_here();

  /// Connections held by the idle watch now (for tests and metrics).
  std::size_t idle_connections() const;

private:
  class connection_queue;

  bool process_and_close_socket(socket_t sock) override;
  /// Serves `c` until it closes or goes quiet (then it is parked in the idle watch).
  void serve(std::shared_ptr<connection> c);
  /// Waits on the serving thread for the next request; true when one has arrived, false when `c` is to be closed;
  /// nullopt when it is quiet and may go to the idle watch.
  std::optional<bool> wait_for_request(connection& c) const;
  /// After an answer that closes the connection: FIN, then whatever the client still sends is read and dropped
  /// until it closes (at most a second, and never past the stop budget), so that no RST destroys the answer.
  void linger(connection& c) const;

  const connection_limits limits_;
  const pool_limits threads_;
  stop_signal stop_;
  std::atomic<connection_queue*> queue_{nullptr}; ///< while listen_after_bind() runs
};

} // namespace deliveryd::daemon
