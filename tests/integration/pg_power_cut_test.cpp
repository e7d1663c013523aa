// The shared ledger's server through power cuts (issue 19; contract, "Several hosts: the shared ledger"): two
// daemons on a PostgreSQL cluster of the test's own whose data directory lies under the fault layer
// (tests/faultfs/: the real files are the page cache, the layer keeps what fsync and fdatasync made durable apart).
// At a random moment under load every process of the server is SIGKILLed at once and the power is cut: each file of
// the data directory becomes what its disk kept. The server starts again (crash recovery from that disk), the
// daemons carry on by themselves (503 with Retry-After while it is down), and nothing they acknowledged is lost.
// DELIVERYD_PG_CUTS sets the number of cuts (default 3), DELIVERYD_PG_CUT_SEED replays the random moments. Tagged
// [.][postgresql]: it runs in ctest's "integration on postgresql" entry only.
#include <catch2/catch.hpp>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "faultfs_control.hpp"
#include "harness.hpp"
#include "shared_ledger_load.hpp"
#include "../support/postgres_cluster.hpp"

using namespace it;
using namespace std::chrono_literals;
using deliveryd::testing::postgres_cluster;
namespace faultfs = deliveryd::testing::faultfs;

namespace {

/// A positive number from the environment, else `fallback`.
unsigned long from_environment(const char* name, unsigned long fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && std::strtoul(text, nullptr, 10) > 0 ? std::strtoul(text, nullptr, 10) : fallback;
}

/// Waits until both daemons answer /healthz with `status` (up to `within`); true when they do.
bool both_answer(const std::array<std::unique_ptr<daemon_process>, 2>& daemons, int status,
                 std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  for (auto& d : daemons) {
    auto ops = d->ops_client();
    for (;;) {
      auto res = ops->Get("/healthz");
      if (res && res->status == status)
        break;
      if (std::chrono::steady_clock::now() > until)
        return false;
      std::this_thread::sleep_for(50ms);
    }
  }
  return true;
}

/// The send ids in the ledger, and those a "delivered" callback made sent.
struct ledger_ids {
  std::set<std::string> stored;
  std::set<std::string> sent;
};

ledger_ids ids_in(const postgres_cluster& server, const std::string& dbname) {
  ledger_ids ids;
  for (const auto& row : server.query(dbname, "SELECT send_id, status FROM sends")) {
    ids.stored.insert(row[0]);
    if (row[1] == "sent")
      ids.sent.insert(row[0]);
  }
  return ids;
}

/// How many of `ids` are not in `present`.
std::size_t missing(const std::vector<std::string>& ids, const std::set<std::string>& present) {
  std::size_t n = 0;
  for (const auto& id : ids)
    n += present.count(id) == 0;
  return n;
}

} // namespace

