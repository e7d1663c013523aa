#pragma once
/// The ingest benchmark's load generator: one thread, epoll, non-blocking sockets with TCP_NODELAY, a fixed number
/// of keep-alive connections to 127.0.0.1, each writing its next pre-built request as soon as the previous answer
/// is read (closed loop). It runs on the same cores as the servers it loads; its own CPU time and theirs (per
/// thread or role name) are measured per phase so that they can be accounted for. A request's latency runs from
/// the moment a connection takes it to the end of its answer, so it includes reconnecting after the server's
/// Connection: close (cpp-httplib closes a keep-alive connection after 1000 requests) and any SYN retransmission.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "bench_support.hpp"

namespace deliveryd::bench {

/// A process, or a group of processes, whose CPU a phase reports: its seconds on a CPU so far per thread (or role)
/// name. A thread or process that ends during a phase is missing from the phase's figure.
struct cpu_account {
  std::string label; ///< what the printed line calls it ("server threads", "daemon 2 threads", "postgres processes")
  std::function<std::map<std::string, double>()> read;
};

/// The threads of process `pid` (cpu_seconds_by_thread), as `label`.
cpu_account process_account(std::string label, pid_t pid);

/// What one account used during a phase.
struct account_cpu {
  std::string label;
  double seconds = 0;  ///< on a CPU, every thread
  std::string threads; ///< per thread name, as thread_cpu_text gives it
};

/// What one phase measured.
struct phase_result {
  std::string name;
  std::size_t requests = 0;
  std::size_t ok = 0;         ///< 2xx answers
  std::size_t non2xx = 0;     ///< answered, not 2xx
  std::size_t unanswered = 0; ///< no answer after retries
  std::size_t retries = 0;    ///< requests written again after their connection broke without an answer
  std::size_t reconnects = 0; ///< connections opened again (the server's Connection: close, or a break)
  double wall = 0;
  double gen_cpu = 0;            ///< seconds of the generator thread
  std::vector<account_cpu> cpu;  ///< the loaded processes', one per account
  std::vector<double> latency_ms;
  std::vector<std::uint8_t> acked; ///< per request: a 2xx came

  double rate() const { return wall > 0 ? static_cast<double>(requests) / wall : 0; }
  double p(double q) const { return percentile(latency_ms, q); }
  /// Seconds on a CPU of the accounts whose label starts with `prefix` ("" : all of them).
  double cpu_of(std::string_view prefix = {}) const;
};

/// Called for every answer: request index, status, body.
using on_answer = std::function<void(std::size_t, int, std::string_view)>;

/// Sends every request of `requests` once (again after a broken connection, up to 3 times) over `connections`
/// connections, connection k to 127.0.0.1:ports[k % ports.size()], and measures the phase; `accounts` are read
/// before and after it. Gives up when nothing is answered for 120 s.
phase_result run_phase(const std::string& name, const std::vector<int>& ports,
                       const std::vector<std::string>& requests, int connections,
                       const std::vector<cpu_account>& accounts, const on_answer& answer = {});

/// Prints a phase in one paragraph: rate (of `unit`, `per_request` of them per request), latency, answers, CPU.
void print_phase(const phase_result& r, const char* unit = "req", double per_request = 1);

} // namespace deliveryd::bench
