// GET /metrics on the ops listener: reads the counters, the cached pending counts and /proc/self, and
// answers the exposition text.
#include <spdlog/spdlog.h>

#include "daemon/metrics.hpp"
#include "daemon/routes.hpp"

namespace deliveryd::daemon {

namespace {

/// What the route keeps between scrapes.
struct metrics_state {
  pending_cache pending;
  std::optional<double> started = process_start_time();
  actors::counters none; ///< served, all zero, when the daemon was wired without counters
  std::mutex failure_mutex;
  bool failing = false; ///< the last pending query failed (logged once until it works again)
};

std::optional<pending_counts> query_pending(const ops_deps& deps, metrics_state& state) {
  std::string why;
  if (deps.readers != nullptr) {
    if (deps.log != nullptr) // the counts include every callback acknowledged before the scrape, if it can
      deps.log->wait_applied(std::chrono::seconds{1});
    auto counts = deps.readers->read([](db::ledger_reader& reader) { return reader.pending_by_vendor(); });
    if (counts) {
      std::lock_guard lock{state.failure_mutex};
      state.failing = false;
      return std::move(*counts);
    }
    why = counts.error().message;
  } else {
    why = "no reader";
  }
  std::lock_guard lock{state.failure_mutex};
  if (!state.failing)
    spdlog::warn("metrics pending_unavailable: the pending sends cannot be counted: {}", why);
  state.failing = true;
  return std::nullopt;
}

} // namespace

void install_metrics_route(httplib::Server& server, std::shared_ptr<const ops_deps> deps) {
  auto state = std::make_shared<metrics_state>();
  server.Get("/metrics", [deps, state](const httplib::Request&, httplib::Response& res) {
    const auto& stats = deps->stats != nullptr ? *deps->stats : state->none;
    auto pending = state->pending.get([&] { return query_pending(*deps, *state); }, std::chrono::steady_clock::now());
    auto process = sample_process();
    process.start_time_seconds = state->started;
    res.status = 200;
    res.set_content(format_metrics(stats, pending, process, deps->gate, deps->log, deps->log_gate), metrics_content_type);
  });
}

} // namespace deliveryd::daemon
