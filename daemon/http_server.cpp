#include "daemon/http_server.hpp"

#include <array>
#include <cerrno>
#include <optional>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/idle_watch.hpp"

namespace deliveryd::daemon {

namespace {

/// The stop signal of the listener whose request this thread serves (see stopping_here()).
thread_local const stop_signal* serving_stop = nullptr;

/// The longest a closing connection is read and dropped while the client has not closed its side.
constexpr std::chrono::seconds linger_limit{1};

/// The idle watch's thread name: the pool's name with "-idle" ("http-webhooks" -> "http-webh-idle").
std::string watch_name(const char* pool_name) {
  std::string name{pool_name};
  return name.substr(0, 9) + "-idle";
}

} // namespace

/// The listener's task queue, created when it starts listening and shut down when it stops: the elastic thread
/// pool, and the idle watch that hands connections back to it. Shutting down stops the watch first (its
/// connections with a request still go to the pool), then drains and joins the pool.
class http_server::connection_queue final : public httplib::TaskQueue {
public:
  connection_queue(http_server& server)
    : server_{server}, pool_{server.threads_}, name_{watch_name(server.threads_.thread_name)},
      watch_{kept_idle(server.limits_), server.stop_,
             [this](std::shared_ptr<connection> c) {
               pool_.enqueue([srv = &server_, c = std::move(c)]() mutable { srv->serve(std::move(c)); });
             },
             name_.c_str()} {
    server_.queue_ = this;
  }

  ~connection_queue() override { server_.queue_ = nullptr; }

  void enqueue(std::function<void()> fn) override { pool_.enqueue(std::move(fn)); }

  void shutdown() override {
    watch_.stop();
    pool_.shutdown();
  }

  idle_watch& watch() { return watch_; }

private:
  http_server& server_;
  elastic_pool pool_;
  std::string name_;
  idle_watch watch_;
};

http_server::http_server(connection_limits limits, pool_limits threads) : limits_{limits}, threads_{threads} {
  set_keep_alive_timeout(advertised_idle(limits_.idle_timeout).count());
  set_keep_alive_max_count(limits_.max_requests);
  new_task_queue = [this] { return new connection_queue{*this}; };
}

http_server::~http_server() = default;

void http_server::begin_stop() { stop_.raise(limits_.stop_budget, limits_.stop_write_budget); }

void http_server::stop_accepting() {
  begin_stop();
  const int listening = svr_sock_;
  if (auto* queue = queue_.load(); queue && listening != INVALID_SOCKET) {
    // Connections the kernel has accepted already carry requests that reached deliveryd: take them before the
    // socket closes (closing it would reset them).
    ::fcntl(listening, F_SETFL, ::fcntl(listening, F_GETFL) | O_NONBLOCK);
    for (;;) {
      const int sock = ::accept4(listening, nullptr, nullptr, SOCK_CLOEXEC);
      if (sock < 0 && errno == EINTR)
        continue;
      if (sock < 0)
        break;
      queue->enqueue([this, sock] { process_and_close_socket(sock); });
    }
  }
  Server::stop();
}

bool http_server::stopping_here() { return serving_stop != nullptr && serving_stop->raised(); }

std::size_t http_server::idle_connections() const {
  auto* queue = queue_.load();
  return queue ? queue->watch().parked() : 0;
}

bool http_server::process_and_close_socket(socket_t sock) {
  serve(std::make_shared<connection>(sock, stream_timeouts{limits_.read_timeout, limits_.write_timeout}, stop_));
  return true;
}

std::optional<bool> http_server::wait_for_request(connection& c) const {
  const auto idle_deadline = c.idle_since + kept_idle(limits_);
  const auto hot_deadline = std::min(steady_clock::now() + limits_.hot_wait, idle_deadline);
  for (;;) {
    const auto now = steady_clock::now();
    const int wait = hot_deadline <= now ? 0 : static_cast<int>(
      std::chrono::ceil<std::chrono::milliseconds>(hot_deadline - now).count());
    std::array<pollfd, 2> fds{{{c.fd, POLLIN, 0}, {stop_.fd(), POLLIN, 0}}};
    const int ready = ::poll(fds.data(), fds.size(), wait);
    if (ready < 0 && errno == EINTR)
      continue;
    // Read at once what came (it is the start of the next request), instead of peeking and reading it again.
    const auto n = c.stream.fill();
    if (n > 0)
      return true;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
      return false; // gone
    // Quiet.
    if (ready < 0 || stop_.raised() || steady_clock::now() >= idle_deadline)
      return false; // quiet, and stopping or idle too long: closed (a FIN: nothing is unread)
    if (ready == 0)
      return std::nullopt;
  }
}

void http_server::serve(std::shared_ptr<connection> c) {
  serving_stop = &stop_;
  for (;;) {
    if (!c->stream.has_buffered()) {
      const auto next = wait_for_request(*c);
      if (!next) {
        c->stream.release_buffer(); // 16 KiB a connection, not needed while it is idle
        if (auto* queue = queue_.load())
          queue->watch().park(std::move(c)); // refused once stopping: then closed here, nothing unread
        return;
      }
      if (!*next)
        return;
    }
    const bool last = stop_.raised() || c->served + 1 >= limits_.max_requests;
    bool closed_by_client = false;
    c->stream.expect_answer();
    const bool ok = process_request(c->stream, last, closed_by_client, nullptr);
    ++c->served;
    c->idle_since = steady_clock::now();
    if (!ok)
      return; // the client went away, or its answer could not be written
    if (last || closed_by_client || c->stream.answer_closes())
      return linger(*c);
  }
}

void http_server::linger(connection& c) const {
  ::shutdown(c.fd, SHUT_WR);
  const auto deadline = std::min(steady_clock::now() + linger_limit, stop_.deadline());
  std::array<char, 16 * 1024> sink{};
  for (;;) {
    const auto now = steady_clock::now();
    if (now >= deadline)
      return;
    pollfd p{c.fd, POLLIN, 0};
    const int wait = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
    if (::poll(&p, 1, wait) <= 0)
      return;
    const auto n = ::recv(c.fd, sink.data(), sink.size(), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
      return;
  }
}

} // namespace deliveryd::daemon
