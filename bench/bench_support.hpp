#pragma once
/// What the benchmarks share: starting the built daemon (or any helper process) and stopping it, its RSS and
/// CPU time from /proc, the result table printed against the targets, and reading the command line.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace deliveryd::bench {

using steady = std::chrono::steady_clock;

/// Seconds elapsed since `start`.
double seconds_since(steady::time_point start);

/// A child process, stopped with SIGTERM (and reaped) when it goes out of scope.
struct daemon_process {
  pid_t pid = -1;
  double startup_seconds = 0; ///< from fork until it answered GET /healthz 200
  daemon_process() = default;
  daemon_process(daemon_process&& other) noexcept;
  daemon_process& operator=(daemon_process&&) = delete;
  ~daemon_process() { stop(); }
  /// SIGTERM, then waits for the exit. Does nothing once stopped.
  void stop();
};

/// Forks and execs `argv` (argv[0] is the program's path) with stdout and stderr going to `log_path`, then waits
/// (up to 300 s) until GET /healthz on 127.0.0.1:`health_port` answers 200. Prints what happened (`what` names
/// the process); nullopt when it exited or did not answer in time.
std::optional<daemon_process> start_process(const std::vector<std::string>& argv, const std::string& log_path,
                                            int health_port, const char* what);

/// Starts `binary --config config_path` (the daemon) as `start_process` does.
std::optional<daemon_process> start_daemon(const std::string& binary, const std::string& config_path,
                                           const std::string& log_path, int health_port);

/// VmRSS of `pid` in KiB (0 when it cannot be read).
long rss_kb(pid_t pid);

/// utime + stime of `pid` (every thread of the process) in seconds, from /proc/pid/stat; 0 when unreadable.
double cpu_seconds(pid_t pid);

/// Time on a CPU in seconds of each of `pid`'s live threads, summed per thread name (/proc/pid/task/*/comm), with
/// CAF's own threads (caf.*) as one "caf". A thread that ended is missing from the next reading.
std::map<std::string, double> cpu_seconds_by_thread(pid_t pid);

/// `after - before` of two such readings, per name, as "name 80 %, ..." (% of one core over `wall` seconds),
/// largest first; names under 1 % are summed as "other".
std::string thread_cpu_text(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                            double wall);

/// Samples the process's VmRSS every 50 ms while alive; `peak` is the highest.
struct rss_watch {
  /// A constructor, not aggregate initialisation: list::emplace_back needs one under clang 14, which lacks C++20's
  /// parenthesised aggregate initialisation.
  explicit rss_watch(pid_t watched) : pid{watched} {}
  pid_t pid;
  long baseline = rss_kb(pid);
  std::atomic<long> peak{baseline};
  std::atomic<bool> stop{false};
  std::thread sampler{[this] {
    while (!stop) {
      const long now = rss_kb(pid);
      long seen = peak;
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
  }};
  ~rss_watch() { finish(); }
  /// Stops sampling (one last sample is taken).
  void finish();
};

/// The `p`th percentile (nearest rank) of `v`; 0 when empty.
double percentile(std::vector<double> v, double p);

/// printf of one number into a string.
std::string fmt(const char* f, double v);

/// One line of a result table: a measure, its value, the target and whether it was met (none: no target).
struct row {
  std::string name;
  std::string value;
  std::string target;
  std::optional<bool> pass;
};

/// Prints the table (measure / value / target / PASS|MISS); true when no row missed its target.
bool print_table(const std::vector<row>& table);

/// Walks a command line: `next()` gives each argument in turn, `value()` the one after it. A missing value prints
/// the usage and exits 2.
class arguments {
public:
  arguments(int argc, char** argv, void (*usage)()) : argc_{argc}, argv_{argv}, usage_{usage} {}

  /// The next argument; nullopt after the last.
  std::optional<std::string_view> next() {
    if (++i_ >= argc_)
      return std::nullopt;
    return std::string_view{argv_[i_]};
  }

  /// The value of the option just read.
  std::string value() {
    if (i_ + 1 >= argc_) {
      usage_();
      std::exit(2);
    }
    return argv_[++i_];
  }

private:
  int argc_;
  char** argv_;
  void (*usage_)();
  int i_ = 0;
};

} // namespace deliveryd::bench
