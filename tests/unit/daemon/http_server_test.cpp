/// The listeners' connection loop on loopback, without the daemon: what Keep-Alive advertises and how long an idle
/// connection is kept, pipelined requests, parking idle connections without a thread, closing after an answer
/// that says `Connection: close`, and a stop that closes idle connections at once.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/http_server.hpp"

using namespace std::chrono_literals;
using deliveryd::daemon::advertised_idle;
using deliveryd::daemon::connection_limits;
using deliveryd::daemon::http_server;
using deliveryd::daemon::kept_idle;
using steady = std::chrono::steady_clock;

namespace {

/// A server with GET /ping (200 "pong") and GET /refuse (400, Connection: close) on a free loopback port.
class test_server {
public:
  explicit test_server(connection_limits limits) : server_{limits, {2, 16, 30s, "http-test"}} {
    server_.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.set_content("pong", "text/plain"); });
    server_.Get("/refuse", [](const httplib::Request&, httplib::Response& res) {
      res.status = 400;
      res.set_content("no", "text/plain");
      res.set_header("Connection", "close");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread{[this] { server_.listen_after_bind(); }};
  }
  ~test_server() { stop(); }

  void stop() {
    if (!thread_.joinable())
      return;
    server_.begin_stop();
    server_.stop_accepting();
    thread_.join();
  }

  http_server& server() { return server_; }
  int port() const { return port_; }

private:
  http_server server_;
  int port_ = 0;
  std::thread thread_;
};

/// A blocking client socket.
class client {
public:
  explicit client(int port) : fd_{::socket(AF_INET, SOCK_STREAM, 0)} {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~client() { ::close(fd_); }

  void send(const std::string& bytes) { REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())); }

  /// Everything received until `count` answers ("HTTP/1.1 " lines) are complete or 2 s have passed.
  std::string receive(std::size_t count) {
    std::string data;
    const auto until = steady::now() + 2s;
    while (answers_in(data) < count && steady::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      char buffer[4096];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0)
        break;
      data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
  }

  /// True when the server closes the connection (EOF) within `limit`.
  bool closed_within(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0)
      return false;
    char byte = 0;
    return ::recv(fd_, &byte, 1, MSG_DONTWAIT) == 0;
  }

private:
  /// Complete answers (head and Content-Length body) at the start of `data`.
  static std::size_t answers_in(const std::string& data) {
    std::size_t count = 0;
    for (std::size_t at = 0;; ++count) {
      const auto end = data.find("\r\n\r\n", at);
      if (end == std::string::npos)
        return count;
      const auto length = data.find("Content-Length: ", at);
      const auto body = length < end ? std::stoul(data.substr(length + 16)) : 0;
      if (data.size() < end + 4 + body)
        return count;
      at = end + 4 + body;
    }
  }

  int fd_;
};

const std::string ping = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";

/// Polls `done` every millisecond for up to `limit`.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 2s) {
  const auto end = steady::now() + limit;
  while (!done()) {
    if (steady::now() > end)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

} // namespace

TEST_CASE("http server: Keep-Alive advertises whole seconds and idle connections are kept a grace longer",
          "[daemon][http]") {
  CHECK(advertised_idle(75s) == 75s);
  CHECK(advertised_idle(1500ms) == 1s);
  CHECK(advertised_idle(1s) == 1s);
  CHECK(advertised_idle(999ms) == 1s); // never 0, which clients read as "do not reuse"
  connection_limits limits;
  CHECK(limits.idle_timeout == 75s);
  CHECK(kept_idle(limits) == 76s);
  limits.idle_timeout = 1500ms;
  CHECK(kept_idle(limits) == 2500ms);
  CHECK(kept_idle(limits) > advertised_idle(limits.idle_timeout));
}

TEST_CASE("http server: pipelined requests are all answered and a quiet connection holds no thread",
          "[daemon][http]") {
  connection_limits limits;
  limits.idle_timeout = 5s;
  test_server s{limits};
  client c{s.port()};
  c.send(ping + ping + ping); // one segment: what was read ahead for the first request stays for the next ones
  const auto answers = c.receive(3);
  INFO(answers);
  CHECK(answers.find("Keep-Alive: timeout=5, max=1000") != std::string::npos);
  std::size_t pongs = 0;
  for (auto at = answers.find("pong"); at != std::string::npos; at = answers.find("pong", at + 4))
    ++pongs;
  CHECK(pongs == 3);
  CHECK(eventually([&] { return s.server().idle_connections() == 1; }));
  c.send(ping); // a parked connection is served again
  CHECK(c.receive(1).find("pong") != std::string::npos);
}

TEST_CASE("http server: an answer that says Connection: close closes the connection", "[daemon][http]") {
  test_server s{connection_limits{}};
  client c{s.port()};
  c.send("GET /refuse HTTP/1.1\r\nHost: x\r\n\r\n" + ping); // what follows a refused request is never served
  const auto answer = c.receive(2);
  INFO(answer);
  CHECK(answer.find("HTTP/1.1 400") == 0);
  CHECK(answer.find("pong") == std::string::npos);
  CHECK(c.closed_within(1s));
}

TEST_CASE("http server: an idle connection is closed after idle_timeout plus the grace and not before",
          "[daemon][http]") {
  connection_limits limits;
  limits.idle_timeout = 1s;
  limits.idle_grace = 300ms;
  test_server s{limits};
  client c{s.port()};
  c.send(ping);
  REQUIRE(c.receive(1).find("pong") != std::string::npos);
  const auto answered = steady::now();
  CHECK_FALSE(c.closed_within(1200ms));
  CHECK(c.closed_within(500ms));
  const auto closed_after = steady::now() - answered;
  CHECK(closed_after >= 1250ms);
  CHECK(closed_after <= 1700ms);
}

TEST_CASE("http server: a stop closes every idle connection at once", "[daemon][http]") {
  test_server s{connection_limits{}}; // idle_timeout 75 s
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<client>(s.port()));
    idle.back()->send(ping);
    REQUIRE(idle.back()->receive(1).find("pong") != std::string::npos);
  }
  REQUIRE(eventually([&] { return s.server().idle_connections() == 50; }));
  const auto started = steady::now();
  s.stop();
  const auto took = steady::now() - started;
  CHECK(took < 500ms);
  std::size_t closed = 0;
  for (auto& c : idle)
    closed += c->closed_within(100ms);
  CHECK(closed == 50);
}
