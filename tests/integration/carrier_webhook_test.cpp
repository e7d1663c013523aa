// POST /webhooks/carrier over real HTTP: Jasmin-style DLRs (form body or query, answered exactly "ACK/Jasmin")
// and Korean aggregator JSON reports, authenticated by the shared token in the query or X-Carrier-Token.
#include <catch2/catch.hpp>

#include "load_support.hpp"
#include "vendor_hooks.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

const std::string id_delivered = "16fd2706-8baf-433b-82eb-8c7fada847da";
const std::string id_undeliv = "5a9e3c1b-2f47-4d8e-9b61-0c7d2e4f8a13";
const std::string id_query = "0b7c9e52-61aa-4c1e-9f0e-3d2a4b5c6d7e";

httplib::Result post_dlr(httplib::Client& hooks, const form_params& dlr, const std::string& target,
                         const httplib::Headers& headers = {}) {
  return hooks.Post(target.c_str(), headers, form_encode(dlr), "application/x-www-form-urlencoded");
}

const std::string with_token = std::string{"/webhooks/carrier?token="} + carrier_token;

void expect_ack(const httplib::Result& res) {
  INFO(describe(res));
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == "ACK/Jasmin");
}

void expect_status(const httplib::Result& res, int status) {
  INFO(describe(res));
  REQUIRE(res);
  CHECK(res->status == status);
}

} // namespace

TEST_CASE("carrier: Jasmin DLRs and aggregator reports update sends", "[integration][carrier]") {
  daemon_process d{with_vendors({.carrier = true})};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto base = same_day_base();
  const auto sms = [&](const std::string& send_id, const std::string& vmid, std::chrono::seconds offset) {
    return vendor_send(send_id, "sms", "carrier", "010-1234-5678", base + offset, vmid);
  };
  auto intake = body_of(post_sends(*ops, json::array({sms("ca-1", id_delivered, 1s), sms("ca-2", id_undeliv, 2s),
                                                      sms("ca-3", "KR-0001", 3s), sms("ca-4", "KR-0002", 4s),
                                                      sms("ca-5", "KR-0003", 5s), sms("ca-6", id_query, 6s)})));
  REQUIRE(intake["accepted"] == 6);

  SECTION("DELIVRD by form POST, token in the query: ACK/Jasmin, sent") {
    expect_ack(post_dlr(*hooks, jasmin_dlr(id_delivered, "DELIVRD"), with_token));
    auto s = send_of(*ops, "ca-1");
    CHECK(s["status"] == "sent");
    REQUIRE(s["history"].size() == 2);
    CHECK(s["history"][1]["vendor_status"] == "DELIVRD");
    // Jasmin resends until it reads ACK/Jasmin: the same DLR again is acknowledged and changes nothing.
    expect_ack(post_dlr(*hooks, jasmin_dlr(id_delivered, "DELIVRD"), with_token));
    CHECK(send_of(*ops, "ca-1")["history"].size() == 2);
  }
  SECTION("UNDELIV with the token in X-Carrier-Token: failed carrier:UNDELIV") {
    expect_ack(post_dlr(*hooks, jasmin_dlr(id_undeliv, "UNDELIV", "001"), "/webhooks/carrier",
                        {{"X-Carrier-Token", carrier_token}}));
    auto s = send_of(*ops, "ca-2");
    CHECK(s["status"] == "failed");
    CHECK(s["code"] == "carrier:UNDELIV");
    CHECK(s["history"][1]["vendor_code"] == "001");
  }
  SECTION("a DLR in the query string with an empty body: ACK/Jasmin, sent") {
    const auto target = with_token + "&" + form_encode(jasmin_dlr(id_query, "DELIVRD"));
    expect_ack(hooks->Post(target.c_str(), "", "application/x-www-form-urlencoded"));
    CHECK(send_of(*ops, "ca-6")["status"] == "sent");
    // The DLR is kept raw for audits, but never with the secret that came along in the same query.
    REQUIRE(id_query.find('\'') == std::string::npos);
    const auto rows = ledger_rows(d, "SELECT raw FROM events WHERE vendor_message_id = '" + id_query
                                       + "' AND source = 'webhook'");
    REQUIRE(rows.size() == 1);
    const auto stored = rows[0][0];
    INFO("raw: " << stored);
    CHECK(stored.find(id_query) != std::string::npos);
    CHECK(stored.find("token") == std::string::npos);
    CHECK(stored.find(carrier_token) == std::string::npos);
  }
  SECTION("wrong or missing token: 403, nothing changes") {
    expect_status(post_dlr(*hooks, jasmin_dlr(id_delivered, "DELIVRD"), "/webhooks/carrier?token=wrong"), 403);
    expect_status(post_dlr(*hooks, jasmin_dlr(id_delivered, "DELIVRD"), "/webhooks/carrier",
                           {{"X-Carrier-Token", "wrong"}}),
                  403);
    expect_status(post_dlr(*hooks, jasmin_dlr(id_delivered, "DELIVRD"), "/webhooks/carrier"), 403);
    const json report = json::array({{{"message_id", "KR-0001"}, {"result_code", "4100"}}});
    expect_status(hooks->Post("/webhooks/carrier", report.dump(), "application/json"), 403);
    for (const char* id : {"ca-1", "ca-3"}) {
      auto s = send_of(*ops, id);
      CHECK(s["status"] == "pending");
      CHECK(s["history"].size() == 1);
    }
  }
  SECTION("an unknown stat word: 400, nothing changes") {
    expect_status(post_dlr(*hooks, jasmin_dlr(id_delivered, "NOTAWORD"), with_token), 400);
    CHECK(send_of(*ops, "ca-1")["history"].size() == 1);
  }
  SECTION("aggregator JSON batch 4100, 4401, 9023: sent, failed carrier:4401 unreachable, uncertain ME09") {
    const json report = json::array({
      {{"message_id", "KR-0001"}, {"result_code", "4100"}, {"done_at", seoul_rfc3339(base + 30s)}},
      {{"message_id", "KR-0002"}, {"result_code", "4401"}, {"done_at", seoul_rfc3339(base + 31s)}},
      {{"message_id", "KR-0003"}, {"result_code", "9023"}, {"done_at", seoul_rfc3339(base + 32s)}},
      {{"message_id", ""}, {"result_code", "4100"}}, // unusable: the others still apply
    });
    auto res = hooks->Post("/webhooks/carrier", {{"X-Carrier-Token", carrier_token}}, report.dump(),
                           "application/json");
    expect_status(res, 200);
    CHECK(body_of(res)["status"] == "ok");
    CHECK(send_of(*ops, "ca-3")["status"] == "sent");
    auto failed = send_of(*ops, "ca-4");
    CHECK(failed["status"] == "failed");
    CHECK(failed["code"] == "carrier:4401");
    CHECK(failed["category"] == "unreachable");
    auto uncertain = send_of(*ops, "ca-5");
    CHECK(uncertain["status"] == "uncertain");
    CHECK(uncertain["code"] == "ME09");
  }
  SECTION("an aggregator body that is not JSON: 400") {
    expect_status(hooks->Post(with_token.c_str(), "[{", "application/json"), 400);
  }
}
