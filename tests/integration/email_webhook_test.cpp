// POST /webhooks/email over real HTTP: SendGrid batches signed with a P-256 key (ECDSA over timestamp + raw
// body), matched to sends by the part of sg_message_id before its first '.', deduplicated on sg_event_id.
#include <catch2/catch.hpp>

#include "load_support.hpp"
#include "vendor_hooks.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

const std::string id_a = "Wz1rB2hLQ0SzN3VjX2Jt9g";
const std::string id_b = "kP4Tq7XcR1uY8eHn2LmZ0a";

void expect_status(const httplib::Result& res, int status) {
  INFO(describe(res));
  REQUIRE(res);
  CHECK(res->status == status);
}

} // namespace

TEST_CASE("email: signed SendGrid batches update sends, refused requests change nothing", "[integration][email]") {
  daemon_process d{with_vendors({.email = true})};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto base = same_day_base();
  auto intake = body_of(post_sends(*ops, json::array({vendor_send("em-a", "email", "email", "ana@Example.COM", base, id_a),
                                                      vendor_send("em-b", "email", "email", "bo@example.com", base + 1s,
                                                                  id_b)})));
  REQUIRE(intake["accepted"] == 2);

  // processed + delivered for A, and an element without sg_event_id: the usable two are applied, 200.
  auto unusable = sg_event("delivered", id_a, "", base + 5s);
  unusable.erase("sg_event_id");
  const auto batch = json::array({sg_event("processed", id_a, "ev-a-1", base + 2s),
                                  sg_event("delivered", id_a, "ev-a-2", base + 4s), unusable})
                       .dump();
  expect_status(post_email(*hooks, batch, unix_now()), 200);
  auto a = send_of(*ops, "em-a");
  CHECK(a["status"] == "sent");
  CHECK(a["contact"] == "ana@example.com");
  REQUIRE(a["history"].size() == 3);
  CHECK(a["history"][1]["source"] == "webhook");
  CHECK(a["history"][1]["status"] == "pending");
  CHECK(a["history"][1]["vendor_status"] == "processed");
  CHECK(a["history"][2]["status"] == "sent");
  CHECK(a["history"][2]["vendor_status"] == "delivered");

  // A hard bounce for B: failed, email:bounce, the category from bounce_classification.
  auto bounce = sg_event("bounce", id_b, "ev-b-1", base + 6s);
  bounce["type"] = "bounce";
  bounce["bounce_classification"] = "Invalid Address";
  bounce["status"] = "5.1.1";
  bounce["reason"] = "550 5.1.1 The email account that you tried to reach does not exist.";
  expect_status(post_email(*hooks, json::array({bounce}).dump(), unix_now()), 200);
  auto b = send_of(*ops, "em-b");
  CHECK(b["status"] == "failed");
  CHECK(b["code"] == "email:bounce");
  CHECK(b["category"] == "invalid_recipient");
  REQUIRE(b["reason"].is_string());
  CHECK_FALSE(b["reason"].get<std::string>().empty());
  REQUIRE(b["history"].size() == 2);
  CHECK(b["history"][1]["vendor_code"] == "5.1.1");

  // A delivered for B would beat the bounce: every refused attempt below must leave B as it is.
  const auto late = json::array({sg_event("delivered", id_b, "ev-b-2", base + 8s)}).dump();
  SECTION("a signature of other bytes: 403") {
    const auto ts = unix_now();
    expect_status(post_email(*hooks, late, ts, sendgrid_signature(ts, late + "\n")), 403);
  }
  SECTION("a signature made for another timestamp: 403") {
    expect_status(post_email(*hooks, late, unix_now(), sendgrid_signature("1588788367", late)), 403);
  }
  SECTION("no signature headers: 403") {
    expect_status(post_email(*hooks, late, unix_now(), std::string{}), 403);
  }
  SECTION("a correctly signed but stale timestamp (10 min old): 403") {
    const auto stale = std::to_string((now_seconds() - 10min).time_since_epoch().count());
    expect_status(post_email(*hooks, late, stale), 403);
  }
  SECTION("a signed body that is not a JSON array: 400") {
    expect_status(post_email(*hooks, R"({"event":"delivered"})", unix_now()), 400);
  }
  SECTION("the first batch re-posted identically: 200, histories unchanged") {
    expect_status(post_email(*hooks, batch, unix_now()), 200);
    CHECK(send_of(*ops, "em-a")["history"].size() == 3);
    CHECK(send_of(*ops, "em-a")["status"] == "sent");
  }
  auto after = send_of(*ops, "em-b");
  CHECK(after["status"] == "failed");
  CHECK(after["code"] == "email:bounce");
  CHECK(after["history"].size() == 2);
  CHECK(send_of(*ops, "em-a")["history"].size() == 3);
}
