#pragma once
/// `deliveryctl copy-ledger --from PATH`: reads [storage] of deliveryd's configuration (and nothing else of it) and
/// copies an SQLite ledger into that PostgreSQL ledger (db/copy_ledger.hpp), telling on the error stream how far
/// it has come. The one command that talks to the database instead of the ops listener.

#include <cstdint>
#include <string>

#include "ctl/args.hpp"
#include "ctl/commands.hpp"

namespace deliveryd::ctl {

/// How often the copy's progress is told.
inline constexpr int copy_progress_seconds = 5;

/// "copy-ledger: 12,000 of 50,000 sends copied (24 %), 40,000 of 150,000 events".
std::string copy_progress_line(std::int64_t sends, std::int64_t sends_total, std::int64_t events,
                               std::int64_t events_total);

/// Runs copy-ledger with the configuration at `config_path`; returns the exit status: exit_config when the
/// configuration cannot be read or its backend is not PostgreSQL, exit_failed when the copy fails or is refused.
int run_copy_ledger(const copy_ledger_command& c, const std::string& config_path, console& io);

} // namespace deliveryd::ctl
