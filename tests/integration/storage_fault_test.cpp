// Storage faults, end to end: the ledger on a small tmpfs that fills up under intake and callbacks, on an ext4
// image that the kernel turns read-only, a ledger that cannot be written at start, and damaged or foreign files
// at start (docs/operations.md, "Failure modes").
//
// The tests tagged [.storage] mount file systems, so they need root in a private mount namespace; the normal run
// skips them. Run them with
//     unshare -m --propagation private build/tests/integration_tests '[storage]'
// (ctest: "integration: storage faults"). Outside such a namespace they fail and say so: never a silent pass.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <stop_token>
#include <thread>

#include <sys/mount.h>
#include <unistd.h>

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>

#include "storage_support.hpp"

using namespace it;
using namespace it::storage;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// Milliseconds since `since`.
long long ms_since(steady::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - since).count();
}

// ---- traffic ------------------------------------------------------------------------------------------------

/// What one request was answered.
struct answered {
  int status = 0;            ///< 0: no answer
  bool retry_after = false;  ///< a Retry-After header came with it
  std::string body;
};

/// The answer of a request, as the traffic log keeps it.
answered answer_of(const httplib::Result& res) {
  if (!res)
    return {};
  return {res->status, res->has_header("Retry-After"), res->body};
}

/// Everything the traffic thread posted while the disk filled, and what came back.
struct traffic_log {
  std::mutex mutex;
  std::vector<std::pair<json, answered>> batches;            ///< intake batches
  std::vector<std::pair<std::string, answered>> callbacks;   ///< "delivered" callbacks, by send_id

  /// How many answers of `list` have this status.
  template <class List>
  static std::size_t count(const List& list, int status) {
    return static_cast<std::size_t>(
      std::count_if(list.begin(), list.end(), [&](const auto& p) { return p.second.status == status; }));
  }
};

/// Posts, in turn, intake batches of `batch` new sends and a "delivered" callback for one of the `registered`
/// sends "pre-<i>", until a stop is requested or the callbacks run out.
void post_traffic(const daemon_process& d, int registered, int batch, seconds_point at, std::stop_token stop,
                  traffic_log& log) {
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  for (int round = 0; round < registered && !stop.stop_requested(); ++round) {
    auto items = sends_of("full-" + std::to_string(round), batch, at, false);
    auto intake = answer_of(post_sends(*ops, items));
    const auto sid = sid_of("pre", round);
    auto callback = answer_of(post_twilio(*hooks, d.public_url(), twilio_callback(sid, "delivered")));
    std::lock_guard lock{log.mutex};
    log.batches.emplace_back(std::move(items), std::move(intake));
    log.callbacks.emplace_back("pre-" + std::to_string(round), std::move(callback));
  }
}

} // namespace

