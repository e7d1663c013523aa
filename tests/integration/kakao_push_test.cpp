// POST /webhooks/kakao over real HTTP: Alimtalk results pushed by a dealer, authenticated by [kakao] push_token
// in the query or X-Kakao-Token; 3005 is uncertain / ME09 until a later 0000 corrects it.
#include <catch2/catch.hpp>

#include "load_support.hpp"
#include "vendor_hooks.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

httplib::Result push(httplib::Client& hooks, const json& results, const std::string& token = kakao_push_token) {
  return hooks.Post("/webhooks/kakao", {{"X-Kakao-Token", token}}, results.dump(), "application/json");
}

void expect_status(const httplib::Result& res, int status) {
  INFO(describe(res));
  REQUIRE(res);
  CHECK(res->status == status);
}

} // namespace

TEST_CASE("kakao push: pushed Alimtalk results update sends", "[integration][kakao]") {
  daemon_process d{with_vendors({.kakao = true})};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto base = same_day_base();
  const auto alimtalk = [&](const std::string& send_id, const std::string& vmid, std::chrono::seconds offset) {
    return vendor_send(send_id, "alimtalk", "kakao", "010-1234-5678", base + offset, vmid);
  };
  auto intake = body_of(post_sends(
    *ops, json::array({alimtalk("kk-1", "msg-0001", 1s), alimtalk("kk-2", "msg-0002", 2s),
                       alimtalk("kk-3", "msg-0003", 3s)})));
  REQUIRE(intake["accepted"] == 3);

  SECTION("0000: sent") {
    expect_status(push(*hooks, json::array({kakao_result("msg-0001", "0000", base + 10s)})), 200);
    auto s = send_of(*ops, "kk-1");
    CHECK(s["status"] == "sent");
    CHECK(s["cost"] == 8);
  }
  SECTION("3005 is uncertain ME09, a later 0000 corrects it to sent, both in the history") {
    expect_status(push(*hooks, json::array({kakao_result("msg-0002", "3005", base + 10s)})), 200);
    auto s = send_of(*ops, "kk-2");
    CHECK(s["status"] == "uncertain");
    CHECK(s["code"] == "ME09");
    expect_status(push(*hooks, json::array({kakao_result("msg-0002", "0000", base + 60s)})), 200);
    s = send_of(*ops, "kk-2");
    CHECK(s["status"] == "sent");
    CHECK(s["code"].is_null());
    const auto& h = s["history"];
    REQUIRE(h.size() == 3);
    CHECK(h[1]["source"] == "webhook");
    CHECK(h[1]["status"] == "uncertain");
    CHECK(h[1]["code"] == "ME09");
    CHECK(h[2]["source"] == "webhook");
    CHECK(h[2]["status"] == "sent");
  }
  SECTION("3018: failed kakao:3018, with the token in the query") {
    const json batch = json::array({kakao_result("msg-0003", "3018", base + 10s)});
    const std::string target = std::string{"/webhooks/kakao?token="} + kakao_push_token;
    expect_status(hooks->Post(target.c_str(), batch.dump(), "application/json"), 200);
    auto s = send_of(*ops, "kk-3");
    CHECK(s["status"] == "failed");
    CHECK(s["code"] == "kakao:3018");
    CHECK(s["category"] == "unreachable");
  }
  SECTION("a batch with an unusable element: the others apply, 200") {
    const json batch = json::array({kakao_result("msg-0001", "0000", base + 10s), json{{"message_id", "msg-0002"}}});
    expect_status(push(*hooks, batch), 200);
    CHECK(send_of(*ops, "kk-1")["status"] == "sent");
    CHECK(send_of(*ops, "kk-2")["status"] == "pending");
  }
  SECTION("a wrong or missing token: 403, nothing changes") {
    expect_status(push(*hooks, json::array({kakao_result("msg-0001", "0000", base + 10s)}), "wrong"), 403);
    expect_status(hooks->Post("/webhooks/kakao", json::array({kakao_result("msg-0001", "0000", base + 10s)}).dump(),
                              "application/json"),
                  403);
    auto s = send_of(*ops, "kk-1");
    CHECK(s["status"] == "pending");
    CHECK(s["history"].size() == 1);
  }
  SECTION("a body that is not a JSON array: 400") {
    expect_status(push(*hooks, json{{"message_id", "msg-0001"}}), 400);
  }
}

TEST_CASE("webhooks of vendors without a config section answer 404", "[integration][kakao][email][carrier]") {
  SECTION("the default harness has only [twilio]") {
    daemon_process d;
    auto hooks = d.webhooks_client();
    for (const char* path : {"/webhooks/email", "/webhooks/carrier", "/webhooks/kakao"}) {
      auto res = hooks->Post(path, "[]", "application/json");
      INFO(path << " -> " << describe(res));
      REQUIRE(res);
      CHECK(res->status == 404);
    }
  }
  SECTION("[kakao] without push_token: no push endpoint") {
    daemon_process d{with_vendors({.kakao = true, .kakao_push = false})};
    auto res = d.webhooks_client()->Post("/webhooks/kakao", "[]", "application/json");
    INFO(describe(res));
    REQUIRE(res);
    CHECK(res->status == 404);
  }
}
