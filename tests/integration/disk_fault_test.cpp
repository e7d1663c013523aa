// Disk faults under the daemon, through the fault layer (tests/faultfs/: an LD_PRELOAD page cache over a simulated
// disk): a sync of the WAL that fails with EIO or ENOSPC, writes that fail, and a power cut after them. The rule
// under test (contract, "2xx means durable"): nothing a failed sync covered is acknowledged; after a failed sync
// deliveryd acknowledges nothing more, says why, exits 75 and, started again, reads the ledger from what the disk
// holds (a retried fsync that succeeds proves nothing about the pages the failed one dropped); a failed write
// changes nothing and the ledger recovers in place. Each case prints what it saw. SQLite only: a PostgreSQL
// server's disk is the server's.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <catch2/catch.hpp>

#include "faultfs_control.hpp"
#include "harness.hpp"
#include "load_support.hpp"

using namespace it;
using namespace std::chrono_literals;
namespace faultfs = deliveryd::testing::faultfs;

namespace {

/// A ledger folder under the fault layer: every file in it is tracked; the layer's state is kept apart.
struct disk_under_test {
  temp_dir root_dir;
  temp_dir state_dir;
  faultfs::control disk{root_dir.path(), state_dir.path() / "faultfs", DELIVERYD_FAULTFS_LIBRARY};

  /// The daemon of these tests, its ledger on the simulated disk.
  daemon_options options() const {
    daemon_options o;
    o.ledger_path = root_dir.path() / "ledger.db";
    o.environment = disk.environment();
    return o;
  }
};

/// When every send of these tests was requested: one instant, so that a send posted again is the same send.
const seconds_point requested = now_seconds() - 1min;

/// One intake of one send; the raw result.
httplib::Result post_one(httplib::Client& ops, const std::string& id) {
  return post_sends(ops, json::array({twilio_send(id, requested, "SM" + id)}));
}

/// The status of GET /v1/sends/{id}.
int send_status(httplib::Client& ops, const std::string& id) {
  auto res = ops.Get(("/v1/sends/" + id).c_str());
  REQUIRE(res);
  return res->status;
}

/// Registers `n` sends named prefix + index, one request each, every one acknowledged.
std::vector<std::string> acknowledge(httplib::Client& ops, const std::string& prefix, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(prefix + std::to_string(i));
    auto res = post_one(ops, ids.back());
    REQUIRE(res);
    REQUIRE(res->status == 200);
    REQUIRE(body_of(res)["accepted"] == 1);
  }
  return ids;
}

/// How many of `ids` GET /v1/sends finds.
std::size_t present(httplib::Client& ops, const std::vector<std::string>& ids) {
  std::size_t found = 0;
  for (const auto& id : ids)
    found += send_status(ops, id) == 200 ? 1 : 0;
  return found;
}

} // namespace

