#include "load_client.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace deliveryd::bench {

namespace {

double total(const std::map<std::string, double>& seconds) {
  double sum = 0;
  for (const auto& [name, s] : seconds)
    sum += s;
  return sum;
}

double thread_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size())
    return false;
  for (std::size_t k = 0; k < prefix.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(text[k])) != prefix[k])
      return false;
  return true;
}

/// The closed-loop client of one phase: `connections` keep-alive connections over `ports` on 127.0.0.1, one thread.
class load_client {
public:
  load_client(const std::vector<int>& ports, const std::vector<std::string>& requests, int connections,
              const on_answer& answer)
    : ports_{ports}, requests_{requests}, conns_(static_cast<std::size_t>(connections)), answer_{answer} {}

  phase_result run(const std::string& name, const std::vector<cpu_account>& accounts) {
    r_ = {};
    r_.name = name;
    r_.requests = requests_.size();
    r_.acked.assign(requests_.size(), 0);
    r_.latency_ms.reserve(requests_.size());
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    const double cpu0 = thread_cpu_seconds();
    std::vector<std::map<std::string, double>> before;
    for (const auto& a : accounts)
      before.push_back(a.read());
    const auto start = steady::now();
    for (std::size_t k = 0; k < conns_.size(); ++k)
      if (assign(conns_[k]))
        open(k);
    auto progress = steady::now();
    std::size_t seen = 0;
    std::array<epoll_event, 64> events{};
    while (done_ < requests_.size()) {
      const int n = ::epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
      for (int e = 0; e < n; ++e) {
        const auto k = static_cast<std::size_t>(events[e].data.u64 >> 32);
        const auto gen = static_cast<std::uint32_t>(events[e].data.u64);
        auto& c = conns_[k];
        if (c.fd < 0 || c.gen != gen)
          continue; // an event of a connection closed earlier in this batch
        if (events[e].events & (EPOLLOUT | EPOLLERR))
          writable(k);
        if (c.fd >= 0 && c.gen == gen && (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
          readable(k);
      }
      if (done_ != seen) {
        seen = done_;
        progress = steady::now();
      } else if (seconds_since(progress) > 120 || r_.unanswered > 100) {
        std::fprintf(stderr, "%s: %s; giving up on the %zu requests left\n", name.c_str(),
                     r_.unanswered > 100 ? "more than 100 requests got no answer" : "no answer for 120 s",
                     requests_.size() - done_);
        r_.unanswered += requests_.size() - done_;
        break;
      }
    }
    r_.wall = seconds_since(start);
    r_.gen_cpu = thread_cpu_seconds() - cpu0;
    for (std::size_t a = 0; a < accounts.size(); ++a) {
      const auto after = accounts[a].read();
      r_.cpu.push_back({accounts[a].label, total(after) - total(before[a]),
                        thread_cpu_text(before[a], after, r_.wall)});
    }
    for (std::size_t k = 0; k < conns_.size(); ++k)
      close(k);
    ::close(ep_);
    return std::move(r_);
  }

private:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  struct conn {
    int fd = -1;
    std::uint32_t gen = 0;
    bool connecting = false;
    bool want_out = false;
    std::size_t req = none;
    std::size_t written = 0;
    int attempts = 0;
    steady::time_point started;
    std::string in;
  };

  /// Gives the connection the next request; false when none is left.
  bool assign(conn& c) {
    if (next_ >= requests_.size())
      return false;
    c.req = next_++;
    c.written = 0;
    c.attempts = 0;
    c.started = steady::now();
    return true;
  }

  void open(std::size_t k) {
    auto& c = conns_[k];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(ports_[k % ports_.size()]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    c.connecting = rc != 0; // EINPROGRESS, or an error that SO_ERROR reports when it is writable
    c.written = 0;
    c.in.clear();
    ++c.gen;
    c.want_out = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = (static_cast<std::uint64_t>(k) << 32) | c.gen;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void close(std::size_t k) {
    auto& c = conns_[k];
    if (c.fd >= 0)
      ::close(c.fd); // also leaves the epoll set
    c.fd = -1;
  }

  void want_out(std::size_t k, bool on) {
    auto& c = conns_[k];
    if (c.want_out == on)
      return;
    c.want_out = on;
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u64 = (static_cast<std::uint64_t>(k) << 32) | c.gen;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void writable(std::size_t k) {
    auto& c = conns_[k];
    if (c.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0)
        return broken(k, std::strerror(err));
      c.connecting = false;
    }
    if (c.req == none) {
      want_out(k, false);
      return;
    }
    write_more(k);
  }

  void write_more(std::size_t k) {
    auto& c = conns_[k];
    const auto& request = requests_[c.req];
    while (c.written < request.size()) {
      const auto n = ::send(c.fd, request.data() + c.written, request.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        want_out(k, true);
        return;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        return broken(k, std::strerror(errno));
      }
    }
    want_out(k, false);
  }

  void readable(std::size_t k) {
    auto& c = conns_[k];
    char buffer[65536];
    bool closed = false;
    const char* why = "closed by the server";
    for (;;) {
      const auto n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.append(buffer, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof buffer)
          break;
      } else if (n == 0) {
        closed = true;
        break;
      } else if (errno == EINTR) {
        continue;
      } else {
        closed = errno != EAGAIN && errno != EWOULDBLOCK;
        why = std::strerror(errno);
        break;
      }
    }
    const auto gen = c.gen;
    parse(k);
    if (closed && c.gen == gen && c.fd >= 0)
      broken(k, why);
  }

  /// Reads one whole answer from the buffer if there is one, then moves the connection on.
  void parse(std::size_t k) {
    auto& c = conns_[k];
    const auto head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos || c.req == none)
      return;
    const std::string_view head{c.in.data(), head_end};
    int status = 0;
    if (head.size() > 12 && head.starts_with("HTTP/1."))
      status = std::atoi(c.in.c_str() + 9);
    std::size_t length = 0;
    bool close_after = false;
    for (auto pos = head.find("\r\n"); pos != std::string_view::npos;) {
      const auto next = head.find("\r\n", pos + 2);
      const auto line = head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
      if (iequals_prefix(line, "content-length:"))
        length = std::strtoul(std::string{line.substr(15)}.c_str(), nullptr, 10);
      else if (iequals_prefix(line, "connection:") && line.find("close") != std::string_view::npos)
        close_after = true;
      pos = next;
    }
    const auto total = head_end + 4 + length;
    if (c.in.size() < total)
      return;
    record(c, status, std::string_view{c.in}.substr(head_end + 4, length), head.substr(0, head.find("\r\n")));
    c.in.erase(0, total);
    const bool more = assign(c);
    if (close_after) {
      close(k);
      if (more) {
        ++r_.reconnects;
        open(k);
      }
    } else if (more) {
      write_more(k);
    } else {
      close(k);
    }
  }

  void record(conn& c, int status, std::string_view body, std::string_view status_line) {
    r_.latency_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - c.started).count());
    if (status >= 200 && status < 300) {
      ++r_.ok;
      r_.acked[c.req] = 1;
    } else {
      if (r_.non2xx++ < 3)
        std::fprintf(stderr, "%s: request %zu answered %.*s: %.*s\n", r_.name.c_str(), c.req,
                     static_cast<int>(status_line.size()), status_line.data(),
                     static_cast<int>(std::min<std::size_t>(body.size(), 500)), body.data());
    }
    if (answer_)
      answer_(c.req, status, body);
    c.req = none;
    ++done_;
  }

