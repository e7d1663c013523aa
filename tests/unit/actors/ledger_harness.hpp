#pragma once
/// A real actor system with a ledger actor on a fresh ledger file, and jobs whose answers land in futures.
/// Catch2 is not thread-safe: callbacks only record what they see, the test thread checks it.

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "../db/ledger_fixture.hpp"
#include "actors/ledger_actor.hpp"

namespace deliveryd::testing {

/// How long a test waits for an answer that must come: a guard against a hang, not a measure of speed. Under the
/// sanitizers, on PostgreSQL, with CI building the package beside the suite, 500 answers each probed through a new
/// connection once took more than 15 s.
inline constexpr auto answer_timeout = std::chrono::seconds{60};

/// A ledger answer as the test sees it.
template <class T>
struct answer {
  actors::ledger_result<T> result;
  std::int64_t seen = -1; ///< what a connection of the test's own counted when the answer came (-2: query failed)
};

/// A `done` callback and the future it fulfils. Only the callback owns the promise: a job that is destroyed
/// without an answer breaks it, so the future tells "never answered" apart from "still waiting".
template <class T>
struct pending_answer {
  std::function<void(actors::ledger_result<T>)> done;
  std::future<answer<T>> future;
  std::shared_ptr<std::atomic<int>> calls;
};

/// Makes a callback that records the answer, plus what `probe` (a read through a connection of the test's own,
/// run on the ledger's thread at the moment of the answer) sees.
template <class T>
pending_answer<T> expect_answer(std::function<std::int64_t()> probe = {}) {
  auto promise = std::make_shared<std::promise<answer<T>>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto future = promise->get_future();
  auto done = [promise, calls, probe = std::move(probe)](actors::ledger_result<T> result) {
    const int n = ++*calls;
    if (n != 1)
      return; // counted: the test checks that `done` runs exactly once
    answer<T> a{std::move(result), -1};
    if (probe) {
      try {
        a.seen = probe();
      } catch (...) {
        a.seen = -2;
      }
    }
    promise->set_value(std::move(a));
  };
  return {std::move(done), std::move(future), calls};
}

/// Waits for an answer that must come.
template <class T>
answer<T> take(std::future<answer<T>>& future) {
  REQUIRE(future.wait_for(answer_timeout) == std::future_status::ready);
  return future.get();
}

/// A job, the future of its answer, and how often its `done` was called.
template <class Job, class T>
struct job_handle {
  std::shared_ptr<Job> job;
  std::future<answer<T>> future;
  std::shared_ptr<std::atomic<int>> calls;
};

/// An intake job of `sends`; `probe` runs when it is answered.
inline job_handle<actors::intake_job, db::intake_outcome>
intake_job(std::vector<adapters::intake::send_request> sends, std::function<std::int64_t()> probe = {}) {
  auto pending = expect_answer<db::intake_outcome>(std::move(probe));
  auto job = std::make_shared<actors::intake_job>();
  job->sends = std::move(sends);
  job->received_at = t0;
  job->done = std::move(pending.done);
  return {job, std::move(pending.future), pending.calls};
}

/// An events job; `probe` runs when it is answered.
inline job_handle<actors::events_job, db::events_outcome>
events_job(std::vector<db::vendor_event> events, std::function<std::int64_t()> probe = {}) {
  auto pending = expect_answer<db::events_outcome>(std::move(probe));
  auto job = std::make_shared<actors::events_job>();
  job->events = std::move(events);
  job->done = std::move(pending.done);
  return {job, std::move(pending.future), pending.calls};
}

/// The outcome of a successful answer; fails the test on a failure.
template <class T>
T outcome_of(const answer<T>& a) {
  if (auto* failure = std::get_if<actors::ledger_failure>(&a.result.value))
    FAIL("the ledger answered a failure (" << static_cast<int>(*failure) << "): " << a.result.detail);
  return std::get<T>(a.result.value);
}

/// A clock the test sets.
struct test_clock {
  std::shared_ptr<std::atomic<std::int64_t>> ms = std::make_shared<std::atomic<std::int64_t>>(core::to_millis(t0));
  /// The clock as the ledger takes it.
  std::function<core::timestamp()> function() const {
    return [ms = ms] { return core::from_millis(ms->load()); };
  }
  /// Moves the clock to `t`.
  void set(core::timestamp t) const { ms->store(core::to_millis(t)); }
};

/// An actor system with a ledger actor on a fresh file. The destructor stops the ledger and waits for it even
/// when a REQUIRE ended the test early (the system's destructor would otherwise wait forever).
struct ledger_harness {
  temp_dir dir;
  test_clock clock;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  actors::ledger_actor ledger;

