#pragma once
/// The load of the shared-ledger tests (pg_restart_test.cpp, pg_power_cut_test.cpp): at each daemon one client
/// posting intake batches of 10 new Twilio sends, and one posting "delivered" callbacks, retried until 200, for
/// the sends another daemon acknowledged. It records what the clients were answered: the acknowledged sends and
/// callbacks, the 503s with Retry-After, and anything else by kind.

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace it {

/// The clients, started by the constructor and stopped by stop() or the destructor.
class shared_ledger_load {
public:
  /// Starts two clients per daemon; their sends are requested at `at` (and ids start with "r<daemon>-").
  shared_ledger_load(const std::vector<daemon_process*>& daemons, seconds_point at);
  ~shared_ledger_load();
  shared_ledger_load(const shared_ledger_load&) = delete;
  shared_ledger_load& operator=(const shared_ledger_load&) = delete;

  /// Stops the clients and waits for them.
  void stop();

  /// The send ids whose intake was answered 200, in order.
  std::vector<std::string> acked_sends() const;
  /// How many sends were acknowledged so far.
  std::size_t acked_send_count() const;
  /// The send ids whose "delivered" callback was answered 200.
  std::vector<std::string> acked_callbacks() const;
  /// Answers 503 with Retry-After so far.
  long unavailable() const { return unavailable_; }
  /// Anything else but 200: "503 without Retry-After", "500: …", "no answer", with how often.
  std::map<std::string, long> other() const;

private:
  void intake(daemon_process& d, std::size_t i, seconds_point at);
  void callbacks(daemon_process& d, std::size_t i);
  void count(const httplib::Result& res);

  mutable std::mutex mutex_;
  std::vector<std::string> acked_sends_;
  std::vector<std::string> acked_callbacks_;
  std::map<std::string, long> other_;
  std::atomic<long> unavailable_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> clients_;
};

} // namespace it
