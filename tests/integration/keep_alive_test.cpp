// Keep-alive connections (issue 19, part 3): a listener keeps an idle connection `idle_timeout` and closes it a
// grace later with a FIN; a request that reached the daemon is answered, whether it came at the idle moment,
// while the daemon could not run, or while it stops; and SIGTERM stops within 2 s with hundreds of idle
// connections open. The tests tagged [listener] do not depend on the ledger's back end and run once.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "raw_http.hpp"
#include "reuse_client.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// A request each listener answers at once with a body: 200 on ops, 404 (JSON) on webhooks.
const std::string probe = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Both listeners with `idle_timeout`.
daemon_options with_idle(const std::string& idle_timeout) {
  daemon_options o;
  o.webhooks_extra = "idle_timeout = \"" + idle_timeout + "\"\n";
  o.ops_extra = "idle_timeout = \"" + idle_timeout + "\"\n";
  return o;
}

/// Raises this process's soft limit of open files (the daemon started afterwards inherits it) to `wanted`, as far
/// as the hard limit allows; the limit afterwards.
rlim_t raise_open_files(rlim_t wanted) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

/// How a connection ended.
enum class ending { open, fin, reset };

/// Waits until `deadline` for the server to close `c`: a FIN (recv 0) or a reset (looks once when it has passed).
/// Bytes that come are dropped.
ending wait_for_close(raw_connection& c, steady::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady::now()).count();
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long>(0, left))) <= 0)
      return ending::open;
    char buffer[4096];
    const auto n = ::recv(c.fd(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0)
      return ending::fin;
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return ending::reset;
  }
}

/// The daemon's threads now (/proc/<pid>/status).
long threads_of(pid_t pid) {
  std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("Threads:"))
      return std::strtol(line.c_str() + 8, nullptr, 10);
  return -1;
}

/// The lower-cased head of an answer.
std::string lower_head(const raw_answer& a) {
  std::string out = a.head;
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

} // namespace

TEST_CASE("keep-alive: an idle connection is kept idle_timeout as advertised and closed a second later with a FIN",
          "[integration][keepalive][listener]") {
  daemon_process d{with_idle("3s")};
  struct pair_of_connections {
    raw_connection reused;
    raw_connection left;
  };
  std::vector<pair_of_connections> pairs;
  for (const int port : {d.ops_port(), d.webhooks_port()})
    pairs.push_back({raw_connection{port}, raw_connection{port}});
  for (auto& p : pairs)
    for (auto* c : {&p.reused, &p.left}) {
      REQUIRE(c->send(probe));
      const auto a = c->read_answer();
      INFO(a.head);
      REQUIRE(a.status > 0);
      CHECK(lower_head(a).find("\r\nkeep-alive: timeout=3, max=1000") != std::string::npos);
      CHECK_FALSE(a.closed_after);
    }
  const auto answered_at = steady::now();

  // Idle for longer than the 2 s the listeners used to keep a connection, shorter than idle_timeout: still served.
  std::this_thread::sleep_until(answered_at + 2500ms);
  for (auto& p : pairs) {
    REQUIRE(p.reused.send(probe));
    const auto a = p.reused.read_answer();
    INFO(a.head);
    CHECK(a.status > 0);
  }

  // Left idle: closed idle_timeout plus the grace (1 s) after the answer, not earlier, with a FIN.
  std::vector<std::thread> watchers;
  std::vector<std::pair<ending, milliseconds>> endings(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i)
    watchers.emplace_back([&, i] {
      endings[i].first = wait_for_close(pairs[i].left, answered_at + 6s);
      endings[i].second = std::chrono::duration_cast<milliseconds>(steady::now() - answered_at);
    });
  for (auto& t : watchers)
    t.join();
  for (const auto& [how, when] : endings) {
    std::cout << "keep-alive: idle_timeout 3s, an idle connection closed " << when.count() << " ms after its answer ("
              << (how == ending::fin ? "FIN" : how == ending::reset ? "reset" : "still open") << ")\n";
    CHECK(how == ending::fin);
    CHECK(when >= 3950ms);
    CHECK(when <= 4600ms);
  }
  // The reused connections are idle again, and kept as long.
  for (auto& p : pairs)
    CHECK(wait_for_close(p.reused, steady::now() + 100ms) == ending::open);
}

