#include "bench_support.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

namespace deliveryd::bench {

using namespace std::chrono_literals;

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

daemon_process::daemon_process(daemon_process&& other) noexcept
  : pid{std::exchange(other.pid, -1)}, startup_seconds{other.startup_seconds} {}

void daemon_process::stop() {
  if (pid <= 0)
    return;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

std::optional<daemon_process> start_process(const std::vector<std::string>& argv, const std::string& log_path,
                                            int health_port, const char* what) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  daemon_process d;
  const auto start = steady::now();
  d.pid = ::fork();
  if (d.pid == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (d.pid < 0)
    return std::nullopt;
  httplib::Client client{"127.0.0.1", health_port};
  client.set_connection_timeout(1s);
  while (seconds_since(start) < 300) {
    int status = 0;
    if (::waitpid(d.pid, &status, WNOHANG) == d.pid) {
      std::fprintf(stderr, "the %s exited at start; see %s\n", what, log_path.c_str());
      d.pid = -1;
      return std::nullopt;
    }
    if (auto res = client.Get("/healthz"); res && res->status == 200) {
      d.startup_seconds = seconds_since(start);
      std::printf("%s %s up (pid %d) in %.1f s; log %s\n", what, argv[0].c_str(), d.pid, d.startup_seconds,
                  log_path.c_str());
      std::fflush(stdout);
      return std::optional<daemon_process>{std::move(d)};
    }
    std::this_thread::sleep_for(200ms);
  }
  std::fprintf(stderr, "the %s did not answer /healthz in 300 s; see %s\n", what, log_path.c_str());
  return std::nullopt; // d's destructor stops it
}

std::optional<daemon_process> start_daemon(const std::string& binary, const std::string& config_path,
                                           const std::string& log_path, int health_port) {
  return start_process({binary, "--config", config_path}, log_path, health_port, "daemon");
}

long rss_kb(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return 0;
}

namespace {

/// utime + stime of a /proc .../stat file, in seconds; 0 when unreadable.
double stat_cpu_seconds(const std::string& path) {
  std::ifstream in{path};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields{text.substr(close + 1)};
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int n = 3; n <= 15 && fields >> field; ++n) { // field 3 is the state; 14 utime, 15 stime (clock ticks)
    if (n == 14)
      utime = std::strtoull(field.c_str(), nullptr, 10);
    else if (n == 15)
      stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace

double cpu_seconds(pid_t pid) { return stat_cpu_seconds("/proc/" + std::to_string(pid) + "/stat"); }

std::map<std::string, double> cpu_seconds_by_thread(pid_t pid) {
  std::map<std::string, double> out;
  const std::filesystem::path tasks{"/proc/" + std::to_string(pid) + "/task"};
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator{tasks, ec}) {
    std::ifstream comm{task.path() / "comm"};
    std::string name;
    if (!std::getline(comm, name))
      continue; // ended since the directory was read
    if (name.rfind("caf.", 0) == 0)
      name = "caf";
    // schedstat's first field is the thread's time on a CPU in ns; stat's clock ticks (10 ms) would lose most of
    // a short phase to rounding across dozens of listener threads.
    std::ifstream sched{task.path() / "schedstat"};
    unsigned long long ns = 0;
    out[name] += sched >> ns ? static_cast<double>(ns) / 1e9 : stat_cpu_seconds(task.path() / "stat");
  }
  return out;
}

std::string thread_cpu_text(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                            double wall) {
  std::vector<std::pair<double, std::string>> shares;
  double other = 0;
  for (const auto& [name, seconds] : after) {
    const auto was = before.find(name);
    const double pct = wall > 0 ? 100 * (seconds - (was == before.end() ? 0 : was->second)) / wall : 0;
    if (pct >= 1)
      shares.emplace_back(pct, name);
    else if (pct > 0)
      other += pct;
  }
  std::sort(shares.begin(), shares.end(), std::greater<>{});
  std::string text;
  char part[96];
  for (const auto& [pct, name] : shares) {
    std::snprintf(part, sizeof part, "%s%s %.0f %%", text.empty() ? "" : ", ", name.c_str(), pct);
    text += part;
  }
  if (other >= 0.5) {
    std::snprintf(part, sizeof part, "%sother %.0f %%", text.empty() ? "" : ", ", other);
    text += part;
  }
  return text;
}

void rss_watch::finish() {
  stop = true;
  if (sampler.joinable())
    sampler.join();
  const long last = rss_kb(pid);
  if (last > peak)
    peak = last;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

std::string fmt(const char* f, double v) {
  char text[64];
  std::snprintf(text, sizeof text, f, v);
  return text;
}

bool print_table(const std::vector<row>& table) {
  std::printf("%-34s %-26s %-18s %s\n", "measure", "value", "target", "");
  std::printf("%s\n", std::string(84, '-').c_str());
  bool all_pass = true;
  for (const auto& r : table) {
    std::printf("%-34s %-26s %-18s %s\n", r.name.c_str(), r.value.c_str(), r.target.c_str(),
                r.pass ? (*r.pass ? "PASS" : "MISS") : "");
    if (r.pass && !*r.pass)
      all_pass = false;
  }
  std::fflush(stdout);
  return all_pass;
}

} // namespace deliveryd::bench
