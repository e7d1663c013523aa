// Polling vendor actors against fake vendors served on loopback: Kakao (SENS-style signed result API) and
// Twilio (Message resource with Basic auth). The fakes check the authentication independently of the daemon.
#include <catch2/catch.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  return out;
}

/// base64(HMAC-SHA256(secret, "GET " + path + "\n" + ts + "\n" + access)) as vendors.md §3.3 defines it.
std::string sens_signature(const std::string& secret, const std::string& path, const std::string& ts,
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
  std::chrono::milliseconds delay{0};

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
      ++counts_[req.path];
      auto it = scripts_.find(req.path);
      if (it != scripts_.end() && !it->second.empty()) {
        out = it->second.front();
        if (it->second.size() > 1)
          it->second.pop_front();
      }
    }
    std::this_thread::sleep_for(delay);
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
  std::atomic<int> in_flight_{0}, max_in_flight_{0}, bad_auth_{0};
};

const std::string service = "ncp:kkobizmsg:kr:1234:demo";

std::string kakao_path(const std::string& message_id) {
  return "/alimtalk/v2/services/" + service + "/messages/" + message_id;
}

std::string kakao_answer(const std::string& message_id, const std::string& status_code) {
  json body{{"requestId", "r-" + message_id}, {"messageId", message_id}, {"requestStatusCode", "A000"},
            {"requestStatusName", "success"}, {"completeTime", "2026-11-27 10:00:05"}};
  if (!status_code.empty()) {
    body["messageStatusCode"] = status_code;
    body["messageStatusName"] = status_code == "0000" ? "success" : "fail";
  }
  return body.dump();
}

fake_vendor make_fake_kakao() {
  return fake_vendor{[](const httplib::Request& req) {
    const auto ts = req.get_header_value("x-ncp-apigw-timestamp");
    return req.get_header_value("x-ncp-iam-access-key") == "TESTACCESS"
           && req.get_header_value("x-ncp-apigw-signature-v2") == sens_signature("TESTSECRET", req.path, ts, "TESTACCESS");
  }};
}

std::string kakao_section(const fake_vendor& fake, const std::string& interval) {
  return "[kakao]\napi_base = \"" + fake.base() + "\"\nservice_id = \"" + service
         + "\"\naccess_key = \"TESTACCESS\"\nsecret_key = \"TESTSECRET\"\npoll_interval = \"" + interval
         + "\"\nrecheck_window = \"72h\"\nuncertain_after = \"24h\"\n";
}

json alimtalk_send(const std::string& send_id, const std::string& message_id, seconds_point at) {
  return {{"send_id", send_id}, {"type", "follow_up"}, {"medium", "alimtalk"}, {"vendor", "kakao"},
          {"contact", "010-1234-5678"}, {"requested_at", seoul_rfc3339(at)}, {"vendor_message_id", message_id}};
}

/// Polls GET /v1/sends/{id} until `ready` holds or the time runs out; returns the last answer.
json wait_for_send(httplib::Client& ops, const std::string& send_id, const std::function<bool(const json&)>& ready,
                   std::chrono::seconds within = 20s) {
  const auto until = std::chrono::steady_clock::now() + within;
  json last;
  while (std::chrono::steady_clock::now() < until) {
    last = get_json(ops, "/v1/sends/" + send_id);
    if (ready(last))
      return last;
    std::this_thread::sleep_for(200ms);
  }
  return last;
}

} // namespace

