#pragma once
/// GET /metrics: the actors' counters, the pending sends and the process, in the Prometheus text exposition
/// format 0.0.4. The formatting is pure (values in, text out); reading /proc and the ledger is kept apart.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/backlog.hpp"
#include "actors/counters.hpp"
#include "db/ack_log.hpp"

namespace httplib {
class Server;
}

namespace deliveryd::daemon {

struct ops_deps;

/// The Content-Type of the exposition format.
inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Pending sends per vendor word, as db::ledger_reader::pending_by_vendor gives them.
using pending_counts = std::vector<std::pair<std::string, std::int64_t>>;

/// The process's own figures; each one nullopt when the system does not tell.
struct process_sample {
  std::optional<std::uint64_t> resident_bytes;     ///< resident set size
  std::optional<std::uint64_t> open_fds;           ///< open file descriptors
  std::optional<std::uint64_t> max_fds;            ///< the soft RLIMIT_NOFILE
  std::optional<double> start_time_seconds;        ///< when the process started, seconds since the epoch
};

/// Renders every metric, each with `# HELP` and `# TYPE`. Pending sends are left out (the family stays, without
/// samples) when `pending` is nullopt; process figures that are nullopt likewise, and the backlog's without `gate`.
std::string format_metrics(const actors::counters& stats, const std::optional<pending_counts>& pending,
                           const process_sample& process, const actors::backlog* gate = nullptr,
                           const db::ack_log* log = nullptr, const actors::backlog* log_gate = nullptr);

/// Microseconds as decimal seconds, exactly and without trailing zeros: 500 -> "0.0005", 2000000 -> "2".
std::string micros_as_seconds(std::uint64_t micros);

/// The resident set size from the text of /proc/self/statm (its second field, in pages); nullopt if unreadable.
std::optional<std::uint64_t> resident_bytes_of(std::string_view statm, std::uint64_t page_size);

/// The start time from /proc/self/stat (field 22, clock ticks after boot), given the ticks per second, the
/// time since boot and the time now; nullopt if unreadable.
std::optional<double> start_time_of(std::string_view stat, long ticks_per_second, double seconds_since_boot,
                                    double now_unix);

/// Reads resident memory and open descriptors from /proc/self (no other /proc file: the unit sets
/// ProcSubset=pid) and the descriptor limit; leaves the start time out.
process_sample sample_process();

/// When this process started, from /proc/self/stat and the boot-time clock; read once, it does not change.
std::optional<double> process_start_time();

/// Keeps the pending counts for a while: counting them reads every pending send's row, which is too much to do
/// on every scrape when a million are pending. One caller refreshes at a time; the others wait for its answer.
class pending_cache {
public:
  /// A cache whose value is refreshed once it is older than `ttl`.
  explicit pending_cache(std::chrono::steady_clock::duration ttl = std::chrono::seconds{10}) : ttl_{ttl} {}

  /// The cached counts, or those `query` gives when the cache is empty or stale at `now`. A failing query
  /// (nullopt) is not cached.
  std::optional<pending_counts> get(const std::function<std::optional<pending_counts>()>& query,
                                    std::chrono::steady_clock::time_point now);

private:
  std::chrono::steady_clock::duration ttl_;
  std::mutex mutex_;
  std::optional<pending_counts> value_;
  std::chrono::steady_clock::time_point taken_{};
};

/// Installs GET /metrics (the bearer check of the ops listener applies to it as to every other route).
void install_metrics_route(httplib::Server& server, std::shared_ptr<const ops_deps> deps);

} // namespace deliveryd::daemon
