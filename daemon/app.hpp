#pragma once
/// The daemon's life: open the ledger, spawn and wire the actors, serve both listeners, drain on SIGTERM.

#include "config/config.hpp"

namespace deliveryd::daemon {

/// The exit code after a sync of the ledger failed (EX_TEMPFAIL): the daemon stopped so that its next start reads
/// the ledger from what the disk holds; systemd starts it again (Restart=on-failure).
inline constexpr int exit_durability_lost = 75;

/// Runs until SIGTERM or SIGINT, or until a sync of the ledger fails; returns the process exit code (0 after a
/// clean drain, exit_durability_lost, 1 when it cannot start).
int run(const config::daemon_config& cfg);

} // namespace deliveryd::daemon
