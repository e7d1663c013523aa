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

/// Every vendor's counters.
class counters {
public:
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
