/// Twilio's REST message resource (docs/vendors.md#twilio-message-resource): path, Basic credentials, RFC 2822
/// dates, and the mapping shared with the status callback (contract "Polling", "Cost").

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "adapters/twilio/poll.hpp"
#include "adapters/twilio/twilio.hpp"

namespace ad = deliveryd::adapters;
namespace tw = deliveryd::adapters::twilio;
namespace core = deliveryd::core;

namespace {

const std::string sid = "SM0123456789abcdef0123456789abcdef";
const std::string account = "AC" + std::string(32, '0');
const core::timestamp received_at = core::from_millis(1'800'000'000'000);

/// An instant given as RFC 3339.
core::timestamp at(std::string_view rfc3339) {
  const auto t = core::parse_rfc3339(rfc3339);
  REQUIRE(t.has_value());
  return *t;
}

/// A file of tests/data/twilio, byte for byte.
std::string read_data(const std::string& name) {
  std::ifstream in{std::string{DELIVERYD_TEST_DATA} + "/twilio/" + name, std::ios::binary};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// Parses a message resource that must be usable.
tw::message_result parse(std::string_view body) {
  auto r = tw::parse_message(body, received_at);
  if (const auto* bad = std::get_if<tw::bad_message>(&r))
    FAIL(bad->detail);
  return std::get<tw::message_result>(r);
}

/// A minimal message resource.
std::string resource(const std::string& status, const std::string& error_code = "null",
                     const std::string& extra = "") {
  return R"({"sid":")" + sid + R"(","account_sid":")" + account + R"(","status":")" + status +
         R"(","error_code":)" + error_code + extra + "}";
}

/// The event of a status callback with the same sid, status and ErrorCode.
core::event webhook_event(const std::string& status, const std::string& error_code = "") {
  ad::form_params params{{"MessageSid", sid}, {"MessageStatus", status}};
  if (!error_code.empty())
    params.emplace_back("ErrorCode", error_code);
  auto parsed = tw::parse_callback(params);
  REQUIRE(std::holds_alternative<tw::status_callback>(parsed));
  return tw::map_callback(std::get<tw::status_callback>(parsed), received_at).second;
}

} // namespace

TEST_CASE("the message path and the Basic credentials", "[twilio_poll][request]") {
  CHECK(tw::message_path(account, sid) ==
        "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages/SM0123456789abcdef0123456789abcdef.json");
  CHECK(tw::message_path("AC1", "SM/../x y") == "/2010-04-01/Accounts/AC1/Messages/SM%2F..%2Fx%20y.json");
  // base64("ACxxx:token") computed with python.
  CHECK(tw::basic_auth("ACxxx", "token") == "Basic QUN4eHg6dG9rZW4=");
  CHECK(tw::basic_auth(account, "demo-auth-token") ==
        "Basic QUMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDpkZW1vLWF1dGgtdG9rZW4=");
  CHECK(tw::basic_auth("ACxxx", "") == "Basic QUN4eHg6");
}

TEST_CASE("RFC 2822 dates as Twilio writes them", "[twilio_poll][time]") {
  CHECK(tw::parse_rfc2822("Fri, 27 Nov 2026 00:32:00 +0000") == at("2026-11-27T00:32:00Z"));
  CHECK(tw::parse_rfc2822("27 Nov 2026 00:32:00 +0000") == at("2026-11-27T00:32:00Z"));
  CHECK(tw::parse_rfc2822("Fri, 27 Nov 2026 09:32:00 +0900") == at("2026-11-27T00:32:00Z"));
  CHECK(tw::parse_rfc2822("Thu, 26 Nov 2026 19:32:00 -0500") == at("2026-11-27T00:32:00Z"));
  CHECK(tw::parse_rfc2822("Fri, 27 Nov 2026 00:32:00 GMT") == at("2026-11-27T00:32:00Z"));
  CHECK(tw::parse_rfc2822("Fri, 27 nov 2026 00:32 UT") == at("2026-11-27T00:32:00Z"));
  CHECK(tw::parse_rfc2822("Fri,  7 Nov 2026 00:32:00 +0000") == at("2026-11-07T00:32:00Z"));
  for (const char* bad : {"", "Fri, 31 Nov 2026 00:00:00 +0000", "Fri, 27 Foo 2026 00:32:00 +0000",
                          "Fri, 27 Nov 26 00:32:00 +0000", "Fri, 27 Nov 2026 00:32:00",
                          "Fri, 27 Nov 2026 24:00:00 +0000", "Fri, 27 Nov 2026 00:32:00 +00",
                          "Fry, 27 Nov 2026 00:32:00 +0000", "Fri, 27 Nov 2026 00:32:00 +0000 extra",
                          "Fri, 27 Nov 2026 0:32:00 +0000", "Fri, 127 Nov 2026 00:32:00 +0000",
                          "2026-11-27T00:32:00Z", "Fri, 27 Nov 2026 00:32:00 PST"}) {
    INFO(bad);
    CHECK_FALSE(tw::parse_rfc2822(bad));
  }
}

TEST_CASE("a delivered message keeps its price exactly as Twilio wrote it", "[twilio_poll][parse]") {
  const auto body = read_data("message_delivered.json");
  const auto r = parse(body);
  CHECK(r.what == tw::disposition::apply);
  CHECK(r.price == std::optional<std::string>{"-0.00790"});
  CHECK(r.price_unit == std::optional<std::string>{"USD"});
  CHECK(r.error_message.empty());
  CHECK(r.result.vendor_message_id == sid);
  CHECK(r.result.raw == body);
  const auto& e = r.result.event;
  CHECK(e.source == core::event_source::poll);
  CHECK(e.outcome == core::status::sent);
  CHECK(e.code.empty());
  CHECK(e.vendor_status == "delivered");
  CHECK(e.vendor_code.empty());
  CHECK(e.vendor_time == core::timestamp{}); // unknown, as for a callback: date_updated is not the status time
  CHECK(e.dedupe_key == sid + "|delivered");
}

