#pragma once
/// The polling vendor actors. One generic actor paces and bounds the fetches; what a fetch is and how its
/// answer schedules the next one is the vendor's part, given as functions.

#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "actors/counters.hpp"
#include "adapters/common.hpp"
#include "core/polling.hpp"
#include "db/reader_pool.hpp"

namespace boost::asio {
class thread_pool;
}

namespace deliveryd::actors {

/// What a poller needs.
struct poller_deps {
  core::vendor vendor = core::vendor::kakao;
  /// Fetches one send's status. Blocking: it runs on the worker pool.
  std::function<adapters::fetch_result(const db::poll_target&, core::timestamp now)> fetch;
  /// When to fetch that send again, given what the fetch found; `unit` is a uniform draw in [0, 1) for jitter.
  std::function<core::poll_plan(const db::poll_target&, const adapters::fetch_result&, core::timestamp now,
                                double unit)>
    plan;
  db::reader_pool* readers = nullptr;
  ledger_actor ledger;
  counters* stats = nullptr;
  std::function<core::timestamp()> clock;
  std::size_t concurrency = 8; ///< fetches in flight at most (also the worker threads)
  std::size_t per_second = 50; ///< fetches started per second at most: no storm after a restart
};

/// Spawns a poller; its workers (a Boost.Asio thread pool, off CAF's scheduler) live as long as the actor.
poller_actor spawn_poller(caf::actor_system& sys, poller_deps deps);

} // namespace deliveryd::actors
