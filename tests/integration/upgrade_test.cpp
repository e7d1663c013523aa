// A schema upgrade as an operator meets it: deliveryd started on a ledger written two releases back (schema v4)
// upgrades it before it listens, says so in its log and to systemd (more start time, a status line), and then
// counts the pending sends registered before the upgrade and finds them by their vendor message ids.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>

#include "../support/schema_history.hpp"
#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

/// A datagram socket bound where NOTIFY_SOCKET points, as systemd listens for sd_notify.
class notify_listener {
public:
  explicit notify_listener(fs::path path) : path_{std::move(path)} {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path_.string().size() < sizeof(addr.sun_path));
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~notify_listener() { ::close(fd_); }
  notify_listener(const notify_listener&) = delete;
  notify_listener& operator=(const notify_listener&) = delete;

  const fs::path& path() const { return path_; }

  /// Every message received so far, in order.
  std::vector<std::string> drain() {
    std::vector<std::string> messages;
    char buf[4096];
    for (;;) {
      const auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        return messages;
      messages.emplace_back(buf, static_cast<std::size_t>(n));
    }
  }

private:
  fs::path path_;
  int fd_ = -1;
};

} // namespace

TEST_CASE("upgrade: a v4 ledger is upgraded at start, with progress for systemd, and keeps finding its sends",
          "[integration][upgrade][sqlite]") {
  temp_dir sockets;
  notify_listener systemd{sockets.path() / "notify"};
  daemon_process d;
  const std::string sid = "SM0123456789abcdef0123456789abcdef";
  {
    auto ops = d.ops_client();
    auto intake = body_of(post_sends(*ops, json::array({twilio_send("up-1", same_day_base() + 10s, sid)})));
    REQUIRE(intake["accepted"] == 1);
  }
  REQUIRE(d.terminate() == 0);
  { // Back to schema v4, as the previous release left it: the unique text index, no message key.
    SQLite::Database raw{d.ledger_path().string(), SQLite::OPEN_READWRITE};
    deliveryd::testing::revert_to_v4(raw);
    raw.exec("PRAGMA user_version = 4;");
  }
  daemon_options options;
  options.notify_socket = systemd.path();
  d.reconfigure(options);
  d.start();

  const auto log = d.log();
  CHECK_THAT(log, Catch::Contains("start-up: upgrading the ledger from schema version 4 to 7"));
  CHECK_THAT(log, Catch::Contains("start-up: schema version 5: indexing the message keys"));
  CHECK_THAT(log, Catch::Contains("start-up: schema version 6: counting the pending sends"));
  CHECK_THAT(log, Catch::Contains("start-up: schema version 7: counting the campaigns and one-time messages"));
  const auto told = systemd.drain();
  INFO("sd_notify messages: " << json(told).dump());
  REQUIRE_FALSE(told.empty());
  CHECK_THAT(told.front(), Catch::Contains("EXTEND_TIMEOUT_USEC=60000000"));
  CHECK_THAT(told.front(), Catch::Contains("STATUS=upgrading the ledger from schema version 4 to 7"));
  CHECK(std::any_of(told.begin(), told.end(),
                    [](const std::string& m) { return m.find("READY=1") != std::string::npos; }));

  // The pending send registered before the upgrade is counted (v6); the callback finds it (v5); a second send
  // cannot take its id.
  {
    auto metrics = d.ops_client()->Get("/metrics");
    REQUIRE(metrics);
    CHECK_THAT(metrics->body, Catch::Contains("deliveryd_pending_sends{vendor=\"twilio\"} 1\n"));
  }
  auto hooks = d.webhooks_client();
  auto res = post_twilio(*hooks, d.public_url(), twilio_callback(sid, "delivered"));
  INFO("callback -> " << describe(res));
  REQUIRE(res);
  CHECK(res->status == 200);
  auto ops = d.ops_client();
  CHECK(get_json(*ops, "/v1/sends/up-1")["status"] == "sent");
  auto again = body_of(post_sends(*ops, json::array({twilio_send("up-2", same_day_base() + 20s, sid)})));
  CHECK(again["accepted"] == 0);
  REQUIRE(again["rejected"].size() == 1);
  CHECK(again["rejected"][0]["error"] == "conflict");
  {
    SQLite::Database raw{d.ledger_path().string(), SQLite::OPEN_READONLY};
    CHECK(raw.execAndGet("PRAGMA user_version").getInt() == 7);
    CHECK(raw.execAndGet("SELECT count(*) FROM sends WHERE message_key IS NOT NULL").getInt() == 1);
    CHECK(raw.execAndGet("SELECT sends FROM pending_sends WHERE vendor = 'twilio'").getInt() == 0);
  }
}