TEST_CASE("keep-alive: a request that arrives while the daemon cannot run is answered even past the idle deadline",
          "[integration][keepalive][listener]") {
  daemon_process d{with_idle("1s")};
  constexpr int per_listener = 200; // half of them reusing: more ready at once than one epoll_wait reports (64)
  std::vector<raw_connection> reusing;
  std::vector<raw_connection> idle;
  for (const int port : {d.ops_port(), d.webhooks_port()})
    for (int i = 0; i < per_listener; ++i) {
      auto& c = i % 2 == 0 ? reusing.emplace_back(port) : idle.emplace_back(port);
      REQUIRE(c.send(probe));
      REQUIRE(c.read_answer().status > 0);
    }
  const auto answered_at = steady::now();
  std::this_thread::sleep_until(answered_at + 500ms);
  {
    REQUIRE(::kill(d.pid(), SIGSTOP) == 0);
    struct resume {
      pid_t pid;
      ~resume() { ::kill(pid, SIGCONT); }
    } resume_at_exit{d.pid()};
    // Within the advertised second: the requests reach the kernel, the daemon cannot read them before its idle
    // deadline (1 s + 1 s) has passed.
    std::this_thread::sleep_until(answered_at + 800ms);
    for (auto& c : reusing)
      REQUIRE(c.send(probe));
    std::this_thread::sleep_until(answered_at + 3s);
  }
  std::size_t answered = 0;
  for (auto& c : reusing)
    answered += c.read_answer().status > 0;
  std::size_t closed = 0;
  for (auto& c : idle)
    closed += wait_for_close(c, steady::now() + 1s) == ending::fin;
  std::cout << "keep-alive: after a 2.5 s stall, " << answered << " of " << reusing.size()
            << " requests sent before the idle deadline answered; " << closed << " of " << idle.size()
            << " idle connections closed with a FIN\n";
  CHECK(answered == reusing.size());
  CHECK(closed == idle.size());
}

TEST_CASE("keep-alive: clients that reuse connections at the idle moment get every answer",
          "[integration][keepalive][listener]") {
  raise_open_files(4096);
  daemon_process d{with_idle("1s")};
  reuse_plan plan;
  plan.ports = {d.ops_port(), d.webhooks_port()};
  plan.requests = {probe, probe};
  plan.clients = 400;
  plan.idle_share = 0.1; // of which 5 % wait past the idle close
  plan.total_requests = sanitized ? 30'000 : 100'000; // about 30 s either way
  plan.max_time = 90s;
  plan.advertised = 1s;
  plan.closes_after = 2s;
  const auto f = run_reuse_clients(plan);
  std::cout << "keep-alive: reuse at the idle moment: " << describe(f) << "\n";
  for (const auto& sample : f.samples)
    std::cout << "  " << sample << "\n";
  CHECK(f.dropped == 0);
  CHECK(f.answered == f.requests);
  CHECK(f.early_closes == 0);
  CHECK(f.wrong_timeout == 0);
  CHECK(f.idle_reuses > plan.total_requests / 20);
  CHECK(f.idle_closes > 0);
  CHECK(f.requests == plan.total_requests);
  CHECK(d.terminate() == 0);
}

