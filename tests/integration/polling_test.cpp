// Polling vendor actors against fake vendors served on loopback: Kakao (SENS-style signed result API) and
// Twilio (Message resource with Basic auth). The fakes check the authentication independently of the daemon.
#include <catch2/catch.hpp>

#include <thread>

#include "fake_vendor.hpp"
#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

json alimtalk_send(const std::string& send_id, const std::string& message_id, seconds_point at) {
  return {{"send_id", send_id}, {"type", "follow_up"}, {"medium", "alimtalk"}, {"vendor", "kakao"},
          {"contact", "010-1234-5678"}, {"requested_at", seoul_rfc3339(at)}, {"vendor_message_id", message_id}};
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
