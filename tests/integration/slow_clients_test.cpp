// Slow clients (slowloris): 150 connections on each listener that send half a request and then trickle or go
// quiet must not delay anyone else's request by more than a second, and the quiet ones are dropped by the
// daemon's read time-out.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <iostream>
#include <thread>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "raw_http.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// The start of a request that never completes: either headers without their end, or headers and part of a body.
std::string half_request(int i, const std::string& path) {
  std::string head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if ((i / 2) % 2 == 0) // both shapes among the trickling (even i) and the quiet (odd i) connections
    return head + "X-Slow: "; // stops inside a header line
  return head + "Content-Length: 4000\r\n\r\n[{\"send_id\":\"slow"; // stops inside the body
}

/// Opens `n` slow connections to `port`, each with half a request sent.
std::vector<raw_connection> open_slow(int port, int n, const std::string& path) {
  std::vector<raw_connection> out;
  for (int i = 0; i < n; ++i) {
    raw_connection c{port};
    REQUIRE(c.send(half_request(i, path)));
    out.push_back(std::move(c));
  }
  return out;
}

/// The latency of each of `n` requests made by `request` (a new connection each time, so that each needs a
/// thread of the daemon's own), in seconds; fails the test on an unexpected answer.
template <class Request>
std::vector<double> timed(int n, Request request) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const auto started = steady::now();
    auto res = request(i);
    out.push_back(std::chrono::duration<double>(steady::now() - started).count());
    INFO("request " << i << ": " << describe(res));
    REQUIRE(res);
    CHECK(res->status == 200);
    std::this_thread::sleep_for(20ms);
  }
  return out;
}

} // namespace

TEST_CASE("slow clients: 150 half-sent requests per listener delay no one else by a second",
          "[integration][slow]") {
  daemon_process d;
  const auto base = same_day_base();
  {
    auto ops = d.ops_client();
    json items = json::array();
    for (int i = 0; i < 40; ++i)
      items.push_back(twilio_send("slow-ok-" + std::to_string(i), base, "SMslowok" + std::string(24, '0') +
                                                                         (i < 10 ? "0" : "") + std::to_string(i)));
    auto res = post_sends(*ops, items);
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }

  auto hooks_slow = open_slow(d.webhooks_port(), 150, twilio_path);
  auto ops_slow = open_slow(d.ops_port(), 150, "/v1/sends");
  std::atomic<bool> stop{false};
  // Half of them trickle a byte every 2 s, below the daemon's 10 s read time-out, so they are never dropped.
  std::thread trickler{[&] {
    while (!stop) {
      for (std::size_t i = 0; i < hooks_slow.size(); i += 2) {
        hooks_slow[i].send("x");
        ops_slow[i].send("x");
      }
      for (int k = 0; k < 20 && !stop; ++k)
        std::this_thread::sleep_for(100ms);
    }
  }};
  std::this_thread::sleep_for(300ms); // every slow connection has reached the daemon and holds a thread

  // Everyone else: signed callbacks on the webhooks listener, health and intake on the ops listener.
  const auto hooks_latency = timed(40, [&](int i) {
    auto client = d.webhooks_client();
    const auto sid = "SMslowok" + std::string(24, '0') + (i < 10 ? "0" : "") + std::to_string(i);
    return post_twilio(*client, d.public_url(), twilio_callback(sid, "delivered"));
  });
  const auto ops_latency = timed(20, [&](int i) {
    auto client = d.ops_client();
    if (i % 2 == 0)
      return client->Get("/healthz");
    return post_sends(*client, json::array({twilio_send("slow-late-" + std::to_string(i), base)}));
  });
  const auto worst_hooks = *std::max_element(hooks_latency.begin(), hooks_latency.end());
  const auto worst_ops = *std::max_element(ops_latency.begin(), ops_latency.end());
  std::cout << "slow clients: with 150 half-sent requests on each listener, the slowest of 40 callbacks took "
            << worst_hooks * 1000 << " ms, of 20 ops requests " << worst_ops * 1000 << " ms\n";
  CHECK(worst_hooks < 1.0);
  CHECK(worst_ops < 1.0);

  // The callbacks were stored, as usual.
  {
    auto ops = d.ops_client();
    auto s = get_json(*ops, "/v1/sends/slow-ok-39");
    CHECK(s["status"] == "sent");
  }

  // The quiet half is dropped by the read time-out (10 s after their last byte); the tricklers are not.
  std::size_t quiet_dropped = 0;
  const auto deadline = steady::now() + 15s;
  for (std::size_t i = 1; i < hooks_slow.size(); i += 2) {
    if (hooks_slow[i].closed_by_peer(deadline))
      ++quiet_dropped;
    // Nothing but an error answer, if anything, before the close: the half request was not served.
    const auto& answer = hooks_slow[i].unread();
    CHECK((answer.empty() || answer.rfind("HTTP/1.1 4", 0) == 0));
  }
  std::size_t trickling_open = 0;
  for (std::size_t i = 0; i < hooks_slow.size(); i += 2)
    trickling_open += !hooks_slow[i].closed_by_peer(steady::now());
  stop = true;
  trickler.join();
  CHECK(quiet_dropped == hooks_slow.size() / 2);
  CHECK(trickling_open == hooks_slow.size() / 2);
  hooks_slow.clear();
  ops_slow.clear();
  CHECK(d.terminate() == 0);
}

namespace {

/// Starts a non-blocking connect to 127.0.0.1:port; the descriptor, or -1.
int start_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// True when the connect started on `fd` has completed by `deadline`.
bool connected_by(int fd, steady::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) <= 0)
    return false;
  int error = 0;
  socklen_t size = sizeof error;
  return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0;
}

} // namespace

// Vendors open connections in bursts. While every listener thread is busy (or the daemon is paused, as here), the
// kernel completes the handshakes and queues them, up to the listen backlog; past it, it drops the SYNs and the
// vendor's connect waits a second or more for a retransmission. cpp-httplib's own backlog is 5.
TEST_CASE("slow clients: a burst of new connections waits in the listen queue, not in SYN retransmissions",
          "[integration][slow]") {
  daemon_process d;
  constexpr int burst = 200;
  std::vector<int> fds;
  std::size_t completed = 0;
  {
    REQUIRE(::kill(d.pid(), SIGSTOP) == 0);
    struct resume {
      pid_t pid;
      ~resume() { ::kill(pid, SIGCONT); }
    } resume_at_exit{d.pid()};
    for (int i = 0; i < burst; ++i) {
      const int fd = start_connect(i % 2 == 0 ? d.webhooks_port() : d.ops_port());
      REQUIRE(fd >= 0);
      fds.push_back(fd);
    }
    // A dropped SYN is retransmitted after a second: half of that tells queued from dropped.
    const auto deadline = steady::now() + 500ms;
    for (const int fd : fds)
      completed += connected_by(fd, deadline);
  }
  std::cout << "slow clients: " << completed << " of " << burst
            << " connections completed while the daemon was paused\n";
  CHECK(completed == burst);

  // Once the daemon runs again, every queued connection is served.
  std::size_t served = 0;
  for (const int fd : fds) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    // /healthz: 200 on the ops listener, 404 on the webhooks listener; an answer either way.
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::string answer;
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char buffer[512];
      const auto n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0)
        answer.assign(buffer, static_cast<std::size_t>(n));
    }
    served += answer.rfind("HTTP/1.1 ", 0) == 0;
    ::close(fd);
  }
  CHECK(served == burst);
  CHECK(d.terminate() == 0);
}
