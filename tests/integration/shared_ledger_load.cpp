#include "shared_ledger_load.hpp"

#include <chrono>

namespace it {

using namespace std::chrono_literals;

shared_ledger_load::shared_ledger_load(const std::vector<daemon_process*>& daemons, seconds_point at) {
  for (std::size_t i = 0; i < daemons.size(); ++i) {
    clients_.emplace_back([this, d = daemons[i], i, at] { intake(*d, i, at); });
    clients_.emplace_back([this, d = daemons[i], i] { callbacks(*d, i); });
  }
}

shared_ledger_load::~shared_ledger_load() { stop(); }

void shared_ledger_load::stop() {
  stop_ = true;
  for (auto& t : clients_)
    if (t.joinable())
      t.join();
}

std::vector<std::string> shared_ledger_load::acked_sends() const {
  std::lock_guard lock{mutex_};
  return acked_sends_;
}

std::size_t shared_ledger_load::acked_send_count() const {
  std::lock_guard lock{mutex_};
  return acked_sends_.size();
}

std::vector<std::string> shared_ledger_load::acked_callbacks() const {
  std::lock_guard lock{mutex_};
  return acked_callbacks_;
}

std::map<std::string, long> shared_ledger_load::other() const {
  std::lock_guard lock{mutex_};
  return other_;
}

void shared_ledger_load::count(const httplib::Result& res) {
  std::string kind;
  if (!res)
    kind = "no answer";
  else if (res->status == 503 && res->has_header("Retry-After"))
    ++unavailable_;
  else if (res->status == 503)
    kind = "503 without Retry-After";
  else
    kind = std::to_string(res->status) + ": " + res->body.substr(0, 200);
  if (!kind.empty()) {
    std::lock_guard lock{mutex_};
    ++other_[kind];
  }
}

void shared_ledger_load::intake(daemon_process& d, std::size_t i, seconds_point at) {
  auto ops = d.ops_client();
  for (int n = 0; !stop_; ++n) {
    json items = json::array();
    std::vector<std::string> ids;
    for (int k = 0; k < 10; ++k) {
      ids.push_back("r" + std::to_string(i) + "-" + std::to_string(n) + "-" + std::to_string(k));
      items.push_back(twilio_send(ids.back(), at, "SM" + ids.back()));
    }
    auto res = post_sends(*ops, items);
    if (res && res->status == 200) {
      std::lock_guard lock{mutex_};
      acked_sends_.insert(acked_sends_.end(), ids.begin(), ids.end());
    } else {
      count(res);
      std::this_thread::sleep_for(20ms);
    }
  }
}

void shared_ledger_load::callbacks(daemon_process& d, std::size_t i) {
  auto hooks = d.webhooks_client();
  std::size_t next = 0;
  while (!stop_) {
    std::string id;
    {
      std::lock_guard lock{mutex_};
      for (; next < acked_sends_.size() && id.empty(); ++next)
        if (acked_sends_[next][1] != static_cast<char>('0' + i))
          id = acked_sends_[next];
    }
    if (id.empty()) {
      std::this_thread::sleep_for(5ms);
      continue;
    }
    for (;;) { // Twilio retries nothing, but a sender that was told 503 may: this one does, until 200
      auto res = post_twilio(*hooks, d.public_url(), twilio_callback("SM" + id, "delivered"));
      if (res && res->status == 200) {
        std::lock_guard lock{mutex_};
        acked_callbacks_.push_back(id);
        break;
      }
      count(res);
      if (stop_)
        break;
      std::this_thread::sleep_for(20ms);
    }
  }
}

} // namespace it
