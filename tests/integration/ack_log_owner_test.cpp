/// The ack log and the ledger it belongs to (SQLite): a backup restored beside its own log gets the webhooks the
/// log acknowledged after the backup, even a backup made before ledgers were named; a new ledger beside another
/// ledger's log refuses to start instead of applying that ledger's webhooks or dropping them.

#include <catch2/catch.hpp>

#include <SQLiteCpp/Database.h>

#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

TEST_CASE("ack log: a restored backup replays its own log; a new ledger beside another ledger's log refuses to start",
          "[integration][sqlite][durability]") {
  daemon_process d;
  const auto ledger = d.ledger_path();
  const auto folder = fs::path{ledger.string() + ".acklog"};
  const auto backup = ledger.parent_path() / "backup.db";
  {
    auto ops = d.ops_client();
    const auto base = now_seconds() - 10min;
    auto res = post_sends(*ops, json::array({twilio_send("own-1", base, "SMown0000000000000000000000000001"),
                                             twilio_send("own-2", base, "SMown0000000000000000000000000002")}));
    REQUIRE(body_of(res)["accepted"] == 2);
  }
  REQUIRE(d.terminate() == 0);
  {
    // The backup operations.md gives, with the ledger's name taken out: a backup made before ledgers had one.
    SQLite::Database live{ledger.string(), SQLite::OPEN_READONLY};
    live.backup(backup.string().c_str(), SQLite::Database::Save);
    SQLite::Database copy{backup.string(), SQLite::OPEN_READWRITE};
    REQUIRE(copy.exec("DELETE FROM meta WHERE key = 'ledger_id'") == 1);
  }

  // Callbacks acknowledged after the backup, then a kill: they are in the log, whatever the ledger applied.
  d.start();
  {
    auto hooks = d.webhooks_client();
    auto one = post_twilio(*hooks, d.public_url(), twilio_callback("SMown0000000000000000000000000001", "delivered"));
    auto two = post_twilio(*hooks, d.public_url(),
                           twilio_callback("SMown0000000000000000000000000002", "undelivered", "30003"));
    REQUIRE(one);
    REQUIRE(one->status == 200);
    REQUIRE(two);
    REQUIRE(two->status == 200);
  }
  d.kill_hard();
  const auto log_id = read_file(folder / "ledger-id");
  REQUIRE(log_id.size() > 10);

  // The restore of operations.md: the backup in place, the old WAL gone, the log left where it is.
  fs::copy_file(backup, ledger, fs::copy_options::overwrite_existing);
  fs::remove(fs::path{ledger.string() + "-wal"});
  fs::remove(fs::path{ledger.string() + "-shm"});
  d.start();
  {
    auto ops = d.ops_client();
    auto one = wait_for_send(*ops, "own-1", [](const json& s) { return s["status"] == "sent"; });
    CHECK(one["status"] == "sent");
    auto two = wait_for_send(*ops, "own-2", [](const json& s) { return s["status"] == "failed"; });
    CHECK(two["status"] == "failed");
  }
  // The unnamed ledger took its log's name.
  CHECK(ledger_rows(d, "SELECT value FROM meta WHERE key = 'ledger_id'")
        == std::vector<std::vector<std::string>>{{log_id.substr(0, log_id.find('\n'))}});
  REQUIRE(d.terminate() == 0);

  // A new ledger beside that log: refused, and the log is left as it was.
  fs::remove(ledger);
  fs::remove(fs::path{ledger.string() + "-wal"});
  fs::remove(fs::path{ledger.string() + "-shm"});
  std::vector<fs::path> before;
  for (const auto& entry : fs::directory_iterator{folder})
    before.push_back(entry.path());
  std::sort(before.begin(), before.end());
  auto refused = run_program({DELIVERYD_BINARY, "--config", d.config_path().string()}, 20s);
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.output, Catch::Contains("belongs to another ledger"));
  CHECK_THAT(refused.output, Catch::Contains("Move the folder away"));
  std::vector<fs::path> after;
  for (const auto& entry : fs::directory_iterator{folder})
    after.push_back(entry.path());
  std::sort(after.begin(), after.end());
  CHECK(after == before);
  CHECK(read_file(folder / "ledger-id") == log_id);

  // Moved away, as the message says: the new ledger starts with a log of its own, and holds none of the old
  // ledger's sends.
  fs::rename(folder, ledger.parent_path() / "old.acklog");
  d.start();
  auto ops = d.ops_client();
  auto gone = ops->Get("/v1/sends/own-1");
  REQUIRE(gone);
  CHECK(gone->status == 404);
}
