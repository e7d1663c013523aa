// The walk-through of the contract over real HTTP: register sends, post signed Twilio callbacks, read each send
// and the day log, and check the values the contract promises.
#include <set>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

const std::string sid_delivered = "SM11111111111111111111111111111111";
const std::string sid_undelivered = "SM22222222222222222222222222222222";

/// The keys of a day-log row, as the contract lists them.
const std::set<std::string> row_keys{"send_id", "time",   "type",   "source_id", "source_name",
                                     "status",  "medium", "vendor", "contact",   "code",
                                     "reason",  "description", "category", "cost"};

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items())
    keys.insert(key);
  return keys;
}

/// POSTs a signed callback and expects the contract's 200.
void deliver_callback(httplib::Client& hooks, const daemon_process& d, const form_params& params,
                      const std::string& target = twilio_path) {
  auto res = post_twilio(hooks, d.public_url(), params, target);
  INFO("callback " << target << " -> " << describe(res));
  REQUIRE(res);
  REQUIRE(res->status == 200);
}

} // namespace

TEST_CASE("walk-through: intake, Twilio callbacks, the send and the day log", "[integration][walkthrough]") {
  daemon_process d;
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto base = same_day_base();
  const auto date = seoul_date(base);

  auto delivered = twilio_send("wt-delivered", base + 10s, sid_delivered);
  delivered["type"] = "campaign";
  delivered["source_id"] = "cmp-42";
  delivered["source_name"] = "Winter sale";
  const auto undelivered = twilio_send("wt-undelivered", base + 20s, sid_undelivered, "+82 10-2222-3333");
  const json excluded{{"send_id", "wt-excluded"},    {"type", "one_time"},       {"source_id", "ot-7"},
                      {"source_name", "Coupon"},     {"medium", "sms"},          {"contact", "01099998888"},
                      {"requested_at", seoul_rfc3339(base + 30s)}, {"excluded", 10006}};

  auto intake = body_of(post_sends(*ops, json::array({delivered, undelivered, excluded})));
  CHECK(intake == json{{"accepted", 3}, {"duplicates", 0}, {"updated", 0}, {"rejected", json::array()}});

  SECTION("a registered send is pending with one intake entry") {
    auto s = get_json(*ops, "/v1/sends/wt-delivered");
    CHECK(s["status"] == "pending");
    CHECK(s["contact"] == "+821012345678");
    CHECK(s["requested_at"] == seoul_rfc3339(base + 10s));
    CHECK(s["time"] == seoul_rfc3339(base + 10s));
    CHECK(s["vendor_message_id"] == sid_delivered);
    CHECK(s["vendor"] == "twilio");
    CHECK(s["medium"] == "sms");
    CHECK(s["type"] == "campaign");
    CHECK(s["source_id"] == "cmp-42");
    CHECK(s["source_name"] == "Winter sale");
    CHECK(s["code"].is_null());
    CHECK(s["cost"] == 0);
    CHECK(s["vendor_price"].is_null());
    REQUIRE(s["history"].size() == 1);
    CHECK(s["history"][0]["source"] == "intake");
    CHECK(s["history"][0]["status"] == "pending");
  }

  // `sent`, with the query string Twilio would call and an unknown parameter carrying reserved characters: both
  // are covered by the signature and the parameter is ignored.
  auto sent = twilio_callback(sid_delivered, "sent");
  sent.emplace_back("SomeNewParameter", "a+b c&d=é/%");
  deliver_callback(*hooks, d, sent, std::string{twilio_path} + "?tenant=acme&x=%2F");
  {
    auto s = get_json(*ops, "/v1/sends/wt-delivered");
    CHECK(s["status"] == "pending"); // `sent` is the carrier's acceptance, not a delivery
    REQUIRE(s["history"].size() == 2);
    CHECK(s["history"][1]["source"] == "webhook");
    CHECK(s["history"][1]["status"] == "pending");
    CHECK(s["history"][1]["vendor_status"] == "sent");
  }

  deliver_callback(*hooks, d, twilio_callback(sid_delivered, "delivered"));
  deliver_callback(*hooks, d, twilio_callback(sid_undelivered, "undelivered", "30003"));

  SECTION("delivered: sent, three history entries, priced") {
    auto s = get_json(*ops, "/v1/sends/wt-delivered");
    CHECK(s["status"] == "sent");
    CHECK(s["code"].is_null());
    CHECK(s["reason"].is_null());
    CHECK(s["cost"] == 12);
    const auto& h = s["history"];
    REQUIRE(h.size() == 3);
    CHECK(h[0]["source"] == "intake");
    CHECK(h[0]["vendor_status"].is_null());
    CHECK(h[1]["source"] == "webhook");
    CHECK(h[1]["vendor_status"] == "sent");
    CHECK(h[1]["status"] == "pending");
    CHECK(h[2]["source"] == "webhook");
    CHECK(h[2]["vendor_status"] == "delivered");
    CHECK(h[2]["status"] == "sent");
    for (const auto& entry : h)
      CHECK(entry["at"].get<std::string>().ends_with("+09:00"));
  }

  SECTION("undelivered 30003: failed, twilio:30003, unreachable") {
    auto s = get_json(*ops, "/v1/sends/wt-undelivered");
    CHECK(s["status"] == "failed");
    CHECK(s["code"] == "twilio:30003");
    CHECK(s["category"] == "unreachable");
    REQUIRE(s["reason"].is_string());
    CHECK_FALSE(s["reason"].get<std::string>().empty());
    REQUIRE(s["description"].is_string());
    CHECK_FALSE(s["description"].get<std::string>().empty());
    CHECK(s["contact"] == "+821022223333");
    CHECK(s["cost"] == 0);
    const auto& h = s["history"];
    REQUIRE(h.size() == 2);
    CHECK(h[1]["source"] == "webhook");
    CHECK(h[1]["status"] == "failed");
    CHECK(h[1]["code"] == "twilio:30003");
    CHECK(h[1]["vendor_status"] == "undelivered");
    CHECK(h[1]["vendor_code"] == "30003");
  }

  SECTION("excluded 10006: the seed's reason and description") {
    auto s = get_json(*ops, "/v1/sends/wt-excluded");
    CHECK(s["status"] == "excluded");
    CHECK(s["code"] == "10006");
    CHECK(s["reason"] == "Unsubscribed from marketing");
    CHECK(s["description"] == "The recipient has opted out of promotional SMS/emails.");
    CHECK(s["category"] == "opted_out");
    CHECK(s["vendor"].is_null());
    CHECK(s["contact"] == "+821099998888");
    CHECK(s["cost"] == 0);
    REQUIRE(s["history"].size() == 1);
    CHECK(s["history"][0]["source"] == "intake");
    CHECK(s["history"][0]["status"] == "excluded");
    CHECK(s["history"][0]["code"] == "10006");
  }

  SECTION("the day log lists them newest first with the contract's row fields") {
    auto day = get_json(*ops, "/v1/log/day/" + date);
    CHECK(day["date"] == date);
    CHECK(day["next_cursor"].is_null());
    const auto& rows = day["rows"];
    REQUIRE(rows.size() == 3);
    for (const auto& row : rows)
      CHECK(keys_of(row) == row_keys);

    const auto& ex = rows[0];
    CHECK(ex["send_id"] == "wt-excluded");
    CHECK(ex["time"] == seoul_rfc3339(base + 30s));
    CHECK(ex["type"] == "one_time");
    CHECK(ex["source_id"] == "ot-7");
    CHECK(ex["source_name"] == "Coupon");
    CHECK(ex["status"] == "excluded");
    CHECK(ex["medium"] == "sms");
    CHECK(ex["vendor"].is_null());
    CHECK(ex["contact"] == "+821099998888");
    CHECK(ex["code"] == "10006");
    CHECK(ex["reason"] == "Unsubscribed from marketing");
    CHECK(ex["description"] == "The recipient has opted out of promotional SMS/emails.");
    CHECK(ex["category"] == "opted_out");
    CHECK(ex["cost"] == 0);

    const auto& failed = rows[1];
    CHECK(failed["send_id"] == "wt-undelivered");
    CHECK(failed["time"] == seoul_rfc3339(base + 20s));
    CHECK(failed["type"] == "follow_up");
    CHECK(failed["source_id"].is_null());
    CHECK(failed["status"] == "failed");
    CHECK(failed["vendor"] == "twilio");
    CHECK(failed["contact"] == "+821022223333");
    CHECK(failed["code"] == "twilio:30003");
    CHECK(failed["category"] == "unreachable");
    CHECK(failed["reason"].is_string());
    CHECK(failed["description"].is_string());
    CHECK(failed["cost"] == 0);

    const auto& ok = rows[2];
    CHECK(ok["send_id"] == "wt-delivered");
    CHECK(ok["time"] == seoul_rfc3339(base + 10s));
    CHECK(ok["type"] == "campaign");
    CHECK(ok["source_id"] == "cmp-42");
    CHECK(ok["source_name"] == "Winter sale");
    CHECK(ok["status"] == "sent");
    CHECK(ok["medium"] == "sms");
    CHECK(ok["vendor"] == "twilio");
    CHECK(ok["contact"] == "+821012345678");
    CHECK(ok["code"].is_null());
    CHECK(ok["reason"].is_null());
    CHECK(ok["cost"] == 12);
  }
}
