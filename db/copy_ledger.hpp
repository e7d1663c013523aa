#pragma once
/// Copying an SQLite ledger, its history included, into a PostgreSQL ledger (`deliveryctl copy-ledger`): every
/// send and event with the id it had, held events too, then the roll-ups, price roll-ups, pending counts and
/// sources as they are, so that every query answers as it did on SQLite (day pages and their cursors included).
///
/// The SQLite ledger is opened read-only and left as it is; its schema must be the one this build writes. The
/// PostgreSQL ledger must be new or empty; it is created (or migrated) by db::open_writer, with its days counted in
/// the SQLite ledger's zone (a daemon configured with another zone counts them again at its start).
///
/// A copy is resumable: each chunk of sends, with their events, is one transaction that also records in
/// deliveryd_meta how far the copy has come. A run that stops anywhere leaves whole chunks; the next run with the
/// same source goes on from there, and the result is that of one uninterrupted run. A run refuses, with a
/// sentence and without writing anything, a ledger that holds sends that did not come from this copy, another
/// source while a copy is unfinished, and a source that changed since its copy began. A daemon refuses to start on
/// a ledger whose copy has not finished.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "db/ledger.hpp"

namespace deliveryd::db {

/// Sends per transaction of a copy, with their events: a few MB per commit.
inline constexpr std::size_t copy_chunk_sends = 1000;

/// How far a copy has come (earlier runs included).
struct copy_progress {
  std::int64_t sends = 0;        ///< sends copied
  std::int64_t sends_total = 0;  ///< sends of the SQLite ledger
  std::int64_t events = 0;       ///< events copied, held ones included
  std::int64_t events_total = 0; ///< events of the SQLite ledger
};

/// What a run of a copy did.
struct copy_outcome {
  bool already_done = false; ///< an earlier run had finished this copy: nothing was written
  bool resumed = false;      ///< it went on where an earlier run had stopped
  bool finished = false;     ///< the copy is complete (false only when copy_options::max_chunks stopped it)
  std::int64_t sends = 0;    ///< sends copied (earlier runs included)
  std::int64_t events = 0;   ///< events copied, held ones included
  std::int64_t held = 0;     ///< held events of the SQLite ledger (events for a send never registered)
  std::string zone;          ///< the zone the copied days are counted in: the SQLite ledger's
};

/// What to copy where.
struct copy_options {
  std::string from;      ///< the SQLite ledger's file
  ledger_options target; ///< the PostgreSQL ledger: kind postgresql, its url and host_id
  std::size_t chunk_sends = copy_chunk_sends; ///< sends per transaction
  /// Stop after this many transactions of sends or held events, as a run killed there would (0: no limit):
  /// for tests of a resumed copy.
  std::size_t max_chunks = 0;
  /// Told how far the copy has come: once when it starts and after each transaction.
  std::function<void(const copy_progress&)> on_progress{};
};

/// Copies, or goes on with the copy of, `options.from` into `options.target`. Errors are sentences for the
/// operator, the PostgreSQL password never in them; after one, whatever was committed stays and a new run goes on
/// from there.
result<copy_outcome> copy_ledger(const copy_options& options);

} // namespace deliveryd::db