  /// The connection broke (refused, reset, closed) without a whole answer: write its request again on a new
  /// connection, at most 3 times.
  void broken(std::size_t k, const char* why) {
    auto& c = conns_[k];
    close(k);
    if (c.req != none) {
      if (r_.retries < 3)
        std::fprintf(stderr, "%s: connection %zu broke (%s) %.0f ms into request %zu, %zu of %zu bytes written, "
                     "%zu bytes of an answer read; writing it again\n", r_.name.c_str(), k, why,
                     std::chrono::duration<double, std::milli>(steady::now() - c.started).count(), c.req, c.written,
                     requests_[c.req].size(), c.in.size());
      ++r_.retries;
      if (++c.attempts > 3) {
        ++r_.unanswered;
        ++done_;
        c.req = none;
      } else {
        c.written = 0;
      }
    }
    if (c.req == none && !assign(c))
      return;
    ++r_.reconnects;
    open(k);
  }

  const std::vector<int>& ports_;
  const std::vector<std::string>& requests_;
  std::vector<conn> conns_;
  const on_answer& answer_;
  int ep_ = -1;
  std::size_t next_ = 0;
  std::size_t done_ = 0;
  phase_result r_;
};

} // namespace

cpu_account process_account(std::string label, pid_t pid) {
  return {std::move(label), [pid] { return cpu_seconds_by_thread(pid); }};
}

double phase_result::cpu_of(std::string_view prefix) const {
  double sum = 0;
  for (const auto& a : cpu)
    if (a.label.starts_with(prefix))
      sum += a.seconds;
  return sum;
}

phase_result run_phase(const std::string& name, const std::vector<int>& ports,
                       const std::vector<std::string>& requests, int connections,
                       const std::vector<cpu_account>& accounts, const on_answer& answer) {
  return load_client{ports, requests, connections, answer}.run(name, accounts);
}

void print_phase(const phase_result& r, const char* unit, double per_request) {
  const auto slow = std::count_if(r.latency_ms.begin(), r.latency_ms.end(), [](double ms) { return ms >= 1000; });
  std::printf("%s: %zu requests in %.2f s: %.0f %s/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms, %zd >= 1 s; "
              "2xx %zu, non-2xx %zu, unanswered %zu, retries %zu, reconnects %zu; generator CPU %.0f %%, "
              "server CPU %.0f %% (of one core)\n",
              r.name.c_str(), r.requests, r.wall, r.rate() * per_request, unit, r.p(50), r.p(99), r.p(100), slow, r.ok,
              r.non2xx, r.unanswered, r.retries, r.reconnects, 100 * r.gen_cpu / r.wall,
              100 * r.cpu_of() / r.wall);
  for (const auto& a : r.cpu)
    std::printf("  %s: %s\n", a.label.c_str(), a.threads.c_str());
  std::fflush(stdout);
}

} // namespace deliveryd::bench
