/// Hostile bodies at the adapters: the pre-parse check of JSON texts (UTF-8, NUL bytes, nesting depth) in every
/// JSON parser, and control characters in the vendor fields that are stored as sent.

#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include "adapters/carrier/carrier.hpp"
#include "adapters/email/sendgrid.hpp"
#include "adapters/intake/intake.hpp"
#include "adapters/json_guard.hpp"
#include "adapters/kakao/kakao.hpp"
#include "adapters/twilio/poll.hpp"
#include "adapters/twilio/twilio.hpp"
#include "core/utf8.hpp"

namespace ad = deliveryd::adapters;
namespace core = deliveryd::core;
using namespace std::string_literals;

namespace {

const core::timestamp received_at = core::from_millis(1'795'741'200'000); // 2026-11-27T10:00:00+09:00

core::zone seoul() {
  const auto z = core::zone::locate("Asia/Seoul");
  REQUIRE(z.has_value());
  return *z;
}

/// `depth` arrays nested in one another.
std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

/// The problem the guard finds; fails the test when it finds none.
ad::json_text_problem problem_of(std::string_view text) {
  const auto found = ad::find_json_text_problem(text);
  REQUIRE(found.has_value());
  return *found;
}

/// One valid intake item.
std::string sms(const std::string& id) {
  return R"({"send_id": ")" + id + R"(", "type": "follow_up", "medium": "sms", "vendor": "twilio", )"
         R"("contact": "010-1234-5678", "requested_at": "2026-11-27T09:00:00+09:00"})";
}

ad::intake::intake_context intake_context() {
  ad::intake::intake_context ctx;
  ctx.now = received_at;
  ctx.enabled = {core::vendor::twilio};
  return ctx;
}

/// The 400 sentence of an intake body that must be refused whole.
std::string intake_refusal(const std::string& body, bool ndjson) {
  auto result = ad::intake::parse_body(body, ndjson, intake_context());
  REQUIRE(std::holds_alternative<ad::intake::body_error>(result));
  const auto& error = std::get<ad::intake::body_error>(result);
  CHECK(error.http_status == 400);
  CHECK(error.error == "malformed");
  return error.detail;
}

/// A SendGrid delivered event with `extra` members spliced in.
std::string sendgrid_event(const std::string& extra) {
  return R"({"event": "delivered", "sg_message_id": "msg1.filter", "sg_event_id": "ev1", "timestamp": 1795741200)"
         + extra + "}";
}

} // namespace

