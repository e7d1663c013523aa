/// The checkpointer thread: committed pages reach the database file without the writer copying them.

#include <catch2/catch.hpp>

#include <thread>

#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

TEST_CASE("the checkpointer copies committed pages from the WAL into the database file", "[db][checkpoint]") {
  temp_dir dir;
  auto opened = db::ledger_store::open({dir.ledger(), {}, db::durability::no_fsync, {}, "Asia/Seoul", 50ms});
  REQUIRE(std::holds_alternative<std::unique_ptr<db::ledger_store>>(opened));
  auto& store = *std::get<std::unique_ptr<db::ledger_store>>(opened);
  const auto before = std::filesystem::file_size(dir.ledger());

  std::vector<adapters::intake::send_request> sends;
  for (std::size_t i = 0; i < 500; ++i)
    sends.push_back(make_send("s" + std::to_string(i), t0, i));
  REQUIRE(register_committed(store, sends).accepted == 500);
  // A commit appends to the WAL only (the writer's own automatic checkpoint waits for 65,536 pages): the
  // database file grows when the checkpointer has copied the new pages into it.
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::filesystem::file_size(dir.ledger()) <= before && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  INFO("the database file stayed at " << before << " bytes");
  CHECK(std::filesystem::file_size(dir.ledger()) > before);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == 500);
}
