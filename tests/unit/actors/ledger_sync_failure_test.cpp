/// The ledger actor when a sync to the disk fails. After a failed fsync the kernel may have dropped the pages it
/// could not write, and a later sync that succeeds does not write them again ("fsyncgate"): the ledger must never
/// acknowledge anything after that, nor sync again as if the first failure had not happened. The writer here is
/// the real one inside a wrapper that fails on demand; tests/integration/disk_fault_test.cpp does the same with a
/// disk layer under the daemon.

#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>

#include "ledger_harness.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

/// The real writer, with make_durable() and commit() that fail (as a failed fdatasync, or SQLite's own fsync in a
/// commit, would) while the test arms them; it counts the syncs that reached the real writer.
class failing_writer final : public db::ledger_writer {
public:
  struct controls {
    std::atomic<int> fail_syncs{0};   ///< the next this-many make_durable() calls fail
    std::atomic<int> fail_commits{0}; ///< the next this-many commit() calls fail, the sync error's way
    std::atomic<int> full_commits{0}; ///< the next this-many commit() calls fail as on a full disk
    std::atomic<int> syncs{0};        ///< make_durable() calls that reached the real writer
  };

  failing_writer(std::unique_ptr<db::ledger_writer> inner, std::shared_ptr<controls> c)
    : inner_{std::move(inner)}, c_{std::move(c)} {}

  static db::ledger_error lost(const char* what) {
    db::ledger_error e{db::fault::unavailable, what};
    e.durability_lost = true;
    return e;
  }

  db::result<void> begin() override { return inner_->begin(); }
  db::result<void> commit() override {
    if (take(c_->fail_commits)) {
      inner_->rollback();
      return lost("a sync of the ledger to the disk failed (disk I/O error: Input/output error)");
    }
    if (take(c_->full_commits)) {
      inner_->rollback();
      return db::ledger_error{db::fault::full, "the disk is full"};
    }
    return inner_->commit();
  }
  void rollback() noexcept override { inner_->rollback(); }
  db::durability sync_mode() const noexcept override { return inner_->sync_mode(); }
  db::result<void> make_durable() override {
    if (take(c_->fail_syncs))
      return lost("fdatasync of the WAL failed: Input/output error");
    ++c_->syncs;
    return inner_->make_durable();
  }
  db::result<db::intake_outcome> register_sends(const std::vector<adapters::intake::send_request>& sends,
                                                std::vector<adapters::intake::rejection> rejected,
                                                core::timestamp now) override {
    return inner_->register_sends(sends, std::move(rejected), now);
  }
  db::result<db::events_outcome> apply_events(const std::vector<db::vendor_event>& events,
                                              core::timestamp now) override {
    return inner_->apply_events(events, now);
  }
  db::result<db::events_outcome> apply_polls(const std::vector<db::poll_update>& polls, core::timestamp now) override {
    return inner_->apply_polls(polls, now);
  }
  db::result<db::deadline_outcome> fire_deadlines(core::timestamp now, std::size_t limit,
                                                  std::map<core::vendor, std::size_t>* per_vendor) override {
    return inner_->fire_deadlines(now, limit, per_vendor);
  }
  db::result<db::purge_outcome> purge(core::timestamp now, int retention_days, std::size_t limit) override {
    return inner_->purge(now, retention_days, limit);
  }
  db::result<void> write_probe(core::timestamp now) override { return inner_->write_probe(now); }
  bool probe() noexcept override { return inner_->probe(); }

private:
  static bool take(std::atomic<int>& armed) {
    int n = armed.load();
    while (n > 0)
      if (armed.compare_exchange_weak(n, n - 1))
        return true;
    return false;
  }

  std::unique_ptr<db::ledger_writer> inner_;
  std::shared_ptr<controls> c_;
};

/// What the daemon was told through on_durability_lost.
struct lost_calls {
  std::mutex mutex;
  std::vector<std::string> reasons;
  std::size_t count() {
    std::lock_guard lock{mutex};
    return reasons.size();
  }
};

/// A ledger whose writer fails on demand, and what it told the daemon.
struct failing_ledger {
  std::shared_ptr<failing_writer::controls> controls = std::make_shared<failing_writer::controls>();
  std::shared_ptr<lost_calls> told = std::make_shared<lost_calls>();
  ledger_harness h{ledger_harness::options{
    {},
    [c = controls](std::unique_ptr<db::ledger_writer> inner) -> std::unique_ptr<db::ledger_writer> {
      return std::make_unique<failing_writer>(std::move(inner), c);
    },
    [t = told](const std::string& why) {
      std::lock_guard lock{t->mutex};
      t->reasons.push_back(why);
    }}};

