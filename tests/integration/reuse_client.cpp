#include "reuse_client.hpp"

#include "raw_http.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace it {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// One answer, or why there was none.
struct answer {
  bool complete = false;
  bool closes = false;      ///< Connection: close
  std::string keep_alive;   ///< the Keep-Alive header's value
  std::string what;         ///< for an incomplete answer: what happened
};

/// A pooled connection of one client.
class pooled_connection {
public:
  explicit pooled_connection(int port) : port_{port} {}
  ~pooled_connection() { drop(); }
  pooled_connection(const pooled_connection&) = delete;
  pooled_connection& operator=(const pooled_connection&) = delete;

  bool open() const { return fd_ >= 0; }

  bool connect() {
    drop();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      drop();
      return false;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }

  void drop() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  /// A pool's check before reusing a connection: true when the server has closed it (EOF or a reset), or sent
  /// something unasked.
  bool closed_by_server() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0)
      return false;
    char byte = 0;
    const auto n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  }

  /// Writes the whole request; false when the connection failed.
  bool write(std::string_view bytes) { return send_all(fd_, bytes); }

  /// Reads one answer (head and Content-Length body) within `timeout`.
  answer read_answer(milliseconds timeout) {
    answer out;
    std::string data;
    const auto deadline = steady::now() + timeout;
    std::size_t want = std::string::npos;
    std::string head;
    while (want == std::string::npos || data.size() < want) {
      if (want == std::string::npos)
        if (const auto end = data.find("\r\n\r\n"); end != std::string::npos) {
          head = lower(data.substr(0, end));
          want = end + 4 + std::strtoull(header_of(head, "content-length").c_str(), nullptr, 10);
          continue;
        }
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady::now()).count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
        out.what = "no answer within " + std::to_string(timeout.count()) + " ms";
        return out;
      }
      char buffer[8192];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        out.what = n == 0 ? "EOF after " + std::to_string(data.size()) + " bytes of the answer"
                          : std::string{"recv: "} + std::strerror(errno);
        return out;
      }
      data.append(buffer, static_cast<std::size_t>(n));
    }
    out.complete = data.size() == want && head.starts_with("http/1.1 ");
    if (!out.complete)
      out.what = "a malformed answer or extra bytes: " + data.substr(0, 200);
    out.closes = head.find("\r\nconnection: close") != std::string::npos;
    out.keep_alive = header_of(head, "keep-alive");
    return out;
  }

private:
  int port_;
  int fd_ = -1;
};

/// What all clients share.
struct shared_state {
  std::atomic<long> left{0};
  steady::time_point until;
  std::mutex mutex;
  reuse_figures total;
};

/// Adds a client's figures to the total.
void merge(shared_state& s, const reuse_figures& f) {
  std::lock_guard lock{s.mutex};
  auto& t = s.total;
  t.requests += f.requests;
  t.answered += f.answered;
  t.dropped += f.dropped;
  t.idle_reuses += f.idle_reuses;
  t.reconnects += f.reconnects;
  t.idle_closes += f.idle_closes;
  t.early_closes += f.early_closes;
  t.close_answers += f.close_answers;
  t.not_closed += f.not_closed;
  t.wrong_timeout += f.wrong_timeout;
  for (const auto& sample : f.samples)
    if (t.samples.size() < 10)
      t.samples.push_back(sample);
}

/// One client: a connection of its own, reused back to back, at the advertised moment, or after the server closed
/// it (see the header).
void run_client(const reuse_plan& plan, int index, shared_state& s) {
  std::mt19937 rng{plan.seed * 7919u + static_cast<unsigned>(index)};
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  const auto between = [&](milliseconds low, milliseconds high) {
    return milliseconds{std::uniform_int_distribution<long>{low.count(), high.count()}(rng)};
  };
  const auto slot = static_cast<std::size_t>(index) % plan.ports.size();
  const std::string& request = plan.requests[slot];
  const std::string advertised = "timeout=" + std::to_string(plan.advertised.count() / 1000) + ",";
  pooled_connection c{plan.ports[slot]};
  reuse_figures f;
  bool first = true;
  auto answered_at = steady::now();
  while (steady::now() < s.until && s.left.fetch_sub(1) > 0) {
    const double pick = unit(rng);
    const bool idle = c.open() && pick < plan.idle_share;
    const bool beyond = idle && unit(rng) < plan.beyond_share;
    if (beyond) {
      std::this_thread::sleep_until(answered_at + plan.closes_after + between(milliseconds{100}, milliseconds{300}));
      const auto give_up = steady::now() + milliseconds{1500};
      while (!c.closed_by_server() && steady::now() < give_up)
        std::this_thread::sleep_for(milliseconds{50});
      if (c.closed_by_server())
        ++f.idle_closes;
      else
        ++f.not_closed;
      c.drop(); // never written to: the request goes on a new connection
    } else if (idle) {
      std::this_thread::sleep_until(answered_at + plan.advertised - between(milliseconds{0}, plan.early_jitter));
      if (c.closed_by_server()) {
        ++f.early_closes;
        c.drop();
      } else {
        ++f.idle_reuses;
        std::this_thread::sleep_for(between(milliseconds{0}, plan.transit_max)); // the request travels
      }
    }
    if (!c.open()) {
      if (!c.connect()) {
        f.samples.push_back("cannot connect to port " + std::to_string(plan.ports[slot]));
        break;
      }
      f.reconnects += first ? 0 : 1;
      first = false;
    }
    ++f.requests;
    const auto a = c.write(request) ? c.read_answer(milliseconds{5000}) : answer{false, false, {}, "write failed"};
    if (!a.complete) {
      ++f.dropped;
      if (f.samples.size() < 3)
        f.samples.push_back(std::string{idle ? "idle reuse" : "back-to-back"} + ": " + a.what + ", "
                            + std::to_string(std::chrono::duration_cast<milliseconds>(steady::now() - answered_at)
                                               .count())
                            + " ms after the last answer");
      c.drop();
      continue;
    }
    ++f.answered;
    answered_at = steady::now();
    if (a.closes) {
      ++f.close_answers;
      c.drop();
    } else if (a.keep_alive.find(advertised) == std::string::npos) {
      ++f.wrong_timeout;
    }
  }
  merge(s, f);
}

} // namespace

reuse_figures run_reuse_clients(const reuse_plan& plan) {
  shared_state s;
  s.left = plan.total_requests;
  const auto started = steady::now();
  s.until = started + plan.max_time;
  std::vector<std::thread> threads;
  for (int i = 0; i < plan.clients; ++i)
    threads.emplace_back([&plan, i, &s] { run_client(plan, i, s); });
  for (auto& t : threads)
    t.join();
  s.total.took = std::chrono::duration_cast<milliseconds>(steady::now() - started);
  return s.total;
}

std::string describe(const reuse_figures& f) {
  std::ostringstream out;
  out << f.requests << " requests (" << f.idle_reuses << " at the advertised moment), " << f.answered
      << " answered, " << f.dropped << " dropped, " << f.reconnects << " reconnects, " << f.idle_closes
      << " idle closes seen, " << f.early_closes << " closed early, " << f.close_answers
      << " Connection: close answers, " << f.not_closed << " not closed in time, " << f.wrong_timeout
      << " wrong Keep-Alive; " << f.took.count() << " ms";
  return out.str();
}

} // namespace it
