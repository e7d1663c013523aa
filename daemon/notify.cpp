#include "daemon/notify.hpp"

#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>

namespace deliveryd::daemon {

void notify_ready() { sd_notify(0, "READY=1\nSTATUS=accepting webhooks and intake"); }

void notify_starting(const std::string& what) {
  sd_notify(0, ("EXTEND_TIMEOUT_USEC=60000000\nSTATUS=" + what).c_str());
}

void notify_stopping() { sd_notify(0, "STOPPING=1\nSTATUS=draining in-flight commits"); }

watchdog::watchdog(std::function<bool()> healthy) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
    return;
  const auto interval = std::chrono::microseconds{usec / 2};
  thread_ = std::thread{[this, interval, healthy = std::move(healthy)] {
    auto next = std::chrono::steady_clock::now();
    while (!stop_.load()) {
      if (std::chrono::steady_clock::now() >= next) {
        if (healthy())
          sd_notify(0, "WATCHDOG=1");
        else
          spdlog::warn("watchdog ping_skipped: the ledger does not answer");
        next = std::chrono::steady_clock::now() + interval;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }};
}

watchdog::~watchdog() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
}

} // namespace deliveryd::daemon
