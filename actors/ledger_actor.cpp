#include "actors/ledger_actor.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"
#include "db/write_rules.hpp"

namespace deliveryd::actors {

namespace {

using job = std::variant<intake_job_ptr, events_job_ptr>;

/// What a purge removed so far.
struct purge_totals {
  std::size_t sends = 0;
  std::size_t events = 0;
};

/// Answers the jobs of a durable commit and counts the commit (`jobs` of them, from `started` until now).
void answer_committed(std::vector<std::function<void()>>& answers, std::size_t jobs, counters* stats,
                      std::chrono::steady_clock::time_point started);

/// Fails every job of a batch (nothing of it was stored).
void fail_all(std::vector<job>& batch, ledger_failure why, const std::string& detail);

/// What a job is answered once a sync has failed: the ledger stops taking work until it is read again from the
/// disk.
std::string lost_detail(const std::string& why) {
  return "the ledger could not make its commits durable (" + why +
         "); deliveryd restarts to read the ledger again from the disk: retry later";
}

/// Answers committed groups once they are durable (db::durability::after_sync). One make_durable() covers every
/// group committed before it (SQLite: one fdatasync of the WAL), and it runs here while the ledger builds its
/// next transaction: the commit no longer waits for the disk, the acknowledgement still does.
/// A failed sync is final. The kernel may have dropped the pages it could not write, and a later sync that
/// succeeds would not write them again, while every later commit builds on them: from then on no group is synced
/// or answered as durable, and `lost(why)` tells the ledger, once.
class ack_after_sync {
public:
  /// `synced(n)` is called after each sync with the number of groups it covered, before they are answered.
  ack_after_sync(db::ledger_writer& store, counters* stats, db::ack_log* log,
                 std::function<void(std::uint64_t)> synced, std::function<void(std::string)> lost)
    : store_{store}, stats_{stats}, log_{log}, synced_{std::move(synced)}, lost_{std::move(lost)} {}

