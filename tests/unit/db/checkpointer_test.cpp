/// The checkpointer thread: committed pages reach the database file without the writer copying them.

#include <catch2/catch.hpp>

#include <thread>

#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

/// Waits up to 5 s for the database file to grow past `before` bytes (pages reach it only through a checkpoint),
/// and returns its size then.
std::uintmax_t database_size_after_copy(const temp_dir& dir, std::uintmax_t before) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::filesystem::file_size(dir.ledger()) <= before && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  return std::filesystem::file_size(dir.ledger());
}

/// The options of an SQLite ledger in `dir` whose checkpointer ticks every `every`.
db::ledger_options checkpointed(const temp_dir& dir, std::chrono::milliseconds every, int restart_pages = 65536) {
  auto options = ledger_at(dir.ledger(), {});
  options.sqlite.checkpoint_every = every;
  options.sqlite.wal_restart_pages = restart_pages;
  return options;
}

} // namespace

TEST_CASE("the checkpointer copies committed pages from the WAL into the database file", "[db][sqlite][checkpoint]") {
  temp_dir dir;
  auto opened = open_store(checkpointed(dir, 50ms));
  auto& store = *opened;
  const auto before = std::filesystem::file_size(dir.ledger());

  std::vector<adapters::intake::send_request> sends;
  for (std::size_t i = 0; i < 500; ++i)
    sends.push_back(make_send("s" + std::to_string(i), t0, i));
  REQUIRE(register_committed(store, sends).accepted == 500);
  // A commit appends to the WAL only (the writer copies it back itself only past wal_restart_pages, 256 MiB): the
  // database file grows when the checkpointer has copied the new pages into it.
  INFO("the database file stayed at " << before << " bytes");
  CHECK(database_size_after_copy(dir, before) > before);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == 500);
}

namespace {

std::uintmax_t wal_size(const temp_dir& dir) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(dir.ledger() + "-wal", ec);
  return ec ? 0 : size;
}

/// Commits `commits` transactions of 500 new sends each (numbered from `first`), without a pause, and returns the largest size the WAL
/// had after any of them.
std::uintmax_t largest_wal_under_steady_writes(db::ledger_writer& store, const temp_dir& dir, int commits,
                                               int first = 0) {
  std::uintmax_t largest = 0;
  for (int c = first; c < first + commits; ++c) {
    std::vector<adapters::intake::send_request> sends;
    for (std::size_t i = 0; i < 500; ++i)
      sends.push_back(make_send("c" + std::to_string(c) + "-" + std::to_string(i), t0, i));
    REQUIRE(register_committed(store, sends).accepted == 500);
    largest = std::max(largest, wal_size(dir));
  }
  return largest;
}

} // namespace

TEST_CASE("under steady writes the WAL starts over past wal_restart_pages instead of growing",
          "[db][sqlite][checkpoint]") {
  // 256 pages (1 MiB) instead of 64 MiB, so that a few seconds of writes show it; a commit here is about 0.3 MiB.
  temp_dir dir;
  auto opened = open_store(checkpointed(dir, 20ms, 256));
  auto& store = *opened;
  const auto largest = largest_wal_under_steady_writes(store, dir, 120);
  INFO("the WAL reached " << largest << " bytes");
  // At most twice the restart length (past it the writer waits for the checkpointer) plus about a commit.
  CHECK(largest <= (std::uintmax_t{3} << 20));
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == 60000);
}

TEST_CASE("a quiet ledger's WAL is truncated to nothing by the checkpointer", "[db][sqlite][checkpoint]") {
  temp_dir dir;
  auto opened = open_store(checkpointed(dir, 20ms));
  auto& store = *opened;
  largest_wal_under_steady_writes(store, dir, 4);
  REQUIRE(wal_size(dir) > 0);
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (wal_size(dir) > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  CHECK(wal_size(dir) == 0);
  // Nothing was lost on the way, and the writer goes on as before.
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == 2000);
  largest_wal_under_steady_writes(store, dir, 1, 4);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == 2500);
}

TEST_CASE("a WAL past half its restart length is copied at once, not at the checkpointer's next tick",
          "[db][sqlite][checkpoint]") {
  // Ticks an hour apart: only the writer's nudge can start a round within the test. 1,024 pages (about 4 MiB of
  // WAL) to restart, so the nudge comes past 512, and a commit of 500 sends (about 0.3 MiB) stays far from the
  // restart length, where the writer would copy the WAL itself.
  constexpr std::uintmax_t frame_bytes = 4096 + 24; // a page and its frame header; the WAL's own header is 32
  temp_dir dir;
  auto opened = open_store(checkpointed(dir, std::chrono::hours{1}, 1024));
  auto& store = *opened;
  const auto before = std::filesystem::file_size(dir.ledger());
  // Commit until one leaves the WAL past half its restart length. The file only grows here (it is truncated only
  // when idle), though the WAL may start over inside it once the nudged round has copied it all.
  int commits = 0;
  std::uintmax_t largest = 0;
  while (largest <= 32 + 512 * frame_bytes && commits < 100)
    largest = largest_wal_under_steady_writes(store, dir, 1, commits++);
  REQUIRE(largest > 32 + 512 * frame_bytes);
  REQUIRE(largest < 32 + 1024 * frame_bytes);
  const auto after = database_size_after_copy(dir, before);
  INFO(commits << " commits left the WAL at " << largest << " bytes and the database file at " << after
                << " bytes");
  CHECK(after > before);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == commits * 500);
}
