#include "actors/poller_actor.hpp"

#include <deque>
#include <random>
#include <unordered_set>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

namespace deliveryd::actors {

namespace {

struct poller_state {
  poller_deps deps;
  std::shared_ptr<boost::asio::thread_pool> workers;
  std::unordered_set<std::int64_t> in_flight; ///< row ids being fetched or committed
  bool looking = false;                         ///< a worker is reading due sends
  std::deque<std::chrono::steady_clock::time_point> recent_starts; ///< fetches started in the last second

  /// True while fewer than `per_second` fetches started within the last second (a sliding window, so that no
  /// second of wall time ever sees more, whatever the tick's phase).
  bool may_start() {
    const auto now = std::chrono::steady_clock::now();
    while (!recent_starts.empty() && now - recent_starts.front() >= std::chrono::seconds{1})
      recent_starts.pop_front();
    return recent_starts.size() < deps.per_second;
  }
  std::mt19937_64 random{std::random_device{}()};
  static inline const char* name = "poller";

  ~poller_state() {
    if (workers)
      workers->join(); // fetches finish (each bounded by its time-outs); their answers go nowhere
  }
};

using poller_pointer = poller_actor::stateful_pointer<poller_state>;

/// On a worker: fetch, plan the next fetch, hand both to the ledger; tell the poller when committed.
void fetch_one(const poller_deps& deps, poller_actor self, db::poll_target target, double unit) {
  const auto now = deps.clock();
  auto found = deps.fetch(target, now);
  auto& stats = deps.stats->of(deps.vendor);
  switch (found.outcome) {
    case core::poll_outcome::error:
      bump(stats.poll_errors);
      spdlog::warn("{} poll_failed: message {}: {}", core::to_string(deps.vendor), target.vendor_message_id,
                   found.detail);
      break;
    case core::poll_outcome::not_found: bump(stats.poll_not_found); break;
    default: bump(stats.polls); break;
  }
  const auto plan = deps.plan(target, found, now, unit);
  db::poll_update update;
  update.vendor = deps.vendor;
  update.vendor_message_id = target.vendor_message_id;
  update.next_poll_at = plan.next;
  update.attempts = plan.attempts;
  update.price = std::move(found.price);
  update.price_unit = std::move(found.price_unit);
  update.received_at = now;
  if (found.event) {
    bump(stats.events_received);
    update.event = std::move(found.event->event);
    update.raw = std::move(found.event->raw);
  }
  auto job = std::make_shared<events_job>();
  job->polls.push_back(std::move(update));
  job->done = [self, id = target.id, stats = &stats](ledger_result<db::events_outcome> r) {
    if (auto* out = std::get_if<db::events_outcome>(&r.value)) {
      bump(stats->events_stored, out->applied);
      bump(stats->duplicates, out->duplicates);
    }
    caf::anon_send(self, polled_atom_v, id);
  };
  caf::anon_send(deps.ledger, std::move(job));
}

void look_for_due(poller_pointer self) {
  auto& st = self->state;
  if (st.looking || st.in_flight.size() >= st.deps.concurrency || !st.may_start())
    return;
  st.looking = true;
  // Exactly as many as may start now (free slots, and this second's budget), leaving out those in flight: on a
  // shared ledger each one returned is claimed for this daemon, and one claimed but not started would wait for
  // its lease to pass.
  const auto limit = std::min(st.deps.concurrency - st.in_flight.size(), st.deps.per_second - st.recent_starts.size());
  std::vector<std::int64_t> busy(st.in_flight.begin(), st.in_flight.end());
  boost::asio::post(*st.workers, [deps = &st.deps, handle = poller_actor{self}, limit, busy = std::move(busy)] {
    std::vector<db::poll_target> due;
    auto found = deps->readers->read(
      [&](db::ledger_reader& reader) {
        return reader.due_polls(deps->vendor, deps->clock(), limit, busy,
                                                     {deps->concurrency, deps->per_second});
      });
    if (found)
      due = std::move(*found);
    else // the next tick looks again
      spdlog::error("{} poll_scan_failed: {}", core::to_string(deps->vendor), found.error().message);
    caf::anon_send(handle, due_polls_ptr{std::make_shared<const std::vector<db::poll_target>>(std::move(due))});
  });
}

poller_actor::behavior_type poller_behavior(poller_pointer self, std::shared_ptr<poller_deps> deps) {
  self->state.deps = std::move(*deps);
  self->state.workers = std::make_shared<boost::asio::thread_pool>(self->state.deps.concurrency);
  self->delayed_send(self, std::chrono::seconds{1}, tick_atom_v);
  return {
    [=](tick_atom) {
      look_for_due(self);
      self->delayed_send(self, std::chrono::seconds{1}, tick_atom_v);
    },
    [=](const due_polls_ptr& due) {
      auto& st = self->state;
      st.looking = false;
      std::uniform_real_distribution<double> unit{0.0, 1.0};
      for (const auto& target : *due) {
        if (st.in_flight.size() >= st.deps.concurrency || !st.may_start())
          break;
        if (!st.in_flight.insert(target.id).second)
          continue;
        st.recent_starts.push_back(std::chrono::steady_clock::now());
        boost::asio::post(*st.workers, [deps = &st.deps, handle = poller_actor{self}, target, u = unit(st.random)] {
          fetch_one(*deps, handle, target, u);
        });
      }
    },
    [=](polled_atom, std::int64_t id) {
      self->state.in_flight.erase(id);
      look_for_due(self); // a free slot: keep going within this second's budget
    },
  };
}

} // namespace

poller_actor spawn_poller(caf::actor_system& sys, poller_deps deps) {
  return sys.spawn(poller_behavior, std::make_shared<poller_deps>(std::move(deps)));
}

} // namespace deliveryd::actors
