#pragma once
/// The bound between the listeners and the ledger.
///
/// Every webhook and intake request is answered only after its commit, so the work the ledger has been handed
/// and not yet answered is the latency every new request will see. A burst beyond what the ledger commits would
/// grow it without limit: memory grows, answers come later and later, and vendors time out and resend, which
/// makes it worse. The backlog counts items (sends and events) from hand-off to answer; past its limit, listeners
/// answer 503 with Retry-After at once, before doing the work, and nothing already admitted is dropped.
///
/// Intake may fill only three quarters of it: the pipeline retries a 503 (the contract says so), while a vendor
/// may give up on a callback, so under an intake burst vendor events keep a reserve and are still taken.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace deliveryd::actors {

/// Items handed to the ledger and not yet answered, with a limit. Lock-free; shared by every listener thread
/// and vendor actor, read by /metrics.
class backlog {
public:
  /// Who asks: vendor events may use the whole limit, intake three quarters of it.
  enum class source { vendor, intake };

  /// The default limit: under a second of the ledger's work on the 2-core host (tests/integration/overload_test).
  static constexpr std::size_t default_limit = 20000;

  explicit backlog(std::size_t limit = default_limit) noexcept : limit_{limit} {}

  /// True when the backlog is at or past what `who` may fill: a request arriving now is refused before it is
  /// parsed.
  bool full(source who = source::vendor) const noexcept {
    return items_.load(std::memory_order_relaxed) >= ceiling(who);
  }

  /// Admits `n` items: true (and counted) when they fit within what `who` may fill, or when nothing is in the
  /// backlog (a single request larger than the limit still goes through, alone). False counts a refusal.
  bool try_admit(std::size_t n, source who = source::vendor) noexcept {
    const auto top = ceiling(who);
    auto now = items_.load(std::memory_order_relaxed);
    do {
      if (now != 0 && now + n > top) {
        refusals_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    } while (!items_.compare_exchange_weak(now, now + n, std::memory_order_relaxed));
    return true;
  }

  /// Admits `n` items whatever the backlog holds: for requests that waited for room before they were parsed.
  void admit(std::size_t n) noexcept { items_.fetch_add(n, std::memory_order_relaxed); }
  /// Counts a request refused because full() said so.
  void refused() noexcept { refusals_.fetch_add(1, std::memory_order_relaxed); }

  /// The ledger answered `n` admitted items.
  void release(std::size_t n) noexcept {
    items_.fetch_sub(n, std::memory_order_relaxed);
    if (waiting_.load(std::memory_order_acquire) > 0) {
      std::lock_guard lock{mutex_};
      room_.notify_all();
    }
  }
  /// Waits up to `within` until the backlog is below what `who` may fill; false when it stayed full (the caller
  /// refuses, and counts it with refused()). For a listener thread, never for an actor.
  bool wait_for_room(std::chrono::milliseconds within, source who = source::vendor) {
    if (!full(who))
      return true;
    std::unique_lock lock{mutex_};
    waiting_.fetch_add(1, std::memory_order_acq_rel);
    const bool room = room_.wait_for(lock, within, [&] { return !full(who); });
    waiting_.fetch_sub(1, std::memory_order_acq_rel);
    return room;
  }

  /// Items in the backlog now.
  std::size_t items() const noexcept { return items_.load(std::memory_order_relaxed); }
  /// The limit.
  std::size_t limit() const noexcept { return limit_; }
  /// Requests refused so far (503 overloaded).
  std::uint64_t refusals() const noexcept { return refusals_.load(std::memory_order_relaxed); }

private:
  /// What `who` may fill.
  std::size_t ceiling(source who) const noexcept { return who == source::intake ? limit_ / 4 * 3 : limit_; }

  const std::size_t limit_;
  std::atomic<std::size_t> items_{0};
  std::atomic<std::uint64_t> refusals_{0};
  std::atomic<int> waiting_{0}; ///< threads in wait_for_room
  std::mutex mutex_;
  std::condition_variable room_;
};

} // namespace deliveryd::actors