TEST_CASE("storage: a full disk answers 503 with Retry-After, stores nothing of it, and recovers without a restart",
          "[.storage][full]") {
  require_private_mounts();
  temp_dir base;
  // The filler takes what the ledger leaves. Under this traffic the WAL grows by tens of MB a second (it starts
  // again from its beginning only in a pause), so the disk is filled soon after the traffic starts, and the filler
  // must be large: what its removal frees must hold the WAL's pages when they are copied back, or the ledger
  // stays full.
  auto fs_mount = mount_tmpfs(base.path() / "fs", "64m");
  daemon_options options;
  options.ledger_path = base.path() / "fs" / "ledger.db";
  daemon_process d{options};
  auto ops = d.ops_client();
  const auto at = same_day_base();
  constexpr int registered = 400;
  REQUIRE(body_of(post_sends(*ops, sends_of("pre", registered, at, true)))["accepted"] == registered);

  // Intake and callbacks flow while the disk fills, and go on until both have been refused a few times.
  traffic_log traffic;
  // A jthread: should a REQUIRE below end the test, it is stopped and joined, never left running (which would
  // abort the whole run and leave the daemon behind).
  std::jthread poster{[&](std::stop_token stop) { post_traffic(d, registered, 20, at, stop, traffic); }};
  std::this_thread::sleep_for(100ms);
  const auto filler = base.path() / "fs" / "filler";
  const auto filled = fill_up(filler);
  REQUIRE(filled >= 16 * 1024 * 1024);
  const auto full_since = steady::now();
  // /healthz is asked all along. It is 503 from the first failed commit; a small commit (the probe) may still fit
  // where a batch did not, in WAL pages a failed commit left allocated, and then it is 200 for a while: a nearly
  // full disk (docs/operations.md, "Health"). So every answer must be one of the two, and the 503 must come.
  std::vector<answered> health;
  const auto full_health = [&] {
    return std::count_if(health.begin(), health.end(), [](const answered& h) { return h.status == 503; }) > 0;
  };
  for (;;) {
    health.push_back(answer_of(ops->Get("/healthz")));
    {
      std::lock_guard lock{traffic.mutex};
      if ((traffic_log::count(traffic.batches, 503) >= 3 && traffic_log::count(traffic.callbacks, 503) >= 3
           && full_health())
          || traffic.callbacks.size() == static_cast<std::size_t>(registered))
        break;
    }
    if (steady::now() - full_since > 60s)
      break;
    std::this_thread::sleep_for(20ms);
  }
  poster.request_stop();
  poster.join();
  INFO("filler " << filled << " bytes; " << traffic.batches.size() << " batches and " << traffic.callbacks.size()
                 << " callbacks posted");
  REQUIRE(traffic_log::count(traffic.batches, 503) >= 1);
  REQUIRE(traffic_log::count(traffic.callbacks, 503) >= 1);
  CHECK(full_health());
  for (const auto& h : health) {
    INFO("/healthz answered " << h.status << " " << h.body);
    if (h.status == 503) {
      CHECK(h.retry_after);
      const json full{{"error", "unavailable"}, {"detail", "the ledger cannot commit: the disk is full"}};
      CHECK(json::parse(h.body) == full);
    } else {
      CHECK(h.status == 200);
    }
  }

  // Every answer is a 200 or a 503 with Retry-After that says why, in words.
  for (const auto& [items, a] : traffic.batches) {
    INFO("intake answered " << a.status << " " << a.body);
    CHECK((a.status == 200 || a.status == 503));
    if (a.status == 503) {
      CHECK(a.retry_after);
      CHECK_THAT(a.body, Catch::Contains("\"unavailable\"") && Catch::Contains("the disk is full"));
    }
  }
  for (const auto& [send_id, a] : traffic.callbacks) {
    INFO("callback for " << send_id << " answered " << a.status << " " << a.body);
    CHECK((a.status == 200 || a.status == 503));
    if (a.status == 503) {
      CHECK(a.retry_after);
      CHECK_THAT(a.body, Catch::Contains("the disk is full"));
    }
  }

  // The disk still full, the daemon lives through the ledger's next ticks and still answers.
  std::this_thread::sleep_for(2500ms);
  auto alive = ops->Get("/healthz");
  INFO(describe(alive));
  REQUIRE(alive);
  CHECK((alive->status == 503 || alive->status == 200));
  CHECK(::kill(d.pid(), 0) == 0);
  CHECK(free_bytes(base.path() / "fs") < 64 * 1024);

  // Space returns: without any request, the ledger's own probe commit clears the failure; then intake works. A
  // batch too large for what is left fails just before, so that the failure is fresh.
  auto too_large = sends_of("last", 200, at, false);
  auto refused_last = answer_of(post_sends(*ops, too_large));
  CHECK(refused_last.status == 503);
  traffic.batches.emplace_back(std::move(too_large), refused_last);
  fs::remove(filler);
  const auto freed = steady::now();
  long long health_ms = -1;
  while (ms_since(freed) < 10000) {
    if (auto h = ops->Get("/healthz"); h && h->status == 200) {
      health_ms = ms_since(freed);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  auto after = sends_of("after", 5, at, false);
  auto accepted = post_sends(*ops, after);
  const auto write_ms = ms_since(freed);
  INFO(describe(accepted));
  REQUIRE(accepted);
  CHECK(accepted->status == 200);
  std::cout << "storage: full disk: " << traffic_log::count(traffic.batches, 503) << " intake batches and "
            << traffic_log::count(traffic.callbacks, 503) << " callbacks answered 503; after the space returned, "
            << "/healthz 200 in " << health_ms << " ms (no requests), intake 200 at " << write_ms << " ms\n";
  CHECK(health_ms >= 0);
  CHECK(health_ms <= 5000);
  CHECK(write_ms <= 5000);

  // What was answered 200 is stored; nothing of what was answered 503. A query first: it returns once the ledger
  // has applied every callback the ack log acknowledged before it, so the file holds them.
  REQUIRE(get_json(*ops, "/v1/sends/after-0")["status"] == "pending");
  const auto ledger = d.ledger_path();
  const auto stored = column_of(ledger, "SELECT send_id FROM sends");
  const auto delivered = sends_with_callback(ledger, "delivered");
  std::size_t lost = 0, leaked = 0;
  for (const auto& [items, a] : traffic.batches)
    for (const auto& item : items) {
      const bool is_stored = stored.count(item["send_id"].get<std::string>()) != 0;
      lost += a.status == 200 && !is_stored;
      leaked += a.status != 200 && is_stored;
    }
  for (const auto& [send_id, a] : traffic.callbacks) {
    const bool is_stored = delivered.count(send_id) != 0;
    lost += a.status == 200 && !is_stored;
    leaked += a.status != 200 && is_stored;
  }
  CHECK(lost == 0);
  CHECK(leaked == 0);
  CHECK(stored.count("after-0") == 1);

  // A 503 is safe to retry: the refused batches are accepted whole now (not duplicates), the callbacks applied.
  for (const auto& [items, a] : traffic.batches) {
    if (a.status == 200)
      continue;
    auto retry = body_of(post_sends(*ops, items));
    CHECK(retry["accepted"] == items.size());
    CHECK(retry["duplicates"] == 0);
  }
  auto hooks = d.webhooks_client();
  for (const auto& [send_id, a] : traffic.callbacks) {
    if (a.status == 200)
      continue;
    const auto n = std::stoi(send_id.substr(send_id.find('-') + 1));
    auto retry = post_twilio(*hooks, d.public_url(), twilio_callback(sid_of("pre", n), "delivered"));
    INFO(describe(retry));
    CHECK((retry && retry->status == 200));
  }
  get_json(*ops, "/v1/sends/pre-0"); // waits until the ledger has applied the retries
  CHECK(sends_with_callback(ledger, "delivered").size() == traffic.callbacks.size());

  CHECK(integrity_of(ledger) == "ok");
  const auto log = d.log();
  CHECK_THAT(log, Catch::Contains("ledger commit_failed: the disk is full"));
  CHECK_THAT(log, Catch::Contains("ledger commit_recovered"));
  const auto kept = column_of(ledger, "SELECT send_id FROM sends");
  CHECK(d.terminate() == 0);
  CHECK(integrity_of(ledger) == "ok");

  // A start on a full disk: SQLite cannot create the -shm file it reads through, so deliveryd says why and exits
  // (systemd starts it again, docs/operations.md); with space back, it starts with everything it had.
  {
    SQLite::Database last{ledger.string(), SQLite::OPEN_READWRITE};
    last.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // closing it removes the -wal and -shm files
  }
  REQUIRE_FALSE(fs::exists(ledger.string() + "-shm"));
  fill_up(filler);
  auto refused = run_program({DELIVERYD_BINARY, "--config", d.config_path().string()}, 30s);
  INFO(refused.output);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.output, Catch::Contains("ledger open_failed: " + ledger.string()
                                             + ": cannot open the ledger: the disk is full"));
  fs::remove(filler);
  d.start();
  CHECK(column_of(ledger, "SELECT send_id FROM sends") == kept);
  CHECK(d.terminate() == 0);
}

TEST_CASE("storage: a file system the kernel turns read-only answers 503, keeps serving reads, and loses nothing",
          "[.storage][read-only]") {
  require_private_mounts();
  temp_dir base;
  const auto image = base.path() / "ext4.img";
  const auto dir = base.path() / "ext4";
  fs::create_directories(dir);
  {
    std::ofstream{image}.close();
    fs::resize_file(image, 32 * 1024 * 1024);
  }
  auto mkfs = run_program({"/sbin/mkfs.ext4", "-q", "-F", image.string()}, 60s);
  INFO(mkfs.output);
  REQUIRE(mkfs.exit_code == 0);
  // errors=remount-ro: on an error the kernel makes the file system read-only under its writers, which is how a
  // mounted file system becomes read-only in practice (mount -o remount,ro is refused while files are open for
  // writing, as the ledger's are).
  auto mount = run_program({"/bin/mount", "-o", "loop,errors=remount-ro", image.string(), dir.string()}, 60s);
  INFO(mount.output);
  REQUIRE(mount.exit_code == 0);
  auto ext4 = std::make_unique<mounted>(dir);
  const auto device = fs::path{source_of(dir)}.filename().string();
  const auto trigger = fs::path{"/sys/fs/ext4"} / device / "trigger_fs_error";
  INFO("device " << device);
  REQUIRE(fs::exists(trigger));

  daemon_options options;
  options.ledger_path = dir / "ledger.db";
  daemon_process d{options};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto at = same_day_base();
  REQUIRE(body_of(post_sends(*ops, sends_of("pre", 50, at, true)))["accepted"] == 50);
  for (int i = 0; i < 10; ++i) {
    auto cb = post_twilio(*hooks, d.public_url(), twilio_callback(sid_of("pre", i), "delivered"));
    REQUIRE((cb && cb->status == 200));
  }
  // A query waits for the ledger to apply what the ack log acknowledged before it: these ten are in the ledger.
  REQUIRE(get_json(*ops, "/v1/sends/pre-9")["status"] == "sent");
  // Ten more, acknowledged by the log just before the fault: the ledger may not have applied them yet. They are
  // not lost: they are applied from the log once the ledger commits again (here, after the restart below).
  for (int i = 10; i < 20; ++i) {
    auto cb = post_twilio(*hooks, d.public_url(), twilio_callback(sid_of("pre", i), "delivered"));
    REQUIRE((cb && cb->status == 200));
  }

  REQUIRE(can_create_in(dir));
  write_file(trigger, "1"); // an ext4 error, as a failing disk would cause
  REQUIRE_FALSE(can_create_in(dir));

  auto refused = post_sends(*ops, sends_of("ro", 10, at, false));
  INFO(describe(refused));
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->has_header("Retry-After"));
  CHECK_THAT(refused->body, Catch::Contains("the ledger's file system is read-only"));
  auto refused_callback = post_twilio(*hooks, d.public_url(), twilio_callback(sid_of("pre", 30), "delivered"));
  INFO(describe(refused_callback));
  REQUIRE(refused_callback);
  CHECK(refused_callback->status == 503);
  CHECK(refused_callback->has_header("Retry-After"));
  CHECK_THAT(refused_callback->body, Catch::Contains("the ledger's file system is read-only"));

  // Still running, for a while: /healthz names the cause, and what was stored can still be read.
  std::this_thread::sleep_for(2s);
  // A new connection (the old one would do as well: the listeners keep an idle connection [ops] idle_timeout).
  ops = d.ops_client();
  auto health = get_json(*ops, "/healthz", 503);
  CHECK(health["error"] == "unavailable");
  CHECK_THAT(health["detail"].get<std::string>(),
             Catch::StartsWith("the ledger cannot commit: the ledger's file system is read-only"));
  CHECK(get_json(*ops, "/v1/sends/pre-3")["status"] == "sent");
  // A query does not wait for what the failing ledger cannot apply: it answers at once from what the ledger holds.
  const auto asked = steady::now();
  const auto late = get_json(*ops, "/v1/sends/pre-15");
  CHECK(ms_since(asked) < 2000);
  CHECK((late["status"] == "sent" || late["status"] == "pending"));
  CHECK(get_json(*ops, "/v1/log/day/" + seoul_date(at) + "?limit=1000")["rows"].size() == 50);
  CHECK_THAT(d.log(), Catch::Contains("ledger commit_failed: the ledger's file system is read-only"));

  // Linux brings such a file system back only through an unmount and fsck: stop, repair, start again.
  CHECK(d.terminate() == 0);
  REQUIRE(ext4->unmount());
  auto fsck = run_program({"/sbin/e2fsck", "-f", "-y", image.string()}, 60s);
  INFO(fsck.output);
  CHECK(fsck.exit_code <= 1); // 0: clean, 1: errors corrected
  mount = run_program({"/bin/mount", "-o", "loop", image.string(), dir.string()}, 60s);
  INFO(mount.output);
  REQUIRE(mount.exit_code == 0);
  ext4 = std::make_unique<mounted>(dir);
  d.start();

  // Started again, the ledger applies what the log acknowledged; a query waits for that, then the file is read.
  CHECK(get_json(*ops, "/v1/sends/pre-19")["status"] == "sent");
  const auto ledger = d.ledger_path();
  const auto stored = column_of(ledger, "SELECT send_id FROM sends");
  CHECK(stored.size() == 50);
  CHECK(stored.count("ro-0") == 0);
  CHECK(sends_with_callback(ledger, "delivered").size() == 20);
  CHECK(sends_with_callback(ledger, "delivered").count("pre-30") == 0);
  CHECK(body_of(post_sends(*ops, sends_of("ro", 10, at, false)))["accepted"] == 10);
  CHECK(integrity_of(ledger) == "ok");
  CHECK(d.terminate() == 0);
}

