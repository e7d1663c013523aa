#pragma once
/// Fake vendors served on loopback for the polling tests: scripted answers per path, with the counts, arrival
/// times and concurrency a test checks the daemons' fetches against; and the Kakao (SENS-style signed) flavour.
/// The fakes check the authentication independently of the daemon, by the algorithm
/// docs/vendors.md#kakao-api-gateway-signature documents.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.hpp"

namespace it {

using namespace std::chrono_literals;

inline std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  return out;
}

/// base64(HMAC-SHA256(secret, "GET " + path + "\n" + ts + "\n" + access)), as
/// docs/vendors.md#kakao-api-gateway-signature gives it.
inline std::string sens_signature(const std::string& secret, const std::string& path, const std::string& ts,
                           const std::string& access) {
  const std::string text = "GET " + path + "\n" + ts + "\n" + access;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  return base64(mac, len);
}

/// A fake vendor: scripted answers per path, served on a loopback port from its own thread.
class fake_vendor {
public:
  using check = std::function<bool(const httplib::Request&)>;

  explicit fake_vendor(check authentic) : authentic_{std::move(authentic)} {
    server_.Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) { answer(req, res); });
    // A thread per connection: each daemon keeps up to 8 keep-alive connections (its fetch workers), and
    // cpp-httplib's default pool of 8 threads would hold several daemons' requests back until their keep-alive
    // ran out, late enough to time out at the daemon.
    server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread{[this] { server_.listen_after_bind(); }};
  }
  ~fake_vendor() {
    server_.stop();
    thread_.join();
  }

  /// Queues answers for a path; the last one repeats.
  void script(const std::string& path, std::vector<std::pair<int, std::string>> answers) {
    std::lock_guard lock{mutex_};
    scripts_[path] = {answers.begin(), answers.end()};
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests(const std::string& path) {
    std::lock_guard lock{mutex_};
    return counts_[path];
  }
  int bad_auth() const { return bad_auth_; }
  /// When each request for `path` arrived.
  std::vector<std::chrono::steady_clock::time_point> arrivals(const std::string& path) {
    std::lock_guard lock{mutex_};
    return by_path_[path];
  }
  /// When the daemons made each request for `path`, in the order they arrived: the SENS signature's timestamp
  /// (ms since the epoch), which the client sets as it sends. Arrival times can be late by the fake's own
  /// scheduling (a keep-alive connection waiting for a server thread); these are not.
  std::vector<long long> signed_at(const std::string& path) {
    std::lock_guard lock{mutex_};
    return signed_at_[path];
  }
  int max_in_flight() const { return max_in_flight_; }
  /// The most requests that arrived within any one second.
  int max_per_second() {
    std::lock_guard lock{mutex_};
    int best = 0;
    for (std::size_t i = 0; i < arrivals_.size(); ++i) {
      int n = 0;
      for (std::size_t j = i; j < arrivals_.size() && arrivals_[j] - arrivals_[i] < 1s; ++j)
        ++n;
      best = std::max(best, n);
    }
    return best;
  }
  /// The most requests made within any `window` by their signature's timestamps, across every path: how many
  /// fetches the daemons started together, without the fake's own scheduling in it.
  int max_signed_within(std::chrono::milliseconds window) {
    std::vector<long long> all;
    {
      std::lock_guard lock{mutex_};
      for (const auto& [path, at] : signed_at_)
        all.insert(all.end(), at.begin(), at.end());
    }
    std::sort(all.begin(), all.end());
    int best = 0;
    for (std::size_t i = 0, j = 0; j < all.size(); ++j) {
      while (all[j] - all[i] >= window.count())
        ++i;
      best = std::max(best, static_cast<int>(j - i + 1));
    }
    return best;
  }
  /// Requests made in all, by the signature's timestamp (ms since the epoch), at or after `since`.
  int made_since(long long since) {
    std::lock_guard lock{mutex_};
    int n = 0;
    for (const auto& [path, at] : signed_at_)
      n += static_cast<int>(std::count_if(at.begin(), at.end(), [&](long long t) { return t >= since; }));
    return n;
  }
  /// How long each answer waits before it is sent.
  std::atomic<std::chrono::milliseconds> delay{std::chrono::milliseconds{0}};

private:
  void answer(const httplib::Request& req, httplib::Response& res) {
    const int now_in_flight = ++in_flight_;
    for (int seen = max_in_flight_; now_in_flight > seen && !max_in_flight_.compare_exchange_weak(seen, now_in_flight);) {
    }
    if (!authentic_(req))
      ++bad_auth_;
    std::pair<int, std::string> out{404, "{}"};
    {
      std::lock_guard lock{mutex_};
      arrivals_.push_back(std::chrono::steady_clock::now());
      by_path_[req.path].push_back(arrivals_.back());
      signed_at_[req.path].push_back(std::atoll(req.get_header_value("x-ncp-apigw-timestamp").c_str()));
      ++counts_[req.path];
      auto it = scripts_.find(req.path);
      if (it != scripts_.end() && !it->second.empty()) {
        out = it->second.front();
        if (it->second.size() > 1)
          it->second.pop_front();
      }
    }
    std::this_thread::sleep_for(delay.load());
    res.status = out.first;
    res.set_content(out.second, "application/json");
    --in_flight_;
  }

  check authentic_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::map<std::string, std::deque<std::pair<int, std::string>>> scripts_;
  std::map<std::string, int> counts_;
  std::vector<std::chrono::steady_clock::time_point> arrivals_;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> by_path_;
  std::map<std::string, std::vector<long long>> signed_at_;
  std::atomic<int> in_flight_{0}, max_in_flight_{0}, bad_auth_{0};
};

inline const std::string service = "ncp:kkobizmsg:kr:1234:demo";

inline std::string kakao_path(const std::string& message_id) {
  return "/alimtalk/v2/services/" + service + "/messages/" + message_id;
}

inline std::string kakao_answer(const std::string& message_id, const std::string& status_code) {
  json body{{"requestId", "r-" + message_id}, {"messageId", message_id}, {"requestStatusCode", "A000"},
            {"requestStatusName", "success"}, {"completeTime", "2026-11-27 10:00:05"}};
  if (!status_code.empty()) {
    body["messageStatusCode"] = status_code;
    body["messageStatusName"] = status_code == "0000" ? "success" : "fail";
  }
  return body.dump();
}

inline fake_vendor make_fake_kakao() {
  return fake_vendor{[](const httplib::Request& req) {
    const auto ts = req.get_header_value("x-ncp-apigw-timestamp");
    return req.get_header_value("x-ncp-iam-access-key") == "TESTACCESS"
           && req.get_header_value("x-ncp-apigw-signature-v2") == sens_signature("TESTSECRET", req.path, ts, "TESTACCESS");
  }};
}

inline std::string kakao_section(const fake_vendor& fake, const std::string& interval) {
  return "[kakao]\napi_base = \"" + fake.base() + "\"\nservice_id = \"" + service
         + "\"\naccess_key = \"TESTACCESS\"\nsecret_key = \"TESTSECRET\"\npoll_interval = \"" + interval
         + "\"\nrecheck_window = \"72h\"\nuncertain_after = \"24h\"\n";
}

} // namespace it