  /// Answers everything handed over (after a last sync), then stops.
  ~ack_after_sync() {
    {
      std::lock_guard lock{mutex_};
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  ack_after_sync(const ack_after_sync&) = delete;
  ack_after_sync& operator=(const ack_after_sync&) = delete;

  /// A committed group: its jobs (to fail them should the sync fail), their answers, and the ack log position it
  /// committed (0: none), which the log may reuse segments before once synced.
  void hand_over(std::vector<job> batch, std::vector<std::function<void()>> answers,
                 std::chrono::steady_clock::time_point started, std::uint64_t log_position) {
    {
      std::lock_guard lock{mutex_};
      groups_.push_back({std::move(batch), std::move(answers), started, log_position});
    }
    wake_.notify_one();
  }

  /// Why a sync failed; "" while syncs work.
  std::string failing() const {
    std::lock_guard lock{mutex_};
    return failing_;
  }

private:
  struct group {
    std::vector<job> batch;
    std::vector<std::function<void()>> answers;
    std::chrono::steady_clock::time_point started;
    std::uint64_t log_position = 0;
  };

  void run() {
    core::name_this_thread("ledger-sync");
    std::unique_lock lock{mutex_};
    for (;;) {
      wake_.wait(lock, [this] { return stop_ || !groups_.empty(); });
      if (groups_.empty())
        return; // stopping, and everything is answered
      std::deque<group> ready;
      ready.swap(groups_);
      std::string error = failing_;
      lock.unlock();
      const bool first_failure = error.empty();
      if (error.empty())
        if (auto synced = store_.make_durable(); !synced)
          error = synced.error().message;
      if (error.empty()) {
        // The ledger may commit its next group now: it waits for this sync, not for these answers, which wake a
        // listener thread each (on this machine about as long as the sync itself).
        synced_(ready.size());
        std::uint64_t logged = 0;
        for (const auto& g : ready)
          logged = std::max(logged, g.log_position);
        if (log_ && logged > 0)
          log_->applied(logged, logged);
        for (auto& g : ready)
          answer_committed(g.answers, g.batch.size(), stats_, g.started);
      } else {
        // Committed but perhaps not on the disk: the vendor retries, and the retry finds what the disk kept.
        for (auto& g : ready)
          fail_all(g.batch, ledger_failure::storage_failing, lost_detail(error));
        if (first_failure) {
          spdlog::critical("ledger sync_failed: {}; nothing more is acknowledged", error);
          if (stats_)
            bump(stats_->ledger.commit_failures);
          lost_(error);
        }
      }
      lock.lock();
      failing_ = std::move(error);
    }
  }

  db::ledger_writer& store_;
  counters* stats_;
  db::ack_log* log_;
  std::function<void(std::uint64_t)> synced_;
  std::function<void(std::string)> lost_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<group> groups_;
  bool stop_ = false;
  std::string failing_;
  std::thread thread_{[this] { run(); }}; ///< last: starts once everything above exists
};

/// What the ledger actor keeps between messages.
struct ledger_state {
  ledger_deps deps;
  std::unique_ptr<ack_after_sync> acks; ///< set with db::durability::after_sync; after deps: goes first
  std::size_t syncs_pending = 0;  ///< groups handed to acks and not synced yet
  bool tx_open = false;           ///< a transaction holds the jobs applied since the last commit
  core::timestamp tx_now{};       ///< the clock when it began: the jobs' "now"
  std::chrono::steady_clock::time_point tx_started{};
  std::vector<job> batch;         ///< the jobs applied in the open transaction
  std::vector<std::function<void()>> answers; ///< and how to answer each once durable
  bool flush_scheduled = false;  ///< a flush_atom is in the mailbox
  bool deadlines_due = false;    ///< the next commit also fires deadlines
  bool purge_due = false;        ///< the next commit also purges a step
  std::chrono::steady_clock::time_point next_purge{};
  purge_totals purged;           ///< of the purge under way, for its closing log line
  bool stopping = false;
  std::string failing;           ///< why the last commit failed, "" while commits work
  std::string lost;              ///< why a sync failed (final: nothing more is taken), "" while syncs work
  std::uint64_t log_read = 0;      ///< the ack log position read into the open transaction
  std::uint64_t log_committed = 0; ///< the ack log position committed
  std::size_t log_admitted = 0;    ///< events of this life's records in the open transaction (ledger_deps::gate)
  bool log_flush_delayed = false;  ///< a delayed flush_atom for the ack log is on its way (schedule_log)
  static inline const char* name = "ledger";
};

using ledger_pointer = ledger_actor::stateful_pointer<ledger_state>;

void fail_all(std::vector<job>& batch, ledger_failure why, const std::string& detail) {
  for (auto& j : batch)
    std::visit([&](auto& p) { p->done({why, detail}); }, j);
}

/// Applies one job inside the open transaction; returns how to answer it once committed.
db::result<std::function<void()>> apply(db::ledger_writer& store, job& j, core::timestamp now, counters* stats) {
  if (auto* in = std::get_if<intake_job_ptr>(&j)) {
    // A copy of the parser's rejections: the job may be applied again after a conflict (replay_batch).
    auto out = store.register_sends((*in)->sends, (*in)->rejected, now);
    if (!out)
      return out.error();
    return std::function<void()>{[p = *in, out = std::move(*out), stats]() mutable {
      if (stats) {
        bump(stats->ledger.intake_accepted, out.accepted);
        bump(stats->ledger.intake_duplicates, out.duplicates);
        bump(stats->ledger.intake_updated, out.updated);
        bump(stats->ledger.intake_rejected, out.rejected.size());
      }
      p->done({std::move(out), {}});
    }};
  }
  auto& ev = std::get<events_job_ptr>(j);
  auto out = store.apply_events(ev->events, now);
  if (!out)
    return out.error();
  if (!ev->polls.empty()) {
    auto polled = store.apply_polls(ev->polls, now);
    if (!polled)
      return polled.error();
    out->applied += polled->applied;
    out->duplicates += polled->duplicates;
    out->corrected += polled->corrected;
  }
  return std::function<void()>{[p = ev, out = *out] { p->done({out, {}}); }};
}

void answer_committed(std::vector<std::function<void()>>& answers, std::size_t jobs, counters* stats,
                      std::chrono::steady_clock::time_point started) {
  for (auto& answer : answers)
    answer();
  if (!stats)
    return;
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  auto& l = stats->ledger;
  bump(l.commits);
  bump(l.jobs_committed, jobs);
  bump(l.commit_us_sum, static_cast<std::uint64_t>(took.count()));
  std::size_t bucket = 0;
  while (bucket < commit_latency_bounds_us.size()
         && static_cast<std::uint64_t>(took.count()) > commit_latency_bounds_us[bucket])
    ++bucket;
  bump(l.commit_us_buckets[bucket]);
}

/// Counts a committed purge step and logs the purge when it is complete.
void note_purge(ledger_state& st, const db::purge_outcome& step) {
  if (st.deps.stats) {
    bump(st.deps.stats->ledger.purged_sends, step.sends);
    bump(st.deps.stats->ledger.purged_events, step.events);
  }
  st.purged.sends += step.sends;
  st.purged.events += step.events;
  if (!step.more && (st.purged.sends > 0 || st.purged.events > 0)) {
    spdlog::info("ledger purged: {} sends and {} events older than {} days", st.purged.sends, st.purged.events,
                 st.deps.retention_days);
    st.purged = {};
  }
}

/// Opens the group transaction if none is open.
db::result<void> open_transaction(ledger_state& st) {
  if (st.tx_open)
    return {};
  if (auto begun = st.deps.store->begin(); !begun)
    return begun;
  st.tx_open = true;
  st.tx_now = st.deps.clock();
  st.tx_started = std::chrono::steady_clock::now();
  return {};
}

/// How many times a batch is applied again after conflicts with another writer of a shared ledger.
constexpr int max_replays = 5;

/// After a conflict with another writer (ledger_error::retry: PostgreSQL chose this transaction as a deadlock's
/// victim): rolls the transaction back and applies every job of the batch again in a new one, up to max_replays
/// times. Nothing was answered yet, so nothing is answered twice. The error that stopped it, if any.
db::result<void> replay_batch(ledger_state& st, const db::ledger_error& conflict) {
  auto error = conflict;
  for (int attempt = 1; attempt <= max_replays; ++attempt) {
    spdlog::info("ledger conflict_retried: {} (attempt {} of {}, {} jobs)", error.message, attempt, max_replays,
                 st.batch.size());
    st.deps.store->rollback();
    st.tx_open = false;
    st.answers.clear();
    auto begun = open_transaction(st);
    if (!begun) {
      if (!begun.error().retry)
        return begun;
      error = begun.error();
      continue;
    }
    bool again = false;
    for (auto& j : st.batch) {
      auto answer = apply(*st.deps.store, j, st.tx_now, st.deps.stats);
      if (!answer) {
        if (!answer.error().retry)
          return answer.error();
        error = answer.error();
        again = true;
        break;
      }
      st.answers.push_back(std::move(*answer));
    }
    if (!again)
      return {};
  }
  return error;
}

/// Rolls the open transaction back and answers every job in it 503: nothing of them is stored.
void abandon_transaction(ledger_state& st, const std::string& why) {
  st.deps.store->rollback();
  st.tx_open = false;
  st.log_read = st.log_committed; // read again by the next transaction
  st.log_admitted = 0;
  if (st.failing.empty())
    spdlog::error("ledger commit_failed: {} ({} jobs answered 503)", why, st.batch.size());
  st.failing = why;
  if (st.deps.log) // webhooks are refused, and queries stop waiting for the log, until a commit works again
    st.deps.log->ledger_failing(why);
  if (st.deps.stats)
    bump(st.deps.stats->ledger.commit_failures);
  fail_all(st.batch, ledger_failure::storage_failing, commit_refusal(st.failing));
  st.batch.clear();
  st.answers.clear();
}

/// A sync to the disk failed (`why`): answers every job of the open transaction storage_failing, takes nothing
/// more, and tells the daemon (once). See db::ledger_error::durability_lost.
void lose(ledger_state& st, const std::string& why) {
  if (!st.lost.empty())
    return;
  st.lost = why;
  if (st.deps.log)
    st.deps.log->ledger_failing(why);
  st.log_read = st.log_committed;
  st.log_admitted = 0;
  if (st.tx_open) {
    st.deps.store->rollback();
    st.tx_open = false;
  }
  spdlog::critical("ledger durability_lost: {}; {} jobs answered 503, and the ledger takes nothing more until "
                   "deliveryd has read it again from the disk", why, st.batch.size());
  fail_all(st.batch, ledger_failure::storage_failing, lost_detail(why));
  st.batch.clear();
  st.answers.clear();
  if (st.deps.on_durability_lost)
    st.deps.on_durability_lost(why);
}

/// A failed write or commit: a lost sync is final (lose), anything else abandons the transaction.
void fail_transaction(ledger_state& st, const db::ledger_error& error) {
  if (error.durability_lost)
    lose(st, error.message);
  else
    abandon_transaction(st, error.message);
}

/// True when the ack log holds acknowledged records the ledger has not read yet.
bool log_due(const ledger_state& st) {
  return st.deps.log != nullptr && st.log_read < st.deps.log->acknowledged();
}

/// Reads the ack log's next acknowledged records into the open transaction, sorted by message key (neighbouring
/// keys share index pages; results do not depend on the order of events), with the position reached.
db::result<void> pull_log(ledger_state& st) {
  if (!log_due(st))
    return {};
  // A read never mixes an earlier life's records with this life's: only these were admitted to the gate.
  const bool replaying = st.log_read < st.deps.log_replay_end;
  auto read = st.deps.log->read(st.log_read, st.deps.log_batch, replaying ? st.deps.log_replay_end : UINT64_MAX);
  if (!read)
    return read.error();
  if (read->end == st.log_read)
    return {};
  if (auto begun = open_transaction(st); !begun)
    return begun;
  // In the order of the index that finds their sends (sends_by_message_key, a hash of vendor and id): lookups of
  // neighbouring keys share its pages. The order of events never changes a result (core/reconcile.hpp).
  auto& events = read->events;
  std::vector<std::pair<std::int64_t, std::size_t>> order;
  order.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i)
    order.emplace_back(db::vendor_message_key(core::to_string(events[i].vendor), events[i].vendor_message_id), i);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<db::vendor_event> sorted;
  sorted.reserve(events.size());
  for (const auto& [key, i] : order)
    sorted.push_back(std::move(events[i]));
  events.swap(sorted);
  if (auto applied = st.deps.store->apply_events(events, st.tx_now); !applied)
    return applied.error();
  if (auto set = st.deps.store->set_log_position(read->end); !set)
    return set;
  st.log_read = read->end;
  if (!replaying)
    st.log_admitted += events.size();
  if (st.deps.stats) {
    bump(st.deps.stats->ledger.log_records_applied, read->records);
    bump(st.deps.stats->ledger.log_events_applied, events.size());
  }
  return {};
}

/// Schedules a commit of the open transaction unless one is scheduled, or a sync is still on its way: then the
/// transaction keeps taking jobs, and the sync's end commits it (one commit, and one sync, per disk round trip).
void request_commit(ledger_pointer self) {
  auto& st = self->state;
  if (st.flush_scheduled || (st.acks && st.syncs_pending > 0))
    return;
  st.flush_scheduled = true;
  self->send(self, flush_atom_v); // behind the jobs already in the mailbox: they join this transaction
}

/// Below this many unread bytes of the ack log (about 3,000 Twilio callbacks), the ledger waits `log_delay` before
/// it reads them, unless a job or a full backlog asks for a commit sooner: bigger batches share more index and
/// table pages per event, which is what the ledger's CPU goes to. A query waits that much longer at most.
constexpr std::uint64_t log_eager_bytes = 1u << 20;
constexpr std::chrono::milliseconds log_delay{50};

/// Schedules the reading of the ack log's new records: at once when much is waiting, else after log_delay.
void schedule_log(ledger_pointer self) {
  auto& st = self->state;
  if (!log_due(st) || st.flush_scheduled || st.log_flush_delayed)
    return;
  if (st.deps.log->acknowledged() - st.log_read >= log_eager_bytes) {
    request_commit(self);
    return;
  }
  st.log_flush_delayed = true;
  self->delayed_send(self, log_delay, flush_atom_v);
}

/// What a commit does besides the jobs' writes.
struct housekeeping {
  std::map<core::vendor, std::size_t> fired; ///< deadlines fired per vendor
  db::purge_outcome purged;                  ///< the purge step
};

/// Fires due deadlines, purges a step, writes the probe while failing, and commits; on an error the transaction
/// is still open, for the caller to roll back.
db::result<void> commit_housekeeping(ledger_state& st, housekeeping& done) {
  auto& store = *st.deps.store;
  if (auto begun = open_transaction(st); !begun)
    return begun;
  const auto now = st.tx_now;
  if (st.deadlines_due) {
    auto fired = store.fire_deadlines(now, st.deps.deadline_batch, &done.fired);
    if (!fired)
      return fired.error();
    st.deadlines_due = fired->more; // a full batch means more are due: keep firing in the next transactions
  }
  if (st.purge_due) {
    auto purged = store.purge(now, st.deps.retention_days, st.deps.purge_batch);
    if (!purged)
      return purged.error();
    done.purged = *purged;
    st.purge_due = purged->more;
  }
  // While failing, every transaction also writes the probe row: recovery is declared only when a commit that
  // really wrote something succeeded (an empty or duplicate-only commit writes nothing to the disk).
  if (!st.failing.empty())
    if (auto probed = store.write_probe(now); !probed)
      return probed;
  if (auto committed = store.commit(); !committed)
    return committed;
  st.tx_open = false;
  return {};
}

/// Commits the group transaction: the jobs applied so far, plus due deadlines, a purge step and the probe.
/// Jobs are answered only once the commit is durable.
void flush(ledger_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  st.log_flush_delayed = false;
  if (!st.lost.empty() || (!st.tx_open && !st.deadlines_due && !st.purge_due && !log_due(st)))
    return;
  housekeeping done;
  auto committed = pull_log(st);
  if (committed)
    committed = commit_housekeeping(st, done);
  for (int attempt = 0; !committed && committed.error().retry && attempt < max_replays; ++attempt) {
    done = {};
    auto replayed = replay_batch(st, committed.error());
    committed = replayed ? commit_housekeeping(st, done) : replayed;
  }
  if (!committed) {
    fail_transaction(st, committed.error());
    return;
  }
  if (st.deps.stats)
    st.deps.stats->ledger.queue_depth.store(0, std::memory_order_relaxed);
  if (!st.failing.empty()) {
    spdlog::info("ledger commit_recovered: commits work again");
    st.failing.clear();
    if (st.deps.log)
      st.deps.log->ledger_failing("");
  }
  std::vector<job> batch;
  std::vector<std::function<void()>> answers;
  batch.swap(st.batch);
  answers.swap(st.answers);
  const bool log_advanced = st.log_read != st.log_committed;
  st.log_committed = st.log_read;
  if (st.deps.gate && st.log_admitted > 0)
    st.deps.gate->release(st.log_admitted);
  st.log_admitted = 0;
  if (log_advanced) // queries waiting for these events go on; the segments wait for the sync
    st.deps.log->applied(st.log_committed, st.acks ? 0 : st.log_committed);
  if (st.acks) {
    if (!batch.empty() || log_advanced) {
      ++st.syncs_pending;
      st.acks->hand_over(std::move(batch), std::move(answers), st.tx_started, log_advanced ? st.log_committed : 0);
    }
  } else if (!batch.empty()) {
    // Housekeeping-only commits (deadlines, purge, the probe) answer no one, and would skew the batch size and
    // latency figures.
    answer_committed(answers, batch.size(), st.deps.stats, st.tx_started);
  }
  note_purge(st, done.purged);
  for (auto [vendor, n] : done.fired) {
    spdlog::info("ledger deadlines_fired: {} {} sends became uncertain (ME09)", n, core::to_string(vendor));
    if (st.deps.stats)
      bump(st.deps.stats->of(vendor).deadlines_fired, n);
  }
  if ((st.deadlines_due || st.purge_due) && !st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom_v);
  } else {
    schedule_log(self);
  }
}

/// Applies a job in the group transaction as soon as it arrives, so that the transaction is built while the
/// previous commit's sync runs; the answer waits for the commit and its sync.
void enqueue(ledger_pointer self, job j) {
  auto& st = self->state;
  if (st.stopping) {
    std::vector<job> one{std::move(j)};
    fail_all(one, ledger_failure::shutting_down, "deliveryd is shutting down; retry later");
    return;
  }
  if (!st.lost.empty()) {
    std::vector<job> one{std::move(j)};
    fail_all(one, ledger_failure::storage_failing, lost_detail(st.lost));
    return;
  }
  auto begun = open_transaction(st);
  auto answer = begun ? apply(*st.deps.store, j, st.tx_now, st.deps.stats) : begun.error();
  st.batch.push_back(std::move(j));
  if (!answer && answer.error().retry) {
    // A conflict with another writer: the batch so far, this job included, again in a new transaction.
    if (auto replayed = replay_batch(st, answer.error()); !replayed) {
      fail_transaction(st, replayed.error());
      return;
    }
  } else if (!answer) {
    fail_transaction(st, answer.error());
    return;
  } else {
    st.answers.push_back(std::move(*answer));
  }
  if (st.deps.stats)
    st.deps.stats->ledger.queue_depth.store(st.batch.size(), std::memory_order_relaxed);
  request_commit(self);
}

ledger_actor::behavior_type ledger_behavior(ledger_pointer self, std::shared_ptr<ledger_deps> deps) {
  core::name_this_thread("ledger"); // a detached actor: this runs on its own thread
  self->state.deps = std::move(*deps);
  if (self->state.deps.store->sync_mode() == db::durability::after_sync) {
    auto me = caf::actor_cast<ledger_actor>(self);
    self->state.acks = std::make_unique<ack_after_sync>(
      *self->state.deps.store, self->state.deps.stats, self->state.deps.log,
      [me](std::uint64_t groups) { caf::anon_send(me, synced_atom_v, groups); },
      [me](std::string why) { caf::anon_send(me, lost_atom_v, std::move(why)); });
  }
  self->state.log_read = self->state.log_committed = self->state.deps.log_start; // what follows is replayed
  self->state.deadlines_due = true; // deadlines that passed while the daemon was down fire at start
  self->state.purge_due = true;     // and the daily purge runs once at start
  self->state.next_purge = std::chrono::steady_clock::now() + self->state.deps.purge_every;
  self->send(self, flush_atom_v);
  self->state.flush_scheduled = true;
  self->delayed_send(self, std::chrono::seconds{1}, tick_atom_v);
  return {
    [=](intake_job_ptr& j) { enqueue(self, std::move(j)); },
    [=](events_job_ptr& j) { enqueue(self, std::move(j)); },
    [=](health_job_ptr& j) {
      auto& st = self->state;
      if (!st.lost.empty())
        j->done({false, "a sync of the ledger to the disk failed (" + st.lost +
                            "): deliveryd restarts to read the ledger again from the disk"});
      else if (!st.failing.empty())
        j->done({false, "the ledger cannot commit: " + st.failing});
      else if (auto log_why = st.deps.log ? st.deps.log->failing() : std::string{}; !log_why.empty())
        j->done({false, "the ack log cannot make webhooks durable: " + log_why});
      else if (auto why = st.acks ? st.acks->failing() : std::string{}; !why.empty())
        j->done({false, "the ledger cannot make its commits durable: " + why});
      else if (!st.deps.store->probe())
        j->done({false, "the ledger does not answer queries"});
      else
        j->done({true, ""});
    },
    [=](flush_atom) { flush(self); },
    [=](synced_atom, std::uint64_t groups) {
      auto& st = self->state;
      st.syncs_pending -= std::min<std::size_t>(st.syncs_pending, groups);
      if (st.tx_open)
        request_commit(self);
      else
        schedule_log(self);
    },
    [=](logged_atom, std::uint64_t) { schedule_log(self); },
    [=](lost_atom, std::string& why) { lose(self->state, why); },
    [=](tick_atom) {
      auto& st = self->state;
      st.deadlines_due = true;
      if (std::chrono::steady_clock::now() >= st.next_purge) {
        st.purge_due = true;
        st.next_purge = std::chrono::steady_clock::now() + st.deps.purge_every;
      }
      if (!st.flush_scheduled) {
        st.flush_scheduled = true;
        self->send(self, flush_atom_v);
      }
      self->delayed_send(self, std::chrono::seconds{1}, tick_atom_v);
    },
    [=](stop_atom) {
      flush(self);
      // Everything the ack log acknowledged goes into the ledger before it stops (the log takes no more by now).
      auto& st = self->state;
      for (auto before = st.log_committed; log_due(st) && st.lost.empty() && st.failing.empty();
           before = st.log_committed) {
        flush(self);
        if (st.log_committed == before)
          break;
      }
      self->state.acks.reset(); // answers every committed job before the actor goes
      self->state.stopping = true;
      self->quit();
    },
  };
}

} // namespace

ledger_actor spawn_ledger(caf::actor_system& sys, ledger_deps deps) {
  return sys.spawn<caf::detached>(ledger_behavior, std::make_shared<ledger_deps>(std::move(deps)));
}

} // namespace deliveryd::actors