TEST_CASE("disk faults: a failed fdatasync of the WAL is answered 503, and deliveryd exits 75 and comes back on "
          "what the disk holds",
          "[integration][disk][sqlite]") {
  const auto [error, name] = GENERATE(std::pair{EIO, "EIO"}, std::pair{ENOSPC, "ENOSPC"});
  INFO("fdatasync fails with " << name);
  disk_under_test t;
  daemon_process d{t.options()};
  auto ops = d.ops_client();
  const auto acked = acknowledge(*ops, "before-", 20);

  t.disk.arm(faultfs::op::fdatasync, error, 1, "-wal");
  auto refused = post_one(*ops, "during");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->has_header("Retry-After"));
  CHECK(body_of(refused)["error"] == "unavailable");
  CHECK_THAT(body_of(refused)["detail"].get<std::string>(), Catch::Contains("read the ledger again from the disk"));
  CHECK_THAT(body_of(refused)["detail"].get<std::string>(), Catch::Contains(std::strerror(error)));

  // It stops by itself: exit status 75, for systemd to start it again (Restart=on-failure).
  const auto refused_at = std::chrono::steady_clock::now();
  CHECK(d.wait_for_own_exit(20s) == 75);
  const auto exit_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - refused_at).count();
  const auto log = d.log();
  CHECK_THAT(log, Catch::Contains("ledger sync_failed: fdatasync of the WAL failed"));
  CHECK_THAT(log, Catch::Contains("deliveryd stopping: a sync of the ledger failed"));
  const auto faults = t.disk.counters();
  CHECK(faults[faultfs::counter::fdatasync_faults] == 1);
  CHECK(faults[faultfs::counter::lost_pages] > 0); // the failed sync dropped the pages of "during"'s commit
  CHECK(faults[faultfs::counter::untracked_opens] == 0);

  // Started again without a power cut, the ledger is read from the disk: the pages the failed sync lost are
  // still in the (simulated) page cache, and the start drops the cached pages of the ledger and its WAL first.
  // "during" may be there or not: SQLite's checkpoint when the last connection closed may have written the
  // cache's view of it to the database file and synced that (it then is on the disk); either way it was answered
  // 503, and the pipeline's retry is accepted or a duplicate, never a conflict.
  // The WAL is gone when that checkpoint ran to its end (SQLite then deletes it): only the database file is left
  // to drop from the cache.
  t.disk.disarm();
  const bool wal_left = std::filesystem::exists(t.root_dir.path() / "ledger.db-wal");
  d.start();
  CHECK(t.disk.counters()[faultfs::counter::dontneed_calls] >= faults[faultfs::counter::dontneed_calls] + 1 + wal_left);
  const bool kept = send_status(*ops, "during") == 200;
  CHECK(present(*ops, acked) == acked.size());
  auto again = post_one(*ops, "during"); // the pipeline retries after its 503
  REQUIRE(again);
  CHECK(again->status == 200);
  INFO("the retry: " << again->body);
  CHECK(body_of(again)["accepted"] == (kept ? 0 : 1));
  CHECK(body_of(again)["duplicates"] == (kept ? 1 : 0));

  // Power goes: everything acknowledged, before and after the fault, is on the disk.
  d.kill_hard();
  t.disk.power_cut();
  CHECK(integrity_of(d.ledger_path()) == "ok");
  d.start();
  const auto after = present(*ops, acked) + (send_status(*ops, "during") == 200 ? 1 : 0);
  std::cout << "disk faults: fdatasync " << name << ": 503 with Retry-After, exit 75 " << exit_ms
            << " ms after the 503; " << faults[faultfs::counter::lost_pages] << " pages lost; the refused send "
            << (kept ? "kept by the closing checkpoint" : "gone") << "; acknowledged "
            << acked.size() + 1 << ", present after the power cut " << after << ", lost "
            << acked.size() + 1 - after << std::endl;
  CHECK(after == acked.size() + 1);
}

TEST_CASE("disk faults: a failed write is answered 503, stores nothing, and the ledger recovers without a restart",
          "[integration][disk][sqlite]") {
  const auto [error, name] = GENERATE(std::pair{EIO, "EIO"}, std::pair{ENOSPC, "ENOSPC"});
  INFO("writes to the WAL fail with " << name);
  disk_under_test t;
  daemon_process d{t.options()};
  auto ops = d.ops_client();
  const auto acked = acknowledge(*ops, "before-", 10);

  t.disk.arm(faultfs::op::write, error, -1, "-wal");
  auto refused = post_one(*ops, "during");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->has_header("Retry-After"));
  CHECK_THAT(body_of(refused)["detail"].get<std::string>(), Catch::Contains("nothing was stored"));
  CHECK(get_json(*ops, "/healthz", 503)["status"] != "ok");
  CHECK(t.disk.counters()[faultfs::counter::write_faults] > 0);

  // The disk takes writes again: the ledger's probe commit finds it, without a restart and without a sync that
  // could hide a loss (the failed write never reached the page cache).
  t.disk.disarm();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (ops->Get("/healthz")->status != 200) {
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(100ms);
  }
  CHECK(d.running());
  auto again = post_one(*ops, "during");
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(body_of(again)["accepted"] == 1); // not a duplicate: nothing of the refused request was stored

  d.kill_hard();
  t.disk.power_cut();
  CHECK(integrity_of(d.ledger_path()) == "ok");
  d.start();
  const auto after = present(*ops, acked) + (send_status(*ops, "during") == 200 ? 1 : 0);
  std::cout << "disk faults: write " << name << ": 503 with Retry-After, recovered in place; acknowledged "
            << acked.size() + 1 << ", present after the power cut " << after << ", lost " << acked.size() + 1 - after
            << std::endl;
  CHECK(after == acked.size() + 1);
}

