// The shared ledger's server stopped and started again under load (contract, "Several hosts: the shared ledger"):
// two daemons on a PostgreSQL cluster of the test's own, which it stops fast (a clean shutdown that disconnects
// every client) or immediately (a crash: the next start recovers from the WAL). While it is down, intake and
// callbacks are answered 503 with Retry-After and /healthz names the cause without the password; the daemons
// carry on by themselves when it is back; nothing they acknowledged is lost. Tagged [.][postgresql]: it runs in
// ctest's "integration on postgresql" entry only.
#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <set>
#include <thread>

#include "harness.hpp"
#include "shared_ledger_load.hpp"
#include "../support/postgres_cluster.hpp"

using namespace it;
using namespace std::chrono_literals;
using deliveryd::testing::postgres_cluster;

TEST_CASE("several hosts: PostgreSQL stopped and started again under load: 503 while down, nothing lost",
          "[.][postgresql][pg-restart]") {
  REQUIRE(on_postgresql());
  auto mode = postgres_cluster::stop_mode::fast;
  std::string how = "fast";
  SECTION("fast shutdown") {}
  SECTION("immediate shutdown (a crash of the server)") {
    mode = postgres_cluster::stop_mode::immediate;
    how = "immediate";
  }
  postgres_cluster server;
  server.query("postgres", "CREATE DATABASE restarted");
  // libpq sends no password to a server that trusts the socket, but the daemon holds it all the same: it must not
  // show it anywhere.
  const std::string secret = "pw-Zq7vR2xK9";
  daemon_options options;
  options.postgresql_url = server.connection_string("restarted") + " password=" + secret;
  std::array<std::unique_ptr<daemon_process>, 2> daemons;
  for (auto& d : daemons)
    d = std::make_unique<daemon_process>(options);
  const auto at = same_day_base();

  shared_ledger_load load{{daemons[0].get(), daemons[1].get()}, at};

  std::this_thread::sleep_for(2s);
  const auto acked_before = load.acked_send_count();
  server.stop(mode);
  // While it is down: /healthz says why, at both daemons, without the password.
  std::vector<std::string> health;
  for (auto& d : daemons) {
    auto ops = d->ops_client();
    int status = 0;
    std::string answer;
    for (int i = 0; i < 100 && status != 503; ++i) {
      auto res = ops->Get("/healthz");
      status = res ? res->status : 0;
      answer = res ? res->body : "";
      if (status != 503)
        std::this_thread::sleep_for(100ms);
    }
    REQUIRE(status == 503);
    const auto body = json::parse(answer);
    CHECK(body["error"] == "unavailable");
    health.push_back(body["detail"].get<std::string>());
  }
  std::this_thread::sleep_for(3s);
  const long unavailable_while_down = load.unavailable();
  server.start();
  // Back by themselves: /healthz 200 at both, and intake acknowledged again.
  for (auto& d : daemons) {
    auto ops = d->ops_client();
    int status = 0;
    for (int i = 0; i < 300 && status != 200; ++i) {
      auto res = ops->Get("/healthz");
      status = res ? res->status : 0;
      if (status != 200)
        std::this_thread::sleep_for(100ms);
    }
    CHECK(status == 200);
  }
  const auto acked_at_restart = load.acked_send_count();
  std::this_thread::sleep_for(2s);
  load.stop();
  const auto acked_sends = load.acked_sends();
  const auto acked_callbacks = load.acked_callbacks();
  const auto other = load.other();

  INFO("acknowledged " << acked_sends.size() << " sends (" << acked_before << " before the stop, "
                       << acked_at_restart << " when back) and " << acked_callbacks.size() << " callbacks");
  std::string told;
  for (const auto& h : health)
    told += "/healthz while down: " + h + "\n";
  for (const auto& [kind, n] : other)
    told += "answered " + kind + ": " + std::to_string(n) + "\n";
  INFO(told);
  CHECK(acked_before > 100);
  CHECK(acked_sends.size() > acked_at_restart); // intake goes on after the restart
  CHECK(unavailable_while_down > 0);                 // 503 with Retry-After while it was down
  CHECK(other.empty());                         // and nothing else: no 500, no connection cut

  // Everything acknowledged is there, and every acknowledged callback is reflected.
  std::set<std::string> stored, sent;
  for (const auto& row : server.query("restarted", "SELECT send_id, status FROM sends")) {
    stored.insert(row[0]);
    if (row[1] == "sent")
      sent.insert(row[0]);
  }
  std::size_t lost = 0, unreflected = 0;
  for (const auto& id : acked_sends)
    lost += stored.count(id) == 0;
  for (const auto& id : acked_callbacks)
    unreflected += sent.count(id) == 0;
  std::cout << "PostgreSQL " << how << " stop and start under load: acknowledged " << acked_sends.size()
            << " sends and " << acked_callbacks.size() << " callbacks at two daemons, " << unavailable_while_down
            << " answered 503 while down; lost " << lost << ", callbacks not reflected " << unreflected << "\n";
  CHECK(lost == 0);
  CHECK(unreflected == 0);

  // The password shows nowhere: not in /healthz, not in the logs.
  for (const auto& h : health)
    CHECK(h.find(secret) == std::string::npos);
  for (auto& d : daemons) {
    CHECK(d->running()); // no crash
    const auto log = d->log();
    CHECK(log.find(secret) == std::string::npos);
    CHECK(log.find("ledger commit_failed") != std::string::npos); // it said so
    d->terminate();
  }
}