TEST_CASE("Kakao polling: A000 is pending, 3005 uncertain, a later 0000 corrects it, 404 and 5xx back off",
          "[polling][kakao]") {
  auto fake = make_fake_kakao();
  fake.script(kakao_path("msg-1"), {{200, kakao_answer("msg-1", "")},
                                    {200, kakao_answer("msg-1", "3005")},
                                    {200, kakao_answer("msg-1", "0000")}});
  fake.script(kakao_path("msg-2"), {{404, R"({"error":"not found"})"},
                                    {503, "busy"},
                                    {200, kakao_answer("msg-2", "3018")}});
  daemon_options options;
  options.extra_toml = kakao_section(fake, "1s");
  daemon_process d{options};
  auto ops = d.ops_client();
  const auto at = now_seconds() - 5s;
  auto r = post_sends(*ops, json::array({alimtalk_send("k1", "msg-1", at), alimtalk_send("k2", "msg-2", at)}));
  REQUIRE(body_of(r)["accepted"] == 2);

  auto k1 = wait_for_send(*ops, "k1", [](const json& s) { return s["status"] == "sent"; });
  CHECK(k1["status"] == "sent");
  std::vector<std::string> statuses;
  for (const auto& h : k1["history"])
    if (h["source"] == "poll")
      statuses.push_back(h["status"].get<std::string>());
  CHECK(statuses == std::vector<std::string>{"pending", "uncertain", "sent"});

  auto k2 = wait_for_send(*ops, "k2", [](const json& s) { return s["status"] == "failed"; });
  CHECK(k2["status"] == "failed");
  CHECK(k2["code"] == "kakao:3018");
  CHECK(k2["category"] == "unreachable");
  CHECK(fake.requests(kakao_path("msg-2")) >= 3);
  CHECK(fake.bad_auth() == 0);
  // Back-off is visible in the timing: after the 404 about one interval (1 s ± 20 %, on a 1 s tick), after the
  // 503 about two.
  auto times = fake.arrivals(kakao_path("msg-2"));
  REQUIRE(times.size() >= 3);
  CHECK(times[1] - times[0] >= 700ms);
  CHECK(times[2] - times[1] >= 1500ms);

  // Final sends are not polled again.
  const int polls = fake.requests(kakao_path("msg-1"));
  std::this_thread::sleep_for(2500ms);
  CHECK(fake.requests(kakao_path("msg-1")) == polls);
}

TEST_CASE("Kakao polling after a restart is paced and bounded: no poll storm", "[polling][kakao]") {
  auto fake = make_fake_kakao();
  fake.delay = 100ms;
  daemon_options options;
  options.extra_toml = kakao_section(fake, "1s");
  daemon_process d{options};
  auto ops = d.ops_client();
  const auto at = now_seconds() - 5s;
  json batch = json::array();
  for (int i = 0; i < 150; ++i) {
    const auto id = "storm-" + std::to_string(i);
    fake.script(kakao_path(id), {{200, kakao_answer(id, "")}});
    batch.push_back(alimtalk_send(id, id, at));
  }
  REQUIRE(body_of(post_sends(*ops, batch))["accepted"] == 150);
  d.kill_hard();
  std::this_thread::sleep_for(1500ms); // every send is due when the daemon comes back
  d.start();
  std::this_thread::sleep_for(4s);
  CHECK(fake.max_in_flight() <= 8);
  CHECK(fake.max_per_second() <= 60); // at most 50 started in any second, plus network jitter
  CHECK(fake.max_per_second() >= 10); // and it does poll
  CHECK(fake.bad_auth() == 0);
}