namespace {

/// A Twilio MessageSid for number `i`.
std::string sid_of(int i) {
  const auto digits = std::to_string(i);
  return "SM" + std::string(32 - digits.size(), '0') + digits;
}

/// The bytes of a POST of `body` to `path` with `headers` (each ending in CRLF).
std::string post_bytes(const std::string& path, const std::string& headers, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// An intake POST of `count` sends named `prefix`-i.
std::string intake_bytes(const std::string& prefix, int count, seconds_point requested_at) {
  json items = json::array();
  for (int i = 0; i < count; ++i)
    items.push_back(twilio_send(prefix + "-" + std::to_string(i), requested_at));
  return post_bytes("/v1/sends", "Content-Type: application/json\r\n", items.dump());
}

/// A signed Twilio callback saying `sid` was delivered.
std::string callback_bytes(const daemon_process& d, const std::string& sid) {
  const auto params = twilio_callback(sid, "delivered");
  return post_bytes(twilio_path,
                    "Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: " +
                      twilio_signature(auth_token, d.public_url() + twilio_path, params) + "\r\n",
                    form_encode(params));
}

/// A field of an answer's JSON body (null when there is none).
json field_of(const raw_answer& a, const char* name) {
  const auto body = a.body_json();
  return body.is_object() && body.contains(name) ? body[name] : json{};
}

/// A request in flight at SIGTERM: its bytes, how many of them go before the signal, and its answer.
struct in_flight {
  in_flight(int to, std::string text, std::size_t first = 0, bool stall = false)
    : port{to}, bytes{std::move(text)}, before{first}, stalls{stall} {}

  int port = 0;
  std::string bytes;
  std::size_t before = 0; ///< bytes sent before SIGTERM; the rest 300 ms after it (none: it stalls)
  bool stalls = false;    ///< the rest is never sent
  raw_answer answer;
};

} // namespace

// A pipeline or a vendor pool that keeps hundreds of idle connections must not hold up a restart, and whatever is
// in flight at SIGTERM is answered: whole requests, bodies still arriving (finished within the stop budget), and a
// body that stalls (503 stopping once the budget is over, nothing stored).
TEST_CASE("keep-alive: SIGTERM with 500 idle connections on each listener and requests in flight stops within 2 s",
          "[integration][keepalive][durability]") {
  raise_open_files(8192);
  daemon_process d;
  const auto requested_at = now_seconds() - 1min;
  constexpr int callbacks = 8;
  {
    json items = json::array();
    for (int i = 0; i < callbacks; ++i)
      items.push_back(twilio_send("stop-cb-" + std::to_string(i), requested_at, sid_of(i)));
    auto ops = d.ops_client();
    REQUIRE(body_of(post_sends(*ops, items))["accepted"] == callbacks);
  }

  std::vector<raw_connection> idle;
  for (int i = 0; i < 1000; ++i) {
    auto& c = idle.emplace_back(i % 2 == 0 ? d.ops_port() : d.webhooks_port());
    REQUIRE(c.send(probe));
    REQUIRE(c.read_answer().status > 0);
  }
  std::this_thread::sleep_for(100ms);
  const long threads = threads_of(d.pid());
  std::cout << "keep-alive: 1000 idle keep-alive connections, the daemon runs " << threads << " threads\n";
  CHECK(threads < 300); // idle connections hold no thread

  std::vector<in_flight> requests;
  for (int k = 0; k < 6; ++k) // whole intake batches, answered after the signal or just before
    requests.push_back({d.ops_port(), intake_bytes("stop-whole-" + std::to_string(k), 200, requested_at)});
  for (int k = 0; k < 4; ++k) { // bodies still arriving
    auto bytes = intake_bytes("stop-slow-" + std::to_string(k), 200, requested_at);
    requests.push_back({d.ops_port(), bytes, bytes.size() / 2});
  }
  for (int k = 0; k < callbacks; ++k) {
    auto bytes = callback_bytes(d, sid_of(k));
    requests.push_back({d.webhooks_port(), bytes, k % 2 == 0 ? bytes.size() : bytes.size() / 2});
  }
  const auto stalled_intake = intake_bytes("stop-stalled", 10, requested_at);
  requests.push_back({d.ops_port(), stalled_intake, stalled_intake.size() / 2, true});
  const auto stalled_callback = callback_bytes(d, sid_of(99));
  requests.push_back({d.webhooks_port(), stalled_callback, stalled_callback.size() / 2, true});

  std::vector<raw_connection> connections;
  for (auto& r : requests) {
    auto& c = connections.emplace_back(r.port);
    REQUIRE(c.send(std::string_view{r.bytes}.substr(0, r.before ? r.before : r.bytes.size())));
  }
  const auto signalled = steady::now();
  REQUIRE(::kill(d.pid(), SIGTERM) == 0);
  std::thread rest{[&] { // no Catch assertions here: answers are checked below
    std::this_thread::sleep_until(signalled + 300ms);
    for (std::size_t i = 0; i < requests.size(); ++i)
      if (requests[i].before && !requests[i].stalls)
        connections[i].send(std::string_view{requests[i].bytes}.substr(requests[i].before));
    for (std::size_t i = 0; i < requests.size(); ++i)
      requests[i].answer = connections[i].read_answer(4s);
  }};
  // Idle connections end at the signal, on both listeners, while the stalled requests still hold them open.
  std::this_thread::sleep_until(signalled + 500ms);
  std::size_t closed_at_once = 0;
  for (auto& c : idle)
    closed_at_once += wait_for_close(c, signalled + 500ms) != ending::open;
  const int exit_code = d.terminate(5s);
  const auto took = std::chrono::duration_cast<milliseconds>(steady::now() - signalled);
  rest.join();
  std::cout << "keep-alive: SIGTERM with 1000 idle connections and " << requests.size()
            << " requests in flight: exited in " << took.count() << " ms\n";
  INFO("daemon log:\n" << d.log());
  CHECK(exit_code == 0);
  CHECK(took <= (sanitized ? 2500ms : 2000ms)); // under the sanitizers, LeakSanitizer's check at exit comes on top

  int intake_accepted = 0;
  for (const auto& r : requests) {
    INFO(r.bytes.substr(0, 60) << " -> " << r.answer.head << "\n" << r.answer.body);
    if (r.stalls) {
      CHECK(r.answer.status == 503);
      CHECK(field_of(r.answer, "error") == "stopping");
      CHECK(r.answer.closed_after);
    } else {
      CHECK(r.answer.status == 200);
      if (r.port == d.ops_port())
        if (const auto accepted = field_of(r.answer, "accepted"); accepted.is_number())
          intake_accepted += accepted.get<int>();
    }
  }
  CHECK(intake_accepted == 10 * 200);
  CHECK(closed_at_once == idle.size());

  // What was acknowledged is there after a restart; the stalled requests left nothing.
  d.start();
  CHECK(ledger_int(d, "SELECT count(*) FROM sends WHERE send_id LIKE 'stop-whole-%' OR send_id LIKE "
                      "'stop-slow-%'") == intake_accepted);
  CHECK(ledger_int(d, "SELECT count(*) FROM sends WHERE send_id LIKE 'stop-stalled-%'") == 0);
  auto ops = d.ops_client();
  for (int i = 0; i < callbacks; ++i)
    CHECK(get_json(*ops, "/v1/sends/stop-cb-" + std::to_string(i))["status"] == "sent");
}
