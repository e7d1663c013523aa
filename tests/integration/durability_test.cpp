// "Every answer to a webhook or an intake request that says 2xx is given only after what it carried is durable":
// eight clients post intake batches and signed callbacks, the daemon is killed (SIGKILL, or stopped with SIGTERM)
// while requests are in flight, restarted on the same ledger, and everything that was acknowledged must be there.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include <iostream>

#include "harness.hpp"
#include "load_support.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// One callback a worker posts: which send, which status word.
struct posted_callback {
  std::string send_id;
  std::string sid;
  std::string status;
  std::string error_code;
};

/// A batch of four sends and the callbacks that go with it.
struct batch {
  json items = json::array();
  posted_callback held;                  ///< posted before the batch is registered
  std::vector<posted_callback> finals;   ///< posted after
};

/// What the workers saw, shared.
struct load_log {
  std::mutex mutex;
  std::vector<std::string> acked_sends;             ///< every send of a batch answered 200 with accepted == 4
  std::vector<json> acked_batches;                  ///< those batches
  std::vector<posted_callback> acked_callbacks;     ///< every callback answered 200
  std::vector<json> unacked_batches;                ///< batches whose intake was not answered 200
  std::size_t requests = 0;                         ///< requests answered (any status)
  std::size_t non_2xx = 0;                          ///< answered, but not 2xx
  std::vector<steady::time_point> lost_started;     ///< start times of requests that got no answer
};

batch make_batch(int worker, int round, seconds_point base) {
  batch b;
  for (int k = 0; k < 4; ++k) {
    const auto send_id = "w" + std::to_string(worker) + "-" + std::to_string(round) + "-" + std::to_string(k);
    auto sid = "SMw" + std::to_string(worker) + "r" + std::to_string(round) + "k" + std::to_string(k);
    sid.resize(34, '0');
    b.items.push_back(twilio_send(send_id, base + std::chrono::seconds{k}, sid));
    if (k == 3)
      b.held = {send_id, sid, "sent", ""};
    b.finals.push_back(k % 2 == 0 ? posted_callback{send_id, sid, "delivered", ""}
                                  : posted_callback{send_id, sid, "undelivered", "30003"});
  }
  return b;
}

/// Posts batches and callbacks until `stop` is set or the daemon stops answering.
void load_worker(int worker, const daemon_process& d, seconds_point base, const std::atomic<bool>& stop,
                 load_log& log) {
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  // Returns false when the request got no answer (the daemon is gone): the worker then ends.
  auto track = [&](const httplib::Result& res, steady::time_point started) {
    std::lock_guard lock{log.mutex};
    if (!res) {
      log.lost_started.push_back(started);
      return false;
    }
    ++log.requests;
    if (res->status < 200 || res->status > 299)
      ++log.non_2xx;
    return true;
  };
  auto callback = [&](const posted_callback& cb) {
    const auto started = steady::now();
    auto res = post_twilio(*hooks, d.public_url(), twilio_callback(cb.sid, cb.status, cb.error_code));
    if (!track(res, started))
      return false;
    if (res->status == 200) {
      std::lock_guard lock{log.mutex};
      log.acked_callbacks.push_back(cb);
    }
    return true;
  };
  for (int round = 0; !stop; ++round) {
    auto b = make_batch(worker, round, base);
    if (!callback(b.held)) {
      std::lock_guard lock{log.mutex};
      log.unacked_batches.push_back(b.items);
      return;
    }
    const auto started = steady::now();
    auto res = post_sends(*ops, b.items);
    const bool answered = track(res, started);
    bool acked = false;
    if (answered && res->status == 200) {
      const auto answer = json::parse(res->body, nullptr, false);
      acked = answer.is_object() && answer.value("accepted", 0) == 4;
    }
    {
      std::lock_guard lock{log.mutex};
      if (acked) {
        for (const auto& item : b.items)
          log.acked_sends.push_back(item["send_id"].get<std::string>());
        log.acked_batches.push_back(b.items);
      } else {
        log.unacked_batches.push_back(b.items);
      }
    }
    if (!answered)
      return;
    for (const auto& cb : b.finals)
      if (!callback(cb))
        return;
  }
}

/// Runs `workers` load workers for `duration`, then calls `stop_daemon` while they are still posting.
std::unique_ptr<load_log> run_load(daemon_process& d, int workers, std::chrono::milliseconds duration,
                                   const std::function<void()>& stop_daemon, steady::time_point& stopped_at) {
  auto log = std::make_unique<load_log>();
  std::atomic<bool> stop{false};
  const auto base = now_seconds() - 1min;
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] { load_worker(w, d, base, stop, *log); });
  std::this_thread::sleep_for(duration);
  stopped_at = steady::now();
  stop_daemon();
  stop = true;
  for (auto& t : threads)
    t.join();
  return log;
}