TEST_CASE("Twilio polling: a pending send is fetched after poll_after, and its price is kept as reported",
          "[polling][twilio]") {
  fake_vendor fake{[](const httplib::Request& req) {
    const unsigned char creds[] = "AC00000000000000000000000000000000:test-auth-token";
    return req.get_header_value("Authorization") == "Basic " + base64(creds, sizeof creds - 1);
  }};
  const std::string account = "AC00000000000000000000000000000000";
  auto path = [&](const std::string& sid) { return "/2010-04-01/Accounts/" + account + "/Messages/" + sid + ".json"; };
  auto message = [&](const std::string& sid, const std::string& status, json price) {
    return json{{"sid", sid}, {"account_sid", account}, {"status", status}, {"error_code", nullptr},
                {"price", price}, {"price_unit", "USD"}, {"date_updated", "Fri, 27 Nov 2026 01:00:05 +0000"}}
      .dump();
  };
  fake.script(path("SMpoll1"), {{200, message("SMpoll1", "sent", nullptr)},
                                {200, message("SMpoll1", "delivered", nullptr)},
                                {200, message("SMpoll1", "delivered", "-0.00790")}});
  fake.script(path("SMpoll2"), {{200, message("SMpoll2", "undelivered", "-0.00500")}});
  daemon_options options;
  options.twilio_extra = "api_base = \"" + fake.base() + "\"\npoll_after = \"1s\"\n";
  daemon_process d{options};
  auto ops = d.ops_client();
  const auto at = now_seconds() - 3s;
  auto r = post_sends(*ops, json::array({twilio_send("t1", at, "SMpoll1"), twilio_send("t2", at, "SMpoll2")}));
  REQUIRE(body_of(r)["accepted"] == 2);

  auto t1 = wait_for_send(*ops, "t1", [](const json& s) { return s["vendor_price"] == "-0.00790"; });
  CHECK(t1["status"] == "sent");
  CHECK(t1["vendor_price"] == "-0.00790");
  CHECK(t1["vendor_price_unit"] == "USD");
  auto t2 = wait_for_send(*ops, "t2", [](const json& s) { return !s["vendor_price"].is_null(); });
  CHECK(t2["status"] == "failed");
  CHECK(t2["code"] == "twilio:undelivered");
  CHECK(t2["vendor_price"] == "-0.00500");
  CHECK(fake.bad_auth() == 0);
  // Priced and final: no more fetches.
  const int polls = fake.requests(path("SMpoll2"));
  std::this_thread::sleep_for(2500ms);
  CHECK(fake.requests(path("SMpoll2")) == polls);
}

TEST_CASE("Kakao polling: 0000 is sent, and 500 then 0000 is sent after a back-off", "[polling][kakao]") {
  auto fake = make_fake_kakao();
  fake.script(kakao_path("ok-1"), {{200, kakao_answer("ok-1", "0000")}});
  fake.script(kakao_path("flaky-1"), {{500, "oops"}, {200, kakao_answer("flaky-1", "0000")}});
  daemon_options options;
  options.extra_toml = kakao_section(fake, "1s");
  daemon_process d{options};
  auto ops = d.ops_client();
  const auto at = now_seconds() - 5s;
  REQUIRE(body_of(post_sends(*ops, json::array({alimtalk_send("o1", "ok-1", at),
                                                 alimtalk_send("f1", "flaky-1", at)})))["accepted"] == 2);
  auto o1 = wait_for_send(*ops, "o1", [](const json& s) { return s["status"] == "sent"; });
  CHECK(o1["status"] == "sent");
  CHECK(o1["cost"] == 8);
  auto f1 = wait_for_send(*ops, "f1", [](const json& s) { return s["status"] == "sent"; });
  CHECK(f1["status"] == "sent");
  auto times = fake.arrivals(kakao_path("flaky-1"));
  REQUIRE(times.size() == 2);
  CHECK(times[1] - times[0] >= 700ms);
}

