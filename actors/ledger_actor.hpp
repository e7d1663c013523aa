#pragma once
/// The ledger actor: group commit over one writer connection.

#include <chrono>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"
#include "db/ack_log.hpp"
#include "db/ledger.hpp"

namespace deliveryd::actors {

/// The ledger actor's dependencies.
struct ledger_deps {
  std::unique_ptr<db::ledger_writer> store;        ///< the writer; the actor becomes its only user
  std::function<core::timestamp()> clock;          ///< the time source (injected for tests)
  /// Deadlines swept per transaction at most. The sweep shares its transaction with the jobs waiting for the
  /// next commit, so this bounds what it adds to their latency: 1,000 settled sends take about 7 ms to clear
  /// (schema v6 leaves every final send's deadline to the sweep); a backlog continues in the next transactions.
  std::size_t deadline_batch = 1000;
  counters* stats = nullptr;                       ///< per-vendor counters (deadlines fired), optional
  int retention_days = 365;                        ///< sends older than this are purged
  std::size_t purge_batch = 1000;                  ///< sends purged per transaction at most
  std::chrono::milliseconds purge_every = std::chrono::hours{24}; ///< a purge runs at start and then this often
  /// Called once, on the ledger's thread, when a sync to the disk failed (db::ledger_error::durability_lost),
  /// with the reason. From then on the ledger answers every job storage_failing and commits nothing: only a
  /// ledger read again from the disk is sound, so the daemon stops (and systemd starts it again).
  std::function<void(const std::string&)> on_durability_lost = {};
  /// The ack log in front of the ledger (SQLite; it outlives the actor), or null: the ledger reads the events it
  /// acknowledged from `log_start` on (the position the ledger had committed when the log was opened), applies them
  /// sorted by message key in batches of at most `log_batch` events, and commits the position it reached with
  /// them. It is told of new records with logged_atom.
  db::ack_log* log = nullptr;
  std::uint64_t log_start = 0;
  /// Where the log ended when it was opened: the records before it were acknowledged by an earlier life of the
  /// daemon; those after it were admitted to `gate`, which the ledger releases once they are committed.
  std::uint64_t log_replay_end = 0;
  backlog* gate = nullptr;
  std::size_t log_batch = 20000;
};

/// Spawns the ledger actor detached (on a thread of its own) and returns its handle.
ledger_actor spawn_ledger(caf::actor_system& sys, ledger_deps deps);

} // namespace deliveryd::actors
