#include "core/polling.hpp"

#include <algorithm>
#include <cmath>

namespace deliveryd::core {

std::chrono::milliseconds backoff(std::chrono::milliseconds base, int attempts, double unit) noexcept {
  const int doublings = std::clamp(attempts - 1, 0, 30);
  const double raw = static_cast<double>(base.count()) * std::ldexp(1.0, doublings);
  const double capped = std::min(raw, static_cast<double>(max_poll_delay.count()));
  const double jitter = 1.0 + 0.4 * (std::clamp(unit, 0.0, 1.0) - 0.5); // 0.8 .. 1.2
  return std::chrono::milliseconds{static_cast<std::int64_t>(capped * jitter)};
}

namespace {

poll_plan back_off(std::chrono::milliseconds base, int attempts, timestamp now, double unit) noexcept {
  const int next_attempt = attempts + 1;
  return {now + backoff(base, next_attempt, unit), next_attempt};
}

} // namespace

poll_plan plan_kakao(poll_outcome outcome, int attempts, timestamp requested_at, timestamp now,
                     std::chrono::milliseconds interval, std::chrono::milliseconds recheck_window,
                     double unit) noexcept {
  if (outcome == poll_outcome::final_result)
    return {std::nullopt, 0};
  // Past the re-check window nothing is polled again, whatever the last answer: the deadline has long made
  // the send uncertain, and the dealer keeps results only for so long.
  if (now >= requested_at + recheck_window)
    return {std::nullopt, attempts};
  switch (outcome) {
    case poll_outcome::final_result:
      break; // handled above
    case poll_outcome::pending:
      return {now + interval, 0};
    case poll_outcome::uncertain:
      return back_off(interval, attempts, now, unit);
    case poll_outcome::error:
    case poll_outcome::not_found:
      break;
  }
  return back_off(interval, attempts, now, unit);
}

poll_plan plan_twilio(poll_outcome outcome, bool send_final, bool priced, int attempts, timestamp requested_at,
                      timestamp now, std::chrono::milliseconds base, std::chrono::milliseconds price_window,
                      std::chrono::milliseconds give_up_after, double unit) noexcept {
  // A send the ledger already holds as final only waits for its price, whatever this fetch got.
  const bool final = outcome == poll_outcome::final_result || send_final;
  if (final && (priced || now >= requested_at + price_window))
    return {std::nullopt, 0};
  if (!final && now >= requested_at + give_up_after)
    return {std::nullopt, attempts};
  return back_off(base, attempts, now, unit);
}

} // namespace deliveryd::core
