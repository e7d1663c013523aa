#pragma once
/// The Twilio vendor actor.

#include <functional>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "db/ack_log.hpp"
#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"

namespace deliveryd::actors {

/// What the Twilio actor needs: its secrets, the ledger and the counters.
struct twilio_deps {
  std::string auth_token;                       ///< key of X-Twilio-Signature
  std::optional<std::string> webhook_shared_key;///< key of the HMAC-SHA256 rule signature, if configured
  ledger_actor ledger;
  counters* stats = nullptr;                    ///< the daemon's counters; they outlive the actor
  backlog* gate = nullptr;   ///< the bound on the ledger's backlog (none when null); it outlives the actor
  db::ack_log* log = nullptr; ///< the ack log in front of the ledger, when it has one; it outlives the actor
};

/// Spawns the Twilio actor (cooperative: it only verifies, parses and maps, all in memory).
twilio_actor spawn_twilio(caf::actor_system& sys, twilio_deps deps);

} // namespace deliveryd::actors