TEST_CASE("Failover: an Alimtalk send failing 3018 with a delivered LMS leg is one logical sent send",
          "[polling][failover]") {
  auto fake = make_fake_kakao();
  fake.script(kakao_path("fo-1"), {{200, kakao_answer("fo-1", "3018")}});
  daemon_options options;
  options.extra_toml = kakao_section(fake, "1s");
  daemon_process d{options};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto at = same_day_base();
  json leg = twilio_send("fo-leg", at + 1s, "SMfoleg");
  leg["medium"] = "lms";
  leg["fallback_of"] = "fo";
  // The leg may arrive before its Alimtalk send: it is attached when that arrives.
  REQUIRE(body_of(post_sends(*ops, json::array({leg})))["accepted"] == 1);
  REQUIRE(body_of(post_sends(*ops, json::array({alimtalk_send("fo", "fo-1", at)})))["accepted"] == 1);
  auto fo = wait_for_send(*ops, "fo", [](const json& s) {
    return s.contains("legs") && s["legs"][0]["status"] == "failed";
  });
  REQUIRE(fo["legs"].size() == 2);
  CHECK(fo["legs"][0]["code"] == "kakao:3018");
  // Not delivered anywhere yet: the last leg decides, and it is still pending.
  CHECK(fo["status"] == "pending");
  CHECK(fo["legs"][1]["status"] == "pending");

  auto r = post_twilio(*hooks, d.public_url(), twilio_callback("SMfoleg", "delivered"));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  fo = get_json(*ops, "/v1/sends/fo");
  CHECK(fo["status"] == "sent");
  CHECK(fo["code"].is_null());
  REQUIRE(fo["legs"].size() == 2);
  CHECK(fo["legs"][0] == json{{"send_id", "fo"}, {"medium", "alimtalk"}, {"vendor", "kakao"}, {"status", "failed"},
                               {"code", "kakao:3018"}, {"cost", 0.0}});
  CHECK(fo["legs"][1] == json{{"send_id", "fo-leg"}, {"medium", "lms"}, {"vendor", "twilio"}, {"status", "sent"},
                               {"code", nullptr}, {"cost", 39.0}});
  CHECK(fo["cost"] == 39.0);

  // The day log shows one row for the logical send, not the leg; status= filters on the logical status.
  auto day = get_json(*ops, "/v1/log/day/" + seoul_date(at));
  REQUIRE(day["rows"].size() == 1);
  CHECK(day["rows"][0]["send_id"] == "fo");
  CHECK(day["rows"][0]["status"] == "sent");
  CHECK(get_json(*ops, "/v1/log/day/" + seoul_date(at) + "?status=sent")["rows"].size() == 1);
  CHECK(get_json(*ops, "/v1/log/day/" + seoul_date(at) + "?status=failed")["rows"].empty());
}

TEST_CASE("Deadline: with uncertain_after 2s a send without any result becomes uncertain ME09, across a restart",
          "[deadline]") {
  daemon_options options;
  options.twilio_extra = "uncertain_after = \"2s\"\n";
  daemon_process d{options};
  auto ops = d.ops_client();
  const auto now = now_seconds();
  REQUIRE(body_of(post_sends(*ops, json::array({twilio_send("late-1", now, "SMlate1"),
                                                twilio_send("late-2", now + 3s, "SMlate2")})))["accepted"] == 2);
  auto first = wait_for_send(*ops, "late-1", [](const json& s) { return s["status"] == "uncertain"; }, 10s);
  CHECK(first["status"] == "uncertain");
  CHECK(first["code"] == "ME09");
  CHECK(first["reason"] == "Uncertain delivery status");
  CHECK(first["history"].back()["source"] == "deadline");
  CHECK(get_json(*ops, "/v1/sends/late-2")["status"] == "pending");

  // The second deadline passes while the daemon is down; it fires at start.
  d.kill_hard();
  std::this_thread::sleep_for(5s);
  d.start();
  ops = d.ops_client();
  auto second = wait_for_send(*ops, "late-2", [](const json& s) { return s["status"] == "uncertain"; }, 5s);
  CHECK(second["status"] == "uncertain");
  CHECK(second["code"] == "ME09");

  // A late definitive result still corrects it, and the history keeps both.
  auto hooks = d.webhooks_client();
  REQUIRE(post_twilio(*hooks, d.public_url(), twilio_callback("SMlate2", "delivered"))->status == 200);
  auto corrected = get_json(*ops, "/v1/sends/late-2");
  CHECK(corrected["status"] == "sent");
  CHECK(corrected["history"][corrected["history"].size() - 2]["status"] == "uncertain");
}
