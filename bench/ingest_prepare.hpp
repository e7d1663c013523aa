#pragma once
/// The ingest benchmark's ledger: prepared once (N pending sends registered through db::ledger_writer's
/// register_sends, the daemon's own write path, in transactions of 50,000 sends, 5,000 on PostgreSQL) and reused
/// while it is fresh and has sends no earlier run has sent callbacks for. On either back end (bench_ledger.hpp).

#include <cstddef>
#include <cstdint>
#include <optional>

#include "bench_ledger.hpp"

namespace deliveryd::bench::ingest {

/// What the bench knows about a prepared ledger, kept in its state file (bench_ledger::state_path()): how many
/// sends the fill registered, when, and the first Twilio / e-mail send no earlier run has sent callbacks for (each
/// run uses fresh sends, so that its events are new rows and not duplicates of an earlier run's).
struct prepared {
  std::int64_t fill_sends = 0;
  std::int64_t prepared_at = 0; ///< ms since the epoch
  std::int64_t twilio_next = 0; ///< fill index
  std::int64_t email_next = 0;  ///< fill index
  std::int64_t twilio_sends = 0;
  std::int64_t email_sends = 0;
};

/// What a run needs of the ledger.
struct prepare_needs {
  std::int64_t sends = 0;           ///< sends the fill registers
  std::size_t twilio_requests = 0;  ///< Twilio callbacks of one phase
  std::size_t twilio_phases = 1;    ///< phases with callbacks for fresh sends each
  std::size_t email_batches = 0;    ///< SendGrid batches of 100 events (0: no SendGrid phase)
};

/// Reuses `ledger` when it fits `needs`, else removes it and fills it again; nullopt when that failed (the
/// reason is printed). A PostgreSQL ledger is vacuumed, analysed and checkpointed after its fill, so that the
/// measured phases do not pay for the fill.
std::optional<prepared> prepare(const bench_ledger& ledger, const prepare_needs& needs);

/// Writes `p` to the ledger's state file: what later runs may still use.
void write_state(const bench_ledger& ledger, const prepared& p);

} // namespace deliveryd::bench::ingest
