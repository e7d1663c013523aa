#pragma once
/// Per-vendor counters that the actors bump and the metrics endpoint reads. Plain relaxed atomics: each is
/// written by the actor that owns the event, read by anyone, and never used to make a decision.

#include <array>
#include <atomic>
#include <cstdint>

#include "core/words.hpp"

namespace deliveryd::actors {

/// The counters of one vendor.
struct vendor_counters {
  std::atomic<std::uint64_t> events_received{0}; ///< usable events handed to the ledger (webhook or poll)
  std::atomic<std::uint64_t> events_stored{0};   ///< of those, committed as new (applied or held)
  std::atomic<std::uint64_t> duplicates{0};      ///< of those, already stored (same dedupe key)
  std::atomic<std::uint64_t> unusable{0};        ///< batch items that could not be used
  std::atomic<std::uint64_t> bad_signatures{0};  ///< requests refused by authentication (403)
  std::atomic<std::uint64_t> malformed{0};       ///< requests refused as unreadable (400)
  std::atomic<std::uint64_t> polls{0};           ///< outbound status fetches that got an answer
  std::atomic<std::uint64_t> poll_errors{0};     ///< fetches that failed (timeout, 5xx, 429, unreadable)
  std::atomic<std::uint64_t> poll_not_found{0};  ///< fetches answered 404
  std::atomic<std::uint64_t> deadlines_fired{0}; ///< sends that became uncertain (ME09) at their deadline
};

/// Upper bounds (in microseconds) of the commit-latency histogram's buckets; the last bucket is +Inf.
inline constexpr std::array<std::uint64_t, 10> commit_latency_bounds_us = {
  500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

/// The ledger's counters: group commits, their sizes and latencies, the queue, the purge.
struct ledger_counters {
  std::atomic<std::uint64_t> commits{0};          ///< successful group transactions
  std::atomic<std::uint64_t> commit_failures{0};  ///< failed ones (every job in them answered 503)
  std::atomic<std::uint64_t> jobs_committed{0};   ///< jobs answered after a successful commit (sum of batch sizes)
  std::atomic<std::uint64_t> commit_us_sum{0};    ///< total time spent in successful commits, microseconds
  /// Commits by latency: bucket i counts commits that took at most commit_latency_bounds_us[i] (cumulative in
  /// the exposition, not here); the extra last bucket counts the slower ones.
  std::array<std::atomic<std::uint64_t>, commit_latency_bounds_us.size() + 1> commit_us_buckets{};
  std::atomic<std::uint64_t> queue_depth{0};      ///< jobs waiting for the next commit (a gauge)
  std::atomic<std::uint64_t> purged_sends{0};     ///< sends removed by retention
  std::atomic<std::uint64_t> purged_events{0};    ///< events removed by retention
  std::atomic<std::uint64_t> intake_accepted{0};  ///< sends registered
  std::atomic<std::uint64_t> intake_duplicates{0};
  std::atomic<std::uint64_t> intake_updated{0};
  std::atomic<std::uint64_t> intake_rejected{0};
  std::atomic<std::uint64_t> log_records_applied{0}; ///< ack log records (webhook requests) applied to the ledger
  std::atomic<std::uint64_t> log_events_applied{0};  ///< their events
};

/// Every vendor's counters, and the ledger's.
class counters {
public:
  /// The ledger's counters.
  ledger_counters ledger;

  /// The counters of `v`.
  vendor_counters& of(core::vendor v) noexcept { return by_vendor_[static_cast<std::size_t>(v)]; }
  /// The counters of `v`, read-only.
  const vendor_counters& of(core::vendor v) const noexcept { return by_vendor_[static_cast<std::size_t>(v)]; }

private:
  std::array<vendor_counters, 4> by_vendor_;
};

/// Adds `n` to a counter (relaxed: counters order nothing).
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.fetch_add(n, std::memory_order_relaxed);
}

} // namespace deliveryd::actors
