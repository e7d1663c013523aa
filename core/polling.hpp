#pragma once
/// When a polling vendor actor fetches a send again: the contract's pacing and back-off, as pure functions.

#include <chrono>
#include <optional>

#include "core/time.hpp"
#include "core/words.hpp"

namespace deliveryd::core {

/// What one fetch of a send's status found.
enum class poll_outcome {
  final_result, ///< delivered or failed: nothing more will change
  uncertain,    ///< success uncertain (Kakao 3005): re-checked until the vendor's window closes
  pending,      ///< accepted, no result yet
  error,        ///< timeout, 5xx, 429 or an unreadable answer
  not_found,    ///< 404: the vendor does not know the message (yet); never a failure by itself
};

/// The next fetch of a send (nullopt: stop polling it) and the back-off step it is on.
struct poll_plan {
  std::optional<timestamp> next;
  int attempts = 0;
};

/// True when a send of `vendor` that reaches `s` is not fetched again, whatever brought the state (a webhook, a
/// poll, the deadline): a Kakao send that is sent, failed or excluded. An uncertain Kakao send is re-checked
/// (plan_kakao); Twilio goes on fetching a final send until its price is known (plan_twilio), so no state stops
/// it here. Every storage back end applies this when it writes a send's state.
constexpr bool state_stops_polling(vendor v, status s) noexcept {
  return v == vendor::kakao && (s == status::sent || s == status::failed || s == status::excluded);
}

/// The longest delay between two fetches of one send.
inline constexpr std::chrono::milliseconds max_poll_delay = std::chrono::hours{1};

/// Exponential back-off: `base` × 2^(attempts − 1), capped at `max_poll_delay`, then jittered by at most ±20 %
/// with `unit` drawn uniformly from [0, 1) (0.5 is no jitter). `attempts` counts from 1.
std::chrono::milliseconds backoff(std::chrono::milliseconds base, int attempts, double unit) noexcept;

/// Kakao (SENS): pending again after `interval`; an error or 404 backs off from `interval`; an uncertain
/// result is re-checked with the same back-off; a final result stops, and so does everything once
/// `recheck_window` after `requested_at` has passed.
poll_plan plan_kakao(poll_outcome outcome, int attempts, timestamp requested_at, timestamp now,
                     std::chrono::milliseconds interval, std::chrono::milliseconds recheck_window,
                     double unit) noexcept;

/// Twilio: a final result (or a send the ledger already holds as final, `send_final`) stops once its price is
/// known or `price_window` after `requested_at` has passed; anything else backs off from `base` until
/// `give_up_after` after `requested_at` (the vendor's deadline).
poll_plan plan_twilio(poll_outcome outcome, bool send_final, bool priced, int attempts, timestamp requested_at,
                      timestamp now,
                      std::chrono::milliseconds base, std::chrono::milliseconds price_window,
                      std::chrono::milliseconds give_up_after, double unit) noexcept;

} // namespace deliveryd::core
