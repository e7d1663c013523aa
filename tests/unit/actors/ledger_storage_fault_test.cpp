/// The ledger actor when its commits fail. Running as root, permissions do not stop writes; RLIMIT_FSIZE does
/// (root is not exempt): with the limit at 1 byte, SQLite cannot append to the WAL, as on a full disk. SQLite
/// only ([sqlite]): a PostgreSQL server's disk is not this process's.

#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include <sys/resource.h>

#include "ledger_harness.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

/// Writes past one byte of any file fail (EFBIG, SIGXFSZ ignored) until the guard ends. Process-wide: the test
/// checks nothing while it holds, so that Catch2's own output is never cut short.
class file_size_limit {
public:
  file_size_limit() {
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ok_ = ::getrlimit(RLIMIT_FSIZE, &previous_) == 0;
    rlimit tight = previous_;
    tight.rlim_cur = 1;
    ok_ = ok_ && ::setrlimit(RLIMIT_FSIZE, &tight) == 0;
  }
  ~file_size_limit() { lift(); }
  file_size_limit(const file_size_limit&) = delete;
  file_size_limit& operator=(const file_size_limit&) = delete;

  /// Whether the limit is in force.
  bool ok() const noexcept { return ok_; }

  /// Restores the previous limit and signal disposition.
  void lift() {
    if (lifted_)
      return;
    lifted_ = true;
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
  }

private:
  rlimit previous_{};
  void (*previous_handler_)(int) = nullptr;
  bool ok_ = false;
  bool lifted_ = false;
};

/// Asks for the ledger's health without checking anything (usable while the file size limit holds).
std::optional<actors::health_report> ask_health(const actors::ledger_actor& ledger) {
  auto promise = std::make_shared<std::promise<actors::health_report>>();
  auto future = promise->get_future();
  auto job = std::make_shared<actors::health_job>();
  job->done = [promise](actors::health_report r) { promise->set_value(std::move(r)); };
  caf::anon_send(ledger, job);
  if (future.wait_for(answer_timeout) != std::future_status::ready)
    return std::nullopt;
  return future.get();
}

/// What the ledger said while its commits failed.
struct under_full_disk {
  bool limited = false;                           ///< the file size limit was in force
  std::optional<answer<db::intake_outcome>> job;  ///< the answer to an intake job of send "during"
  std::optional<actors::health_report> at_once;   ///< health asked from inside that answer
  std::optional<actors::health_report> later;     ///< health asked `wait` after the answer, disk still full
};

/// Sends one intake job while no file can grow, and asks for health right after its answer (from inside it, so
/// that the question reaches the ledger before any later commit) and again after `wait`.
under_full_disk fail_one_commit(ledger_harness& h, std::chrono::milliseconds wait) {
  under_full_disk seen;
  auto at_once = std::make_shared<std::promise<actors::health_report>>();
  auto at_once_future = at_once->get_future();
  auto health = std::make_shared<actors::health_job>();
  health->done = [at_once](actors::health_report r) { at_once->set_value(std::move(r)); };
  auto pending = expect_answer<db::intake_outcome>();
  auto job = std::make_shared<actors::intake_job>();
  job->sends = {make_send("during")};
  job->done = [inner = std::move(pending.done), ledger = h.ledger, health](auto result) {
    inner(std::move(result));
    caf::anon_send(ledger, health);
  };

  file_size_limit limit;
  seen.limited = limit.ok();
  if (seen.limited) {
    caf::anon_send(h.ledger, job);
    if (pending.future.wait_for(answer_timeout) == std::future_status::ready)
      seen.job = pending.future.get();
    if (at_once_future.wait_for(answer_timeout) == std::future_status::ready)
      seen.at_once = at_once_future.get();
    if (wait.count() > 0) {
      std::this_thread::sleep_for(wait);
      seen.later = ask_health(h.ledger);
    }
  }
  limit.lift();
  return seen;
}

/// Starts a ledger with one committed send, "before".
void commit_one(ledger_harness& h) {
  auto [job, future, calls] = intake_job({make_send("before")});
  caf::anon_send(h.ledger, job);
  REQUIRE(outcome_of(take(future)).accepted == 1);
}

} // namespace

TEST_CASE("a failing commit answers storage_failing, stores nothing, and health says so", "[actors][ledger][sqlite]") {
  ledger_harness h;
  commit_one(h);
  auto seen = fail_one_commit(h, std::chrono::milliseconds{0});
  REQUIRE(seen.limited);

  REQUIRE(seen.job.has_value());
  auto* failure = std::get_if<actors::ledger_failure>(&seen.job->result.value);
  REQUIRE(failure != nullptr);
  CHECK(*failure == actors::ledger_failure::storage_failing);
  CHECK_THAT(seen.job->result.detail, Catch::Contains("nothing was stored"));

  REQUIRE(seen.at_once.has_value());
  CHECK_FALSE(seen.at_once->ok);
  CHECK_THAT(seen.at_once->detail, Catch::Contains("cannot commit"));

  // The disk has room again: the same send is accepted (not a duplicate: nothing of it was stored) and the
  // ledger is healthy.
  auto [retry, retry_answer, retry_calls] = intake_job({make_send("during")});
  caf::anon_send(h.ledger, retry);
  auto out = outcome_of(take(retry_answer));
  CHECK(out.accepted == 1);
  CHECK(out.duplicates == 0);
  auto healthy = h.health();
  CHECK(healthy.ok);
  CHECK(healthy.detail.empty());
  CHECK(all_sends(h.dir.ledger()) == std::vector<std::string>{"before", "during"});
  CHECK(history_of(*open_reader(h.dir.ledger()), "during") == std::vector<std::string>{"intake/pending/"});
}

TEST_CASE("health stays failing while commits still fail, across the ledger's ticks", "[actors][ledger][sqlite]") {
  ledger_harness h;
  commit_one(h);
  // Over 2.5 s the ledger ticks twice; each tick commits an empty deadline transaction, which writes nothing.
  auto seen = fail_one_commit(h, std::chrono::milliseconds{2500});
  REQUIRE(seen.limited);
  REQUIRE(seen.job.has_value());
  REQUIRE(std::holds_alternative<actors::ledger_failure>(seen.job->result.value));
  REQUIRE(seen.at_once.has_value());
  CHECK_FALSE(seen.at_once->ok);
  REQUIRE(seen.later.has_value());
  INFO("contract: GET /healthz is 503 while the ledger's commits fail; the disk was still full");
  CHECK_FALSE(seen.later->ok);
}