TEST_CASE("several hosts: power cuts of PostgreSQL's data directory under load lose nothing acknowledged",
          "[.][postgresql][pg-power-cut]") {
  REQUIRE(on_postgresql());
  const auto began = std::chrono::steady_clock::now();
  const auto cuts = from_environment("DELIVERYD_PG_CUTS", 3);
  const auto seed = from_environment("DELIVERYD_PG_CUT_SEED", std::random_device{}());
  std::mt19937_64 rng{seed};
  // 1 MB WAL segments and a small max_wal_size: under this load segments are created, recycled and checkpoints
  // fsync the data files within seconds, so the cuts meet all of PostgreSQL's durable paths, not the WAL alone.
  // At most 64 files open per process: the layer tracks 256 at once per process. Crash recovery begins with a sync
  // of the whole data directory, by default an fsync of each file, which the layer makes take seconds; right after
  // a cut nothing is dirty (each file is its disk), so syncfs, which the layer passes through, does the same work.
  postgres_cluster server{{.initdb_args = {"--wal-segsize=1"},
                           .settings = {"max_wal_size=4MB", "min_wal_size=2MB", "checkpoint_timeout=30s",
                                        "max_files_per_process=64", "recovery_init_sync_method=syncfs"}}};
  server.query("postgres", "CREATE DATABASE powercut");
  // Cleanly stopped: everything is on the disk, which the layer takes as each file's disk at its first open.
  server.stop();
  // The server runs as nobody, who may not reach the build tree (CI's clone lies under /root, mode 0700): the
  // dynamic loader would then skip the layer with a warning in the server's log, and nothing would be cut. The
  // server preloads a copy from its own folder.
  const auto library = server.dir() / "libdeliveryd_faultfs.so";
  std::filesystem::copy_file(DELIVERYD_FAULTFS_LIBRARY, library, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(library, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);
  faultfs::control layer{server.dir() / "data", server.dir() / "faultfs", library};
  server.hand_over(layer.state());
  server.set_server_environment(layer.environment());
  server.start();
  {
    // The start wrote postmaster.pid and more through the layer: if not, the server runs without it.
    INFO("the server wrote nothing through the fault layer: did its processes load " << library << "? "
         "(its log: " << server.dir() / "server.log" << ")");
    REQUIRE(layer.counters()[faultfs::counter::write_calls] > 0);
  }

  daemon_options options;
  options.postgresql_url = server.connection_string("powercut");
  std::array<std::unique_ptr<daemon_process>, 2> daemons;
  for (auto& d : daemons)
    d = std::make_unique<daemon_process>(options);
  shared_ledger_load load{{daemons[0].get(), daemons[1].get()}, same_day_base()};

  std::cout << "PostgreSQL power cuts (seed " << seed << "), set up in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count() << " s:\n";
  std::uint64_t thrown_away = 0;
  for (unsigned long cut = 1; cut <= cuts; ++cut) {
    std::this_thread::sleep_for(std::chrono::milliseconds{std::uniform_int_distribution<int>{1000, 3000}(rng)});
    server.kill_all();
    std::uint64_t dirty = 0; // what the cut throws away: pages written that no sync made durable
    for (const auto& file : layer.tracked_files())
      dirty += layer.dirty_pages(file).size();
    layer.power_cut();
    thrown_away += dirty;
    server.hand_over(server.dir() / "data"); // the cut may have made files as root
    server.hand_over(layer.state());
    // Nothing can be acknowledged while the server is down: what was acknowledged by now must survive the cut.
    const long unavailable_before = load.unavailable();
    std::this_thread::sleep_for(500ms);
    const auto acked = load.acked_sends();
    const bool refused_while_down = load.unavailable() > unavailable_before;
    const auto down_until = std::chrono::steady_clock::now();
    server.start();
    const auto started = std::chrono::duration<double>(std::chrono::steady_clock::now() - down_until).count();
    const bool back = both_answer(daemons, 200, 30s);
    const auto recovery = std::chrono::duration<double>(std::chrono::steady_clock::now() - down_until).count();
    const auto ids = ids_in(server, "powercut");
    const auto lost = missing(acked, ids.stored);
    std::cout << "  cut " << cut << "/" << cuts << ": acknowledged so far " << acked.size() << ", present after "
              << acked.size() - lost << ", lost " << lost << ", pages thrown away " << dirty << "; server up after "
              << started << " s, both daemons after " << recovery << " s" << std::endl;
    CHECK(lost == 0);
    CHECK(refused_while_down); // 503 with Retry-After while it was down
    CHECK(back);               // both daemons back by themselves
  }
  std::this_thread::sleep_for(1s);
  load.stop();

  const auto acked_sends = load.acked_sends();
  const auto acked_callbacks = load.acked_callbacks();
  const auto ids = ids_in(server, "powercut");
  const auto c = layer.counters();
  std::cout << "  in all: acknowledged " << acked_sends.size() << " sends and " << acked_callbacks.size()
            << " callbacks, lost " << missing(acked_sends, ids.stored) << ", callbacks not reflected "
            << missing(acked_callbacks, ids.sent) << "; the layer saw " << c[faultfs::counter::write_calls]
            << " writes, " << c[faultfs::counter::fdatasync_calls] << " fdatasyncs, "
            << c[faultfs::counter::fsync_calls] << " fsyncs, " << c[faultfs::counter::synced_pages]
            << " pages synced; the cuts threw away " << thrown_away << " pages" << std::endl;
  std::string told;
  for (const auto& [kind, n] : load.other())
    told += "answered " + kind + ": " + std::to_string(n) + "\n";
  INFO(told);
  CHECK(missing(acked_sends, ids.stored) == 0);
  CHECK(missing(acked_callbacks, ids.sent) == 0);
  CHECK(acked_sends.size() > 100 * cuts);
  CHECK(load.other().empty()); // 503 with Retry-After while down, and nothing else: no 500, no connection cut
  // The layer did track the data directory: the server's WAL syncs (fdatasync) and the checkpoints' (fsync) went
  // through it, no file escaped it, and the cuts had something to throw away.
  CHECK(c[faultfs::counter::fdatasync_calls] > 0);
  CHECK(c[faultfs::counter::fsync_calls] > 0);
  CHECK(c[faultfs::counter::untracked_opens] == 0);
  CHECK(thrown_away > 0);
  for (auto& d : daemons) {
    CHECK(d->running()); // no crash
    d->terminate();
  }
}