  /// How a test wants its ledger.
  struct options {
    /// Writes to the ledger before the actor owns it (as a previous run of the daemon would have).
    std::function<void(db::ledger_writer&)> prepare;
    /// Puts the writer in a wrapper of the test's own (one that fails on demand) before the actor gets it.
    std::function<std::unique_ptr<db::ledger_writer>(std::unique_ptr<db::ledger_writer>)> wrap;
    /// ledger_deps::on_durability_lost.
    std::function<void(const std::string&)> on_durability_lost;
    /// ledger_deps::log, log_start, log_replay_end and gate: an ack log in front of the ledger.
    db::ack_log* log = nullptr;
    std::uint64_t log_start = 0;
    std::uint64_t log_replay_end = 0;
    actors::backlog* gate = nullptr;
    std::size_t log_batch = 20000;
  };

  /// `prepare` writes to the ledger before the actor owns it (as a previous run of the daemon would have).
  explicit ledger_harness(const std::function<void(db::ledger_writer&)>& prepare = {})
    : ledger_harness(options{prepare, {}, {}, nullptr, 0, 0, nullptr, 20000}) {}

  explicit ledger_harness(const options& o) {
    // As the daemon opens it: the ledger actor acknowledges only after its own fdatasync of the WAL.
    auto store = open_store(dir.ledger(), {{core::vendor::twilio, twilio_after}}, db::durability::after_sync);
    if (o.prepare)
      o.prepare(*store);
    if (o.wrap)
      store = o.wrap(std::move(store));
    actors::ledger_deps deps{std::move(store), clock.function(), 5000};
    deps.on_durability_lost = o.on_durability_lost;
    deps.log = o.log;
    deps.log_start = o.log_start;
    deps.log_replay_end = o.log_replay_end;
    deps.gate = o.gate;
    deps.log_batch = o.log_batch;
    ledger = actors::spawn_ledger(sys, std::move(deps));
  }

  ~ledger_harness() { stop(); }
  ledger_harness(const ledger_harness&) = delete;
  ledger_harness& operator=(const ledger_harness&) = delete;

  /// Sends stop_atom and waits until the ledger has quit.
  void stop() {
    caf::anon_send(ledger, actors::stop_atom_v);
    caf::scoped_actor self{sys};
    self->wait_for(ledger);
  }

  /// A probe that is 1 when the read interface, on a connection of its own, shows send `send_id` (in `status`,
  /// when one is given), else 0. A failed read throws, which the answer records as -2.
  std::function<std::int64_t()> showing(std::string send_id, std::string status = {}) const {
    return [options = ledger_at(dir.ledger()), send_id = std::move(send_id), status = std::move(status)] {
      auto found = db::open_reader(options).value()->find(send_id).value();
      return std::int64_t{found && (status.empty() || found->row.status == status)};
    };
  }

  /// A probe counting the rows a query gives, through a read-only connection of the test's own: for what the
  /// read interface does not show (held events), in SQLite's tables.
  std::function<std::int64_t()> counting(std::string sql) const {
    return [path = dir.ledger(), sql = std::move(sql)] { return peek_int(path, sql); };
  }

  /// Asks the ledger for its health and waits for the report.
  actors::health_report health() {
    auto promise = std::make_shared<std::promise<actors::health_report>>();
    auto future = promise->get_future();
    auto job = std::make_shared<actors::health_job>();
    job->done = [promise](actors::health_report r) { promise->set_value(std::move(r)); };
    caf::anon_send(ledger, job);
    REQUIRE(future.wait_for(answer_timeout) == std::future_status::ready);
    return future.get();
  }
};

} // namespace deliveryd::testing