TEST_CASE("the JSON guard finds bad UTF-8, NUL bytes and deep nesting, and nothing else", "[hostile][json]") {
  CHECK_FALSE(ad::find_json_text_problem(R"([{"a": "é 한국어 😀", "b": [1, {"c": null}]}])"));
  CHECK_FALSE(ad::find_json_text_problem(nested(ad::max_json_depth)));
  // Brackets inside strings, escaped quotes included, are not nesting.
  CHECK_FALSE(ad::find_json_text_problem("[\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"]"));

  const auto deep = problem_of(nested(ad::max_json_depth + 1));
  CHECK(deep.what == ad::json_text_problem::kind::too_deep);
  CHECK(deep.byte == ad::max_json_depth + 1);
  CHECK(problem_of(std::string(100'000, '{')).what == ad::json_text_problem::kind::too_deep);

  const auto nul = problem_of("[1]\0[2]"s);
  CHECK(nul.what == ad::json_text_problem::kind::nul_byte);
  CHECK(nul.byte == 4);
  CHECK(problem_of("[\"a\0b\"]"s).what == ad::json_text_problem::kind::nul_byte);

  for (const auto* bad : {"[\"\xFF\"]", "[\"\xC0\xAF\"]", "[\"\xED\xA0\x80\"]", "[\"\xE2\x82\"]", "\xF4\x90\x80\x80"}) {
    INFO(bad);
    CHECK(problem_of(bad).what == ad::json_text_problem::kind::not_utf8);
  }
  CHECK(problem_of("[\"ok\", \"\xFF\"]").byte == 9);

  CHECK(ad::describe(deep, "the body") == "the body nests arrays and objects deeper than 64 levels (byte 65)");
  CHECK(ad::describe(nul, "line 2") == "line 2 holds a NUL byte (byte 4)");
}

TEST_CASE("printable UTF-8: no control characters, line breaks only where allowed", "[hostile][utf8]") {
  CHECK(core::is_printable_utf8(""));
  CHECK(core::is_printable_utf8("SM123 é 한국어 😀 ~"));
  for (const auto& bad : {"a\0b"s, "a\x01"s, "\x7F"s, "a\xC2\x80"s, "a\xC2\x9F"s, "\xFF"s, "\xC3"s})
    CHECK_FALSE(core::is_printable_utf8(bad));
  CHECK(core::is_printable_utf8("\xC2\xA0")); // U+00A0, just past C1
  CHECK_FALSE(core::is_printable_utf8("550 5.1.1\r\nno such user\tx"));
  CHECK(core::is_printable_utf8("550 5.1.1\r\nno such user\tx", true));
  CHECK_FALSE(core::is_printable_utf8("a\0b"s, true));
  CHECK_FALSE(core::is_printable_utf8("a\x1B[31m", true));
}

TEST_CASE("intake refuses a body the parser would misread, before parsing it", "[hostile][intake]") {
  // nlohmann-json stops at a NUL: without the guard, the second send would be dropped without a word.
  CHECK(intake_refusal("[" + sms("a") + "]\0["s + sms("b") + "]", false) == "the body holds a NUL byte (byte "
        + std::to_string(sms("a").size() + 3) + ")");
  CHECK(intake_refusal(sms("a") + "\0"s + sms("b") + "\n", true).starts_with("line 1 holds a NUL byte"));
  CHECK(intake_refusal(sms("a") + "\n" + nested(100'000) + "\n", true)
        == "line 2 nests arrays and objects deeper than 64 levels (byte 65)");
  CHECK(intake_refusal("[" + nested(1'000'000) + "]", false).starts_with("the body nests arrays and objects"));
  const std::string bad_utf8 = "[" + sms("a\xFF") + "]";
  CHECK(intake_refusal(bad_utf8, false)
        == "the body is not valid UTF-8 (byte " + std::to_string(bad_utf8.find('\xFF') + 1) + ")");
  CHECK(intake_refusal(sms("a") + "\n" + sms("b\xC0\xAF") + "\n", true).starts_with("line 2 is not valid UTF-8"));

  // \u0000 inside a string is valid JSON: the item is rejected by the per-field rules, the rest accepted.
  auto result = ad::intake::parse_body("[" + sms("ok") + "," + sms("bad\\u0000id") + "]", false, intake_context());
  REQUIRE(std::holds_alternative<ad::intake::parsed_batch>(result));
  const auto& batch = std::get<ad::intake::parsed_batch>(result);
  CHECK(batch.sends.size() == 1);
  REQUIRE(batch.rejected.size() == 1);
  CHECK(batch.rejected[0].error == "invalid");
  CHECK(batch.rejected[0].detail == "send_id must be valid UTF-8 without control characters");
}

TEST_CASE("SendGrid: deep bodies are refused whole, control characters make an event unusable", "[hostile][email]") {
  // Nested inside an otherwise valid event: re-serialising it into `raw` would recurse 100,000 levels deep.
  auto deep = ad::email::parse_events("[" + sendgrid_event(R"(, "x": )" + nested(100'000)) + "]", received_at);
  REQUIRE(std::holds_alternative<ad::email::parse_error>(deep));
  CHECK(std::get<ad::email::parse_error>(deep).detail.starts_with("the body nests arrays and objects deeper"));
  auto nul = ad::email::parse_events("[" + sendgrid_event("") + "]\0[]"s, received_at);
  REQUIRE(std::holds_alternative<ad::email::parse_error>(nul));

  const std::string bounce = R"({"event": "bounce", "sg_message_id": "msg)";
  const std::string body = "[" + sendgrid_event("") + ","
                           + R"({"event": "delivered", "sg_message_id": "msg2\u0000x", "sg_event_id": "ev2"},)"
                           + bounce + R"(3", "sg_event_id": "ev3", "reason": "a\u0000b"},)"
                           + bounce + R"(4", "sg_event_id": "ev4", "status": "5.1\n1"},)"
                           + bounce + R"(5", "sg_event_id": "ev5", "reason": "550 5.1.1\r\nunknown user"}])";
  auto result = ad::email::parse_events(body, received_at);
  REQUIRE(std::holds_alternative<ad::mapped_batch>(result));
  const auto& batch = std::get<ad::mapped_batch>(result);
  REQUIRE(batch.events.size() == 2);
  CHECK(batch.events[0].vendor_message_id == "msg1");
  CHECK(batch.events[1].vendor_message_id == "msg5");
  CHECK(batch.events[1].event.reason == "550 5.1.1\r\nunknown user"); // line breaks are kept as sent
  REQUIRE(batch.unusable.size() == 3);
  CHECK(batch.unusable[0].index == 1);
  CHECK(batch.unusable[0].reason == "the item's sg_message_id or sg_event_id holds control characters");
  CHECK(batch.unusable[1].reason == "the item's reason holds control characters other than tabs and line breaks");
  CHECK(batch.unusable[2].reason == "the item's status holds control characters");
}

TEST_CASE("carrier: deep aggregator bodies are refused, control characters in ids are unusable", "[hostile][carrier]") {
  auto deep = ad::carrier::parse_aggregator(
    R"([{"message_id": "m1", "result_code": "4100", "x": )" + nested(100'000) + "}]", received_at);
  REQUIRE(std::holds_alternative<std::string>(deep));
  CHECK(std::get<std::string>(deep).starts_with("the body nests arrays and objects deeper than 64 levels"));

  auto result = ad::carrier::parse_aggregator(
    R"([{"message_id": "m1", "result_code": "4100"}, {"message_id": "m\u00002", "result_code": "4100"}])",
    received_at);
  REQUIRE(std::holds_alternative<ad::mapped_batch>(result));
  const auto& batch = std::get<ad::mapped_batch>(result);
  CHECK(batch.events.size() == 1);
  REQUIRE(batch.unusable.size() == 1);
  CHECK(batch.unusable[0].reason == "the element's message_id holds control characters");

  const ad::form_params dlr{{"id", "abc\ndef"}, {"message_status", "DELIVRD"}, {"level", "2"}};
  auto jasmin = ad::carrier::parse_jasmin(dlr, "", seoul(), received_at);
  REQUIRE(std::holds_alternative<std::string>(jasmin));
  CHECK(std::get<std::string>(jasmin) == "the DLR's id or err holds control characters");
  const ad::form_params err{{"id", "abc"}, {"message_status", "UNDELIV"}, {"level", "2"}, {"err", "0\x01"}};
  CHECK(std::holds_alternative<std::string>(ad::carrier::parse_jasmin(err, "", seoul(), received_at)));
}

TEST_CASE("Kakao: deep pushes and polls are refused, control characters in ids are unusable", "[hostile][kakao]") {
  auto deep = ad::kakao::parse_push(R"([{"message_id": "k1", "result_code": "0000", "x": )" + nested(100'000) + "}]",
                                    seoul(), received_at);
  REQUIRE(std::holds_alternative<ad::kakao::bad_body>(deep));
  CHECK(std::get<ad::kakao::bad_body>(deep).detail.starts_with("the push body nests arrays and objects deeper"));

  auto result = ad::kakao::parse_push(
    R"([{"message_id": "k1", "result_code": "0000"}, {"message_id": "k2", "result_code": "30\u000018"}])", seoul(),
    received_at);
  REQUIRE(std::holds_alternative<ad::mapped_batch>(result));
  const auto& batch = std::get<ad::mapped_batch>(result);
  CHECK(batch.events.size() == 1);
  REQUIRE(batch.unusable.size() == 1);
  CHECK(batch.unusable[0].reason == "the element's message_id or result_code holds control characters");

  // A poll answer is stored whole as `raw`: what follows a NUL must never be stored unseen.
  const std::string answer = R"({"messageId": "k1", "messageStatusCode": "0000"})";
  auto poll = ad::kakao::parse_poll_response(answer + "\0\xFF garbage"s, seoul(), received_at);
  REQUIRE(std::holds_alternative<ad::kakao::bad_body>(poll));
  CHECK(std::get<ad::kakao::bad_body>(poll).detail
        == "the poll answer holds a NUL byte (byte " + std::to_string(answer.size() + 1) + ")");
}

TEST_CASE("Twilio: control characters in MessageSid or ErrorCode refuse the callback", "[hostile][twilio]") {
  namespace tw = ad::twilio;
  auto error_of = [](ad::form_params params) {
    auto parsed = tw::parse_callback(std::move(params));
    REQUIRE(std::holds_alternative<tw::parse_error>(parsed));
    return std::get<tw::parse_error>(parsed);
  };
  CHECK(error_of({{"MessageSid", "SM1\x01"}, {"MessageStatus", "delivered"}}) == tw::parse_error::control_characters);
  CHECK(error_of({{"MessageSid", "SM1"}, {"MessageStatus", "failed"}, {"ErrorCode", "300\n03"}})
        == tw::parse_error::control_characters);
  CHECK(tw::describe(tw::parse_error::control_characters)
        == "the callback's MessageSid or ErrorCode holds control characters");
  // NUL and invalid UTF-8 never get this far: the form decoder refuses them.
  CHECK_FALSE(ad::parse_form("MessageSid=SM1%00x&MessageStatus=delivered"));
  CHECK_FALSE(ad::parse_form("MessageSid=SM1%FF&MessageStatus=delivered"));
  CHECK_FALSE(ad::parse_form("To=%2B8210\xC0\xAF"));

  auto poll = tw::parse_message(R"({"sid": "SM1", "status": "delivered"})" "\0[]"s, received_at);
  REQUIRE(std::holds_alternative<tw::bad_message>(poll));
}
