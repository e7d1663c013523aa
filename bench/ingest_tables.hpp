#pragma once
/// What a run of the ingest benchmark's daemons measured, and the tables it prints: issue 5's SQLite table, each
/// figure against its target, and issue 17's PostgreSQL figures beside the SQLite ones of the same run.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "load_client.hpp"

namespace deliveryd::bench::ingest {

/// Connections of the ceilings' and the daemon's Twilio phases; issue 20's targets are for this many.
inline constexpr int twilio_connections = 32;

/// What the ledgers did during a phase (from the daemons' /metrics): as text, and the time from BEGIN until
/// durable as a share of the phase.
struct ledger_busy {
  std::string text;
  double percent = 0;
};

/// The intake answers, counted.
struct intake_counts {
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::size_t updated = 0;
  std::size_t rejected = 0;
  /// Counts one answer (request index, status, body).
  void operator()(std::size_t request, int status, std::string_view body);
};

/// One run of one or more daemons on one ledger.
struct run_result {
  phase_result twilio;
  phase_result email; ///< empty without a SendGrid phase
  phase_result intake;
  ledger_busy twilio_busy, email_busy, intake_busy;
  intake_counts counts;
  bool with_email = false;
  double startup = 0;           ///< seconds until /healthz answered, the slowest daemon's
  long rss_at_start = 0;        ///< KiB, the largest
  long rss_peak = 0;            ///< KiB during the phases, the largest
  std::int64_t bytes_at_start = 0;
  std::int64_t sends_at_start = 0;
  std::int64_t pending = 0;     ///< pending sends after the run
  std::int64_t twilio_wal = 0;  ///< PostgreSQL: bytes of WAL the Twilio phase wrote
  std::int64_t intake_wal = 0;  ///< PostgreSQL: bytes of WAL the intake phase wrote
  bool ok = false;              ///< everything acknowledged is stored, every answer 2xx
};

/// The durable ceiling's phase (issue 20) and what its server counted (GET /stats).
struct durable_ceiling {
  phase_result phase;
  std::uint64_t appends = 0; ///< bodies appended
  std::uint64_t syncs = 0;   ///< fdatasync calls
  std::uint64_t refused = 0; ///< answered 503: a write or an fdatasync failed
  /// Mean appends covered by one fdatasync.
  double per_sync() const { return syncs > 0 ? static_cast<double>(appends) / static_cast<double>(syncs) : 0; }
};

/// Both ceilings of a run, each measured before the daemon's phases and again after them. On a shared host the
/// machine's speed drifts by a quarter or more within minutes; the daemon is compared with the mean of the two
/// measurements, which a steady drift over the run does not bias.
struct ceilings {
  std::array<phase_result, 2> plain;
  std::array<durable_ceiling, 2> durable;
  double plain_rate() const { return (plain[0].rate() + plain[1].rate()) / 2; }
  double durable_rate() const { return (durable[0].phase.rate() + durable[1].phase.rate()) / 2; }
};

/// Issue 5's table for the SQLite run, with both ceilings of the run, then issue 20's targets for the Twilio
/// callbacks against them in one line; true when no target was missed.
bool print_sqlite_table(const std::string& ledger, const ceilings& c, const run_result& r);

/// Issue 17's table: the PostgreSQL runs with one and two daemons beside the SQLite run, and callbacks
/// (PostgreSQL, one daemon) / callbacks (SQLite) against >= 50 %, with the gap when it is missed; true when no
/// target was missed.
bool print_comparison(const run_result& sqlite, const run_result& one, const run_result& two);

/// The A/B table (--ab): each phase's rate per round for the two builds, in the order they ran, their medians
/// and B's median over A's.
void print_ab_table(const std::vector<run_result>& a, const std::vector<run_result>& b);

} // namespace deliveryd::bench::ingest
