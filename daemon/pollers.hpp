#pragma once
/// The polling vendor actors of the configured vendors, and the first-poll table the ledger schedules with.

#include <vector>

#include <caf/fwd.hpp>

#include "actors/counters.hpp"
#include "actors/poller_actor.hpp"
#include "config/config.hpp"

namespace deliveryd::daemon {

/// First poll of a new send, per polling vendor: Kakao `poll_interval` after registration, Twilio `poll_after`
/// after `requested_at`.
db::poll_table polls_of(const config::daemon_config& cfg);

/// Spawns a poller for each configured polling vendor (Kakao results, Twilio messages).
std::vector<actors::poller_actor> spawn_pollers(caf::actor_system& sys, const config::daemon_config& cfg,
                                                const core::zone& zone, db::reader_pool& readers,
                                                actors::ledger_actor ledger, actors::counters& stats,
                                                std::function<core::timestamp()> clock);

} // namespace deliveryd::daemon
