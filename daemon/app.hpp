#pragma once
/// The daemon's life: open the ledger, spawn and wire the actors, serve both listeners, drain on SIGTERM.

#include "config/config.hpp"

namespace deliveryd::daemon {

/// Runs until SIGTERM or SIGINT; returns the process exit code (0 after a clean drain).
int run(const config::daemon_config& cfg);

} // namespace deliveryd::daemon