TEST_CASE("storage: a ledger that cannot be written is refused at start and left as it was", "[.storage][read-only]") {
  require_private_mounts();
  temp_dir base;
  const auto folder = base.path() / "state";
  const auto ledger = folder / "ledger.db";
  make_ledger(ledger, 20);
  const auto config = base.path() / "deliveryd.toml";
  write_config_for(config, ledger);

  SECTION("a read-only mount over the file") {
    const int bound = ::mount(ledger.c_str(), ledger.c_str(), nullptr, MS_BIND, nullptr);
    INFO("bind mount: " << std::strerror(errno));
    REQUIRE(bound == 0);
    mounted bind{ledger};
    const int remounted = ::mount(nullptr, ledger.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr);
    INFO("read-only remount: " << std::strerror(errno));
    REQUIRE(remounted == 0);
    const auto said = refused_start(config, ledger, folder);
    CHECK_THAT(said,
               Catch::Contains("the file cannot be written (Read-only file system): its file system is read-only"));
  }

  SECTION("mode 0444 for the service's user, then a -wal file it cannot write") {
    // Root writes whatever the mode says: the daemon runs as nobody here, as the unit's DynamicUser would.
    const std::vector<std::string> as_nobody{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    fs::permissions(base.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec
                                   | fs::perms::others_read | fs::perms::others_exec);
    fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read
                              | fs::perms::others_read);
    REQUIRE(::chown(folder.c_str(), 65534, 65534) == 0);
    REQUIRE(::chown(ledger.c_str(), 65534, 65534) == 0);
    fs::permissions(ledger, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    auto said = refused_start(config, ledger, folder, as_nobody);
    CHECK_THAT(said, Catch::Contains("the file cannot be written (Permission denied): check its owner and mode"));

    // A -wal file left behind by another user (a crash while someone ran sqlite3 as root): named, untouched.
    fs::permissions(ledger, fs::perms::owner_read | fs::perms::owner_write);
    const auto wal = ledger.string() + "-wal";
    write_file(wal, "");
    said = refused_start(config, ledger, folder, as_nobody);
    CHECK_THAT(said, Catch::Contains(wal + " cannot be written (Permission denied)"));
  }
}

TEST_CASE("storage: damaged, truncated, empty or foreign ledgers are refused at start and left as they were",
          "[integration][storage][sqlite]") {
  temp_dir base;
  const auto good = base.path() / "good" / "ledger.db";
  make_ledger(good, 2000);
  const auto bytes = read_file(good);
  const auto page_size = 4096u;
  REQUIRE(bytes.size() > 40 * page_size);
  const auto folder = base.path() / "case";
  const auto ledger = folder / "ledger.db";
  const auto config = base.path() / "deliveryd.toml";
  fs::create_directories(folder);
  write_config_for(config, ledger);

  SECTION("random bytes") {
    std::string noise(64 * 1024, '\0');
    std::uint32_t x = 12345;
    for (auto& c : noise) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);
    }
    write_file(ledger, noise);
    CHECK_THAT(refused_start(config, ledger, folder), Catch::Contains("the file is not an SQLite database"));
  }
  SECTION("truncated to half") {
    write_file(ledger, bytes.substr(0, bytes.size() / 2 / page_size * page_size));
    CHECK_THAT(refused_start(config, ledger, folder), Catch::Contains("fails SQLite's integrity check"));
  }
  SECTION("truncated inside its first page") {
    write_file(ledger, bytes.substr(0, 50));
    refused_start(config, ledger, folder);
  }
  SECTION("empty") {
    write_file(ledger, "");
    CHECK_THAT(refused_start(config, ledger, folder), Catch::Contains("the file is empty"));
  }
  SECTION("a damaged page") {
    const auto root = std::stoul(*column_of(good, "SELECT rootpage FROM sqlite_schema WHERE name = 'sends'").begin());
    auto damaged = bytes;
    std::fill_n(damaged.begin() + static_cast<long>((root - 1) * page_size), 64, '\xA5');
    write_file(ledger, damaged);
    CHECK_THAT(refused_start(config, ledger, folder), Catch::Contains("fails SQLite's integrity check"));
  }
  SECTION("another application's SQLite file") {
    {
      SQLite::Database other{ledger.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
      other.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); "
                 "INSERT INTO customers (name) VALUES ('Kim'), ('Lee')");
    }
    CHECK_THAT(refused_start(config, ledger, folder), Catch::Contains("not a deliveryd ledger"));
  }
}