/// After a restart: every acknowledged send is registered, every acknowledged callback is in its send's history
/// and decides its status as it should.
void verify_acknowledged(daemon_process& d, load_log& log) {
  auto ops = d.ops_client();
  INFO("acknowledged: " << log.acked_sends.size() << " sends, " << log.acked_callbacks.size() << " callbacks");
  REQUIRE_FALSE(log.acked_sends.empty());

  std::size_t missing_sends = 0;
  for (const auto& id : log.acked_sends) {
    auto res = ops->Get(("/v1/sends/" + id).c_str());
    REQUIRE(res);
    if (res->status != 200 && ++missing_sends <= 10) {
      UNSCOPED_INFO("acknowledged send " << id << " is missing: " << describe(res));
    }
  }
  CHECK(missing_sends == 0);

  // Re-posting what was acknowledged is a duplicate of what is stored: the same values, nothing half-written.
  json acked_items = json::array();
  for (const auto& items : log.acked_batches)
    for (const auto& item : items)
      acked_items.push_back(item);
  auto again = post_in_chunks(*ops, acked_items);
  CHECK(again.duplicates == acked_items.size());
  CHECK(again.accepted == 0);
  CHECK(again.updated == 0);
  CHECK(again.rejected == 0);

  json unacked_items = json::array();
  for (const auto& items : log.unacked_batches)
    for (const auto& item : items)
      unacked_items.push_back(item);

  // Register the batches whose intake was not acknowledged, so that their held callbacks can be seen too.
  auto late = post_in_chunks(*ops, unacked_items);
  CHECK(late.rejected == 0);
  CHECK(late.accepted + late.duplicates == unacked_items.size());

  std::map<std::string, std::set<std::string>> words_of;
  for (const auto& cb : log.acked_callbacks)
    words_of[cb.send_id].insert(cb.status);
  std::size_t wrong = 0;
  for (const auto& [send_id, words] : words_of) {
    auto s = get_json(*ops, "/v1/sends/" + send_id);
    std::set<std::string> seen;
    for (const auto& h : s["history"])
      if (h["source"] == "webhook")
        seen.insert(h["vendor_status"].get<std::string>());
    bool ok = std::includes(seen.begin(), seen.end(), words.begin(), words.end());
    if (words.count("delivered") != 0)
      ok = ok && s["status"] == "sent";
    else if (words.count("undelivered") != 0)
      ok = ok && s["status"] == "failed" && s["code"] == "twilio:30003";
    if (!ok && ++wrong <= 10) {
      UNSCOPED_INFO("send " << send_id << " does not reflect its acknowledged callbacks: " << s.dump());
    }
  }
  CHECK(wrong == 0);
  // The figure the issue asks for, printed so that a run can be quoted.
  std::cout << "durability: acknowledged " << log.acked_sends.size() << " sends and " << log.acked_callbacks.size()
            << " callbacks; stored " << log.acked_sends.size() - missing_sends << " sends, callbacks not reflected "
            << wrong << ", lost " << missing_sends + wrong << "\n";
}

} // namespace

TEST_CASE("durability: everything acknowledged survives SIGKILL under load", "[integration][durability]") {
  daemon_process d;
  steady::time_point killed_at;
  auto log = run_load(d, 8, 2500ms, [&] { d.kill_hard(); }, killed_at);

  INFO("answered " << log->requests << " requests (" << log->non_2xx << " not 2xx); " << log->lost_started.size()
                   << " got no answer");
  CHECK(log->non_2xx == 0);
  // Requests started before the kill and never answered: the kill hit them in flight.
  const auto in_flight = std::count_if(log->lost_started.begin(), log->lost_started.end(),
                                       [&](auto started) { return started < killed_at; });
  CHECK(in_flight > 0);

  // SQLite's file as the crash left it, and again after recovery (a PostgreSQL server keeps its own files whole).
  if (!on_postgresql())
    CHECK(integrity_of(d.ledger_path()) == "ok");
  d.start();
  verify_acknowledged(d, *log);
  CHECK(d.terminate() == 0);
  if (!on_postgresql())
    CHECK(integrity_of(d.ledger_path()) == "ok");
}

TEST_CASE("durability: SIGTERM under load exits 0 and keeps everything acknowledged", "[integration][durability]") {
  daemon_process d;
  steady::time_point stopped_at;
  int exit_code = -2;
  auto log = run_load(d, 8, 1500ms, [&] { exit_code = d.terminate(); }, stopped_at);
  INFO("answered " << log->requests << " requests (" << log->non_2xx << " not 2xx); daemon log:\n" << d.log());
  CHECK(exit_code == 0);
  CHECK(log->non_2xx == 0);
  if (!on_postgresql())
    CHECK(integrity_of(d.ledger_path()) == "ok");
  d.start();
  verify_acknowledged(d, *log);
  CHECK(d.terminate() == 0);
}

// A pipeline or a vendor that keeps an idle keep-alive connection open must not hold up a restart: the listeners
// are closed at SIGTERM, so every second of delay is a second in which callbacks are refused.
TEST_CASE("durability: SIGTERM with idle keep-alive clients stops promptly", "[integration][durability]") {
  daemon_process d;
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const std::string sid = "SM55555555555555555555555555555555";
  REQUIRE(body_of(post_sends(*ops, json::array({twilio_send("idle-1", now_seconds() - 1min, sid)})))["accepted"] == 1);
  auto res = post_twilio(*hooks, d.public_url(), twilio_callback(sid, "delivered"));
  REQUIRE(res);
  REQUIRE(res->status == 200);

  // Both clients stay connected, idle.
  const auto started = steady::now();
  const int exit_code = d.terminate(10s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started);
  INFO("stopped in " << took.count() << " ms; log:\n" << d.log());
  CHECK(exit_code == 0);
  CHECK(took < 5s);

  d.start();
  ops = d.ops_client();
  CHECK(get_json(*ops, "/v1/sends/idle-1")["status"] == "sent");
}
