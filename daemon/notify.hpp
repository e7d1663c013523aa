#pragma once
/// systemd integration: readiness, stopping, and a watchdog that pings only while the ledger answers.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace deliveryd::daemon {

/// Tells systemd the daemon is ready (no-op outside systemd).
void notify_ready();
/// Tells systemd what the start is doing, and that it needs 60 s more from now (EXTEND_TIMEOUT_USEC: a long
/// ledger upgrade must not be killed by TimeoutStartSec and restarted from the beginning); no-op outside systemd.
void notify_starting(const std::string& what);
/// Tells systemd the daemon is stopping (no-op outside systemd).
void notify_stopping();

/// Pings WATCHDOG=1 at half of WatchdogSec while `healthy()` answers true; does nothing when systemd set no
/// watchdog. A stuck ledger makes `healthy()` time out, the pings stop, and systemd restarts the service.
class watchdog {
public:
  explicit watchdog(std::function<bool()> healthy);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace deliveryd::daemon