namespace {

/// Posts "delivered" for sends prefix + index (registered with message ids "SM" + the same), one callback each,
/// every one acknowledged; their ids.
std::vector<std::string> deliver(daemon_process& d, httplib::Client& hooks, const std::string& prefix, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(prefix + std::to_string(i));
    auto res = post_twilio(hooks, d.public_url(), twilio_callback("SM" + ids.back(), "delivered"));
    REQUIRE(res);
    REQUIRE(res->status == 200);
  }
  return ids;
}

/// How many of `ids` are `sent`.
std::size_t delivered(httplib::Client& ops, const std::vector<std::string>& ids) {
  std::size_t n = 0;
  for (const auto& id : ids) {
    auto res = ops.Get(("/v1/sends/" + id).c_str());
    REQUIRE(res);
    n += res->status == 200 && body_of(res)["status"] == "sent" ? 1 : 0;
  }
  return n;
}

} // namespace

TEST_CASE("disk faults: a failed fdatasync of the ack log is answered 503, and deliveryd exits 75 with every "
          "acknowledged callback kept",
          "[integration][disk][sqlite]") {
  const auto [error, name] = GENERATE(std::pair{EIO, "EIO"}, std::pair{ENOSPC, "ENOSPC"});
  INFO("fdatasync of the ack log fails with " << name);
  disk_under_test t;
  daemon_process d{t.options()};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  acknowledge(*ops, "cb-", 21);
  const auto acked = deliver(d, *hooks, "cb-", 20);
  CHECK(delivered(*ops, acked) == acked.size()); // a query sees every callback acknowledged before it

  t.disk.arm(faultfs::op::fdatasync, error, 1, ".log");
  auto refused = post_twilio(*hooks, d.public_url(), twilio_callback("SMcb-20", "delivered"));
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->has_header("Retry-After"));
  CHECK_THAT(body_of(refused)["detail"].get<std::string>(), Catch::Contains("fdatasync of the ack log failed"));
  CHECK_THAT(body_of(refused)["detail"].get<std::string>(), Catch::Contains(std::strerror(error)));
  // Nothing more is acknowledged: a later callback is refused without a sync.
  auto later = post_twilio(*hooks, d.public_url(), twilio_callback("SMcb-0", "delivered"));
  if (later) // the daemon may already be stopping
    CHECK(later->status == 503);
  CHECK(d.wait_for_own_exit(20s) == 75);
  CHECK_THAT(d.log(), Catch::Contains("deliveryd stopping: a sync of the ledger failed (ack log: fdatasync of the "
                                      "ack log failed"));
  const auto faults = t.disk.counters();
  CHECK(faults[faultfs::counter::fdatasync_faults] == 1);
  CHECK(faults[faultfs::counter::untracked_opens] == 0);

  // Power goes after the exit: every acknowledged callback is on the disk, in the ledger or in the log.
  t.disk.disarm();
  t.disk.power_cut();
  d.start();
  const auto after = delivered(*ops, acked);
  std::cout << "disk faults: ack log fdatasync " << name << ": 503 with Retry-After, exit 75; acknowledged "
            << acked.size() << " callbacks, sent after a power cut " << after << std::endl;
  CHECK(after == acked.size());
}

TEST_CASE("disk faults: a failed write of the ack log is answered 503, and the next callback is taken",
          "[integration][disk][sqlite]") {
  disk_under_test t;
  daemon_process d{t.options()};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  acknowledge(*ops, "cb-", 11);
  const auto acked = deliver(d, *hooks, "cb-", 10);

  t.disk.arm(faultfs::op::write, ENOSPC, 1, ".log");
  auto refused = post_twilio(*hooks, d.public_url(), twilio_callback("SMcb-10", "delivered"));
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->has_header("Retry-After"));
  CHECK_THAT(body_of(refused)["detail"].get<std::string>(), Catch::Contains("nothing of this request was acknowledged"));
  CHECK(t.disk.counters()[faultfs::counter::write_faults] == 1);
  CHECK(get_json(*ops, "/v1/sends/cb-10")["status"] == "pending");

  auto again = post_twilio(*hooks, d.public_url(), twilio_callback("SMcb-10", "delivered"));
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(d.running());

  d.kill_hard();
  t.disk.power_cut();
  d.start();
  std::vector<std::string> all = acked;
  all.push_back("cb-10");
  CHECK(delivered(*ops, all) == all.size());
}