  /// Sends an intake job of one send and waits for its answer.
  answer<db::intake_outcome> intake(const std::string& id) {
    auto [job, future, calls] = intake_job({make_send(id)});
    caf::anon_send(h.ledger, job);
    auto a = take(future);
    CHECK(*calls == 1);
    return a;
  }
};

/// The failure an answer carries, or nullopt for a success.
std::optional<actors::ledger_failure> failure_of(const answer<db::intake_outcome>& a) {
  if (auto* f = std::get_if<actors::ledger_failure>(&a.result.value))
    return *f;
  return std::nullopt;
}

} // namespace

TEST_CASE("a failed sync is final: its jobs and every later one are answered 503, and nothing is synced again",
          "[actors][ledger][sync][sqlite]") {
  failing_ledger l;
  REQUIRE(outcome_of(l.intake("before")).accepted == 1);
  const int syncs_before = l.controls->syncs.load();
  CHECK(syncs_before >= 1);

  l.controls->fail_syncs = 1;
  auto during = l.intake("during");
  REQUIRE(failure_of(during) == actors::ledger_failure::storage_failing);
  CHECK_THAT(during.result.detail, Catch::Contains("fdatasync of the WAL failed"));
  CHECK_THAT(during.result.detail, Catch::Contains("read the ledger again from the disk"));

  // The disk would take a sync again, and the retried sync would succeed: it proves nothing about the pages the
  // failed one dropped, so the ledger neither tries it nor acknowledges anything.
  REQUIRE(l.controls->fail_syncs == 0);
  for (const char* id : {"after-1", "after-2", "during"}) {
    INFO(id);
    auto later = l.intake(id);
    REQUIRE(failure_of(later) == actors::ledger_failure::storage_failing);
    CHECK_THAT(later.result.detail, Catch::Contains("read the ledger again from the disk"));
  }
  CHECK(l.controls->syncs == syncs_before);

  auto health = l.h.health();
  CHECK_FALSE(health.ok);
  CHECK_THAT(health.detail, Catch::Contains("a sync of the ledger to the disk failed"));
  CHECK_THAT(health.detail, Catch::Contains("fdatasync of the WAL failed"));

  l.h.stop();
  CHECK(l.controls->syncs == syncs_before); // not even the last sync of an orderly stop
  REQUIRE(l.told->count() == 1);
  CHECK_THAT(l.told->reasons[0], Catch::Contains("fdatasync of the WAL failed"));
  // What was acknowledged is there; what came after the failure was never applied.
  const auto ids = all_sends(l.h.dir.ledger());
  CHECK(std::find(ids.begin(), ids.end(), "before") != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "after-1") == ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "after-2") == ids.end());
}

TEST_CASE("a commit whose own sync fails is final as well, and the daemon is told once",
          "[actors][ledger][sync][postgresql]") {
  failing_ledger l;
  REQUIRE(outcome_of(l.intake("before")).accepted == 1);

  l.controls->fail_commits = 1;
  auto during = l.intake("during");
  REQUIRE(failure_of(during) == actors::ledger_failure::storage_failing);
  CHECK_THAT(during.result.detail, Catch::Contains("a sync of the ledger to the disk failed"));
  REQUIRE(l.controls->fail_commits == 0);
  auto later = l.intake("later");
  REQUIRE(failure_of(later) == actors::ledger_failure::storage_failing);
  CHECK_FALSE(l.h.health().ok);

  l.h.stop();
  REQUIRE(l.told->count() == 1);
  const auto ids = all_sends(l.h.dir.ledger());
  CHECK(std::find(ids.begin(), ids.end(), "before") != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "during") == ids.end()); // rolled back
  CHECK(std::find(ids.begin(), ids.end(), "later") == ids.end());  // never applied
}

TEST_CASE("a failed write that is not a sync (a full disk) is not final: the next commit is acknowledged",
          "[actors][ledger][sync][postgresql]") {
  // The other side of the rule: only a lost sync stops the ledger. A commit that failed for want of space was
  // rolled back and wrote nothing that a later sync could miss (ledger_storage_fault_test.cpp, with a real limit).
  failing_ledger l;
  REQUIRE(outcome_of(l.intake("before")).accepted == 1);
  l.controls->full_commits = 1;
  auto during = l.intake("during");
  REQUIRE(failure_of(during) == actors::ledger_failure::storage_failing);
  CHECK_THAT(during.result.detail, Catch::Contains("nothing was stored"));
  auto again = l.intake("during");
  CHECK(outcome_of(again).accepted == 1);
  CHECK(l.h.health().ok);
  l.h.stop();
  CHECK(l.told->count() == 0);
  const auto ids = all_sends(l.h.dir.ledger());
  CHECK(std::find(ids.begin(), ids.end(), "during") != ids.end());
}