TEST_CASE("an undelivered message: integer error_code, null price", "[twilio_poll][parse]") {
  const auto r = parse(read_data("message_undelivered.json"));
  CHECK_FALSE(r.price.has_value());
  CHECK(r.price_unit == std::optional<std::string>{"USD"});
  CHECK(r.error_message == "Unreachable destination handset");
  const auto& e = r.result.event;
  CHECK(e.outcome == core::status::failed);
  CHECK(e.code == "twilio:30003");
  CHECK(e.vendor_code == "30003");
  CHECK(e.cat == core::category::unreachable);
  CHECK(e.reason == "Unreachable destination handset");
  CHECK(e.vendor_time == core::timestamp{});
  CHECK(e.dedupe_key == sid + "|undelivered");
}

TEST_CASE("error_code as an integer, a string or null", "[twilio_poll][parse]") {
  CHECK(parse(resource("failed", "30005")).result.event.code == "twilio:30005");
  CHECK(parse(resource("failed", R"("30005")")).result.event.code == "twilio:30005");
  CHECK(parse(resource("failed", "30005")).result.event.cat == core::category::invalid_recipient);
  const auto none = parse(resource("failed", "null")).result.event;
  CHECK(none.code == "twilio:failed");
  CHECK(none.vendor_code.empty());
  CHECK(none.cat == core::category::unknown);
  CHECK(parse(resource("failed", R"("")")).result.event.code == "twilio:failed");
  const auto absent = parse(R"({"sid":"SM1","status":"undelivered"})").result.event;
  CHECK(absent.code == "twilio:undelivered");

  SECTION("error_message is the reason when the code has no short text") {
    const auto e =
      parse(resource("undelivered", "63016", R"(,"error_message":"Outside the allowed window")")).result.event;
    CHECK(e.code == "twilio:63016");
    CHECK(e.reason == "Outside the allowed window");
    // A code with its own short text keeps it.
    CHECK(parse(resource("undelivered", "30003", R"(,"error_message":"Something else")")).result.event.reason ==
          "Unreachable destination handset");
    // Without error_message the category's sentence remains.
    CHECK(parse(resource("undelivered", "63016")).result.event.reason == core::describe(core::category::unknown));
  }
}

TEST_CASE("a poll and a callback of one status are the same event", "[twilio_poll][parse]") {
  const std::vector<std::pair<std::string, std::string>> cases{
    {"queued", ""}, {"sent", ""},          {"delivered", ""},           {"read", ""},
    {"failed", ""}, {"undelivered", "30003"}, {"canceled", ""}, {"partially_delivered", ""},
    {"failed", "21610"}};
  for (const auto& [status, code] : cases) {
    INFO(status << " " << code);
    const auto polled = parse(resource(status, code.empty() ? "null" : code)).result.event;
    const auto hooked = webhook_event(status, code);
    CHECK(polled.dedupe_key == hooked.dedupe_key);
    CHECK(polled.dedupe_key == sid + "|" + status);
    CHECK(polled.outcome == hooked.outcome);
    CHECK(polled.code == hooked.code);
    CHECK(polled.cat == hooked.cat);
    CHECK(polled.reason == hooked.reason);
    CHECK(polled.vendor_status == hooked.vendor_status);
    CHECK(polled.vendor_code == hooked.vendor_code);
    CHECK(polled.vendor_time == hooked.vendor_time); // neither carries a time here: both unknown
    CHECK(polled.source == core::event_source::poll);
    CHECK(hooked.source == core::event_source::webhook);
  }
}

TEST_CASE("pending, inbound and odd fields", "[twilio_poll][parse]") {
  const auto sent = parse(resource("sent"));
  CHECK(sent.what == tw::disposition::apply);
  CHECK(sent.result.event.outcome == core::status::pending);
  CHECK(parse(resource("received")).what == tw::disposition::ignore);

  // No or unreadable date_updated: unknown (the epoch), as for a callback; never the receipt time.
  CHECK(sent.result.event.vendor_time == core::timestamp{});
  CHECK(parse(resource("delivered", "null", R"(,"date_updated":"yesterday")")).result.event.vendor_time ==
        core::timestamp{});
  // A price that is not a string is unknown (fetched again later), not guessed at.
  CHECK_FALSE(parse(resource("delivered", "null", R"(,"price":-0.0079,"price_unit":null)")).price.has_value());
  CHECK_FALSE(parse(resource("delivered", "null", R"(,"price_unit":null)")).price_unit.has_value());
  CHECK(parse(resource("delivered", "null", R"(,"price":"0.00000")")).price == std::optional<std::string>{"0.00000"});
}

TEST_CASE("unusable message resources are refused with a sentence", "[twilio_poll][parse]") {
  for (const std::string& body :
       {std::string{""}, std::string{"nope"}, std::string{"[]"}, std::string{R"({"status":"delivered"})"},
        std::string{R"({"sid":"","status":"delivered"})"}, std::string{R"({"sid":42,"status":"delivered"})"},
        std::string{R"({"sid":"SM1"})"}, std::string{R"({"sid":"SM1","status":"bounced"})"},
        std::string{R"({"sid":"SM1","status":"Delivered"})"}, resource("failed", "30003.5"),
        resource("failed", "[30003]"), resource("failed", "true")}) {
    INFO(body);
    auto r = tw::parse_message(body, received_at);
    REQUIRE(std::holds_alternative<tw::bad_message>(r));
    CHECK_FALSE(std::get<tw::bad_message>(r).detail.empty());
  }
}
