#pragma once
/// The SMS carrier vendor actor: Jasmin-style HTTP DLRs and Korean aggregator reports (docs/vendors.md#carrier).

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

/// The header that may carry the shared carrier token (the query parameter `token` may too).
inline constexpr std::string_view carrier_token_header = "X-Carrier-Token";

/// The request headers the carrier actor reads (the listener copies these into the job).
inline constexpr std::array<std::string_view, 1> carrier_headers{carrier_token_header};

/// The body Jasmin needs to stop resending a DLR.
inline constexpr std::string_view jasmin_ack = "ACK/Jasmin";

/// What the carrier actor needs: the shared token, the zone of zone-less DLR dates, the ledger and the counters.
struct carrier_deps {
  std::string token;         ///< [carrier] token
  core::zone zone;           ///< [time] zone: Jasmin's `donedate` (YYMMDDhhmm) is read in it
  ledger_actor ledger;
  counters* stats = nullptr; ///< the daemon's counters; they outlive the actor
  backlog* gate = nullptr;   ///< the bound on the ledger's backlog (none when null); it outlives the actor
  db::ack_log* log = nullptr; ///< the ack log in front of the ledger, when it has one; it outlives the actor
};

/// Spawns the carrier actor (cooperative: it only checks, parses and maps, all in memory).
carrier_actor spawn_carrier(caf::actor_system& sys, carrier_deps deps);

} // namespace deliveryd::actors
