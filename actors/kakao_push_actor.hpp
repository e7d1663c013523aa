#pragma once
/// The Kakao push actor: Alimtalk results that a dealer pushes to POST /webhooks/kakao
/// (docs/vendors.md#kakao-pushed-results).

#include <array>
#include <string>
#include <string_view>

#include <caf/fwd.hpp>

#include "db/ack_log.hpp"
#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"
#include "core/time.hpp"

namespace deliveryd::actors {

/// The header that may carry the push token (the query parameter `token` may too).
inline constexpr std::string_view kakao_token_header = "X-Kakao-Token";

/// The request headers the Kakao push actor reads (the listener copies these into the job).
inline constexpr std::array<std::string_view, 1> kakao_push_headers{kakao_token_header};

/// What the Kakao push actor needs: the push token, the zone of local times, the ledger and the counters.
struct kakao_push_deps {
  std::string push_token;    ///< [kakao] push_token
  core::zone zone;           ///< [time] zone: a SENS local `done_at` is read in it
  ledger_actor ledger;
  counters* stats = nullptr; ///< the daemon's counters; they outlive the actor
  backlog* gate = nullptr;   ///< the bound on the ledger's backlog (none when null); it outlives the actor
  db::ack_log* log = nullptr; ///< the ack log in front of the ledger, when it has one; it outlives the actor
};

/// Spawns the Kakao push actor (cooperative: it only checks, parses and maps, all in memory).
kakao_push_actor spawn_kakao_push(caf::actor_system& sys, kakao_push_deps deps);

} // namespace deliveryd::actors
