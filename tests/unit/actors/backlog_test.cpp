/// The ledger's backlog bound: admits within the limit, always admits into an empty backlog, refuses past it,
/// and counts refusals.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "actors/backlog.hpp"
#include "actors/webhook_support.hpp"

using deliveryd::actors::backlog;

TEST_CASE("backlog: admits up to the limit, refuses past it, admits again once released", "[actors][backlog]") {
  backlog gate{100};
  CHECK_FALSE(gate.full());
  CHECK(gate.try_admit(60));
  CHECK(gate.try_admit(40));
  CHECK(gate.items() == 100);
  CHECK(gate.full());
  CHECK_FALSE(gate.try_admit(1));
  CHECK(gate.refusals() == 1);
  CHECK(gate.items() == 100); // a refusal counts nothing in
  gate.release(60);
  CHECK_FALSE(gate.full());
  CHECK_FALSE(gate.try_admit(61));
  CHECK(gate.try_admit(60));
  CHECK(gate.refusals() == 2);
}

TEST_CASE("backlog: a request larger than the limit goes through when it is alone", "[actors][backlog]") {
  backlog gate{1000};
  CHECK(gate.try_admit(10000)); // one intake request of 10,000 sends is never refused forever
  CHECK(gate.full());
  CHECK_FALSE(gate.try_admit(1));
  gate.release(10000);
  CHECK(gate.items() == 0);
  CHECK(gate.try_admit(0));
}

TEST_CASE("backlog: intake fills three quarters, vendor events keep the rest", "[actors][backlog]") {
  backlog gate{1000};
  using source = backlog::source;
  CHECK(gate.try_admit(700, source::intake));
  CHECK_FALSE(gate.try_admit(100, source::intake));
  CHECK(gate.try_admit(50, source::intake));
  CHECK(gate.full(source::intake));
  CHECK_FALSE(gate.full(source::vendor));
  CHECK(gate.try_admit(250, source::vendor)); // the reserve: 750 + 250
  CHECK(gate.full(source::vendor));
  CHECK_FALSE(gate.try_admit(1, source::vendor));
  gate.release(1000);
  CHECK(gate.try_admit(5000, source::intake)); // alone, even past everything
}

TEST_CASE("backlog: full() refusals are counted and the detail says what is waiting", "[actors][backlog]") {
  backlog gate{10};
  REQUIRE(gate.try_admit(10));
  gate.refused();
  CHECK(gate.refusals() == 1);
  const auto detail = deliveryd::actors::overloaded_detail(gate);
  CHECK(detail.find("10 items waiting, at most 10") != std::string::npos);
}

TEST_CASE("backlog: concurrent admits never exceed the limit", "[actors][backlog]") {
  backlog gate{1000};
  std::atomic<int> admitted{0};
  std::atomic<bool> exceeded{false}; // Catch2's CHECK is not thread-safe: the threads only record
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        if (gate.try_admit(7)) {
          ++admitted;
          if (gate.items() > 1000)
            exceeded = true;
          gate.release(7);
        }
    });
  for (auto& t : threads)
    t.join();
  CHECK_FALSE(exceeded);
  CHECK(gate.items() == 0);
  CHECK(admitted > 0);
  CHECK(admitted + gate.refusals() == 80000);
}
