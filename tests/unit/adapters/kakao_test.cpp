/// Kakao Alimtalk through a dealer: NCP signature v2 (docs/vendors.md#kakao-api-gateway-signature), the result
/// path, Kakao's result codes (docs/vendors.md#kakao-result-codes), the SENS poll answer and pushed results
/// (contract "Webhooks", "Polling").

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "adapters/kakao/kakao.hpp"
#include "adapters/url.hpp"
#include "core/codes.hpp"
#include "core/reconcile.hpp"

namespace kk = deliveryd::adapters::kakao;
namespace core = deliveryd::core;

namespace {

const std::string service_id = "ncp:kkobizmsg:kr:1234:demo";
const std::string vector_path = "/alimtalk/v2/services/ncp:kkobizmsg:kr:1234:demo/messages/abc-123";
const std::string vector_signature = "0MtNwJhCyd93jg0F8LjbWH0Kx5HaLaNzfGYakBUNEWQ=";
const core::timestamp vector_now = core::from_millis(1'764'236'400'000);
const core::timestamp received_at = core::from_millis(1'800'000'000'000);

/// A zone the tests need; fails the test if the system has no tz database entry.
core::zone zone_named(std::string_view name) {
  const auto z = core::zone::locate(name);
  REQUIRE(z.has_value());
  return *z;
}

/// An instant given as RFC 3339.
core::timestamp at(std::string_view rfc3339) {
  const auto t = core::parse_rfc3339(rfc3339);
  REQUIRE(t.has_value());
  return *t;
}

/// A file of tests/data/kakao, byte for byte.
std::string read_data(const std::string& name) {
  std::ifstream in{std::string{DELIVERYD_TEST_DATA} + "/kakao/" + name, std::ios::binary};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// Parses a poll answer that must be usable.
kk::poll_result poll(std::string_view body) {
  auto r = kk::parse_poll_response(body, zone_named("Asia/Seoul"), received_at);
  if (const auto* bad = std::get_if<kk::bad_body>(&r))
    FAIL(bad->detail);
  return std::get<kk::poll_result>(r);
}

/// The sentence of a poll answer that must be refused.
std::string refused_poll(std::string_view body) {
  auto r = kk::parse_poll_response(body, zone_named("Asia/Seoul"), received_at);
  REQUIRE(std::holds_alternative<kk::bad_body>(r));
  return std::get<kk::bad_body>(r).detail;
}

/// Parses a push body that must parse as a whole.
deliveryd::adapters::mapped_batch push(std::string_view body) {
  auto r = kk::parse_push(body, zone_named("Asia/Seoul"), received_at);
  if (const auto* bad = std::get_if<kk::bad_body>(&r))
    FAIL(bad->detail);
  return std::get<deliveryd::adapters::mapped_batch>(r);
}

} // namespace

TEST_CASE("the verified NCP signature vector", "[kakao][signature]") {
  CHECK(kk::signing_string("GET", vector_path, "1764236400000", "DEMOACCESSKEY") ==
        "GET " + vector_path + "\n1764236400000\nDEMOACCESSKEY");
  CHECK(kk::signature_v2("DEMOSECRET", "GET", vector_path, "1764236400000", "DEMOACCESSKEY") == vector_signature);

  const auto headers = kk::sign_request("GET", vector_path, vector_now, "DEMOACCESSKEY", "DEMOSECRET");
  CHECK(headers.timestamp == "1764236400000");
  CHECK(headers.access_key == "DEMOACCESSKEY");
  CHECK(headers.signature == vector_signature);

  SECTION("the path built by result_path signs the same") {
    CHECK(kk::result_path(service_id, "abc-123") == vector_path);
  }
  SECTION("anything changed changes the signature") {
    CHECK(kk::signature_v2("DEMOSECRET2", "GET", vector_path, "1764236400000", "DEMOACCESSKEY") !=
          vector_signature);
    CHECK(kk::signature_v2("DEMOSECRET", "POST", vector_path, "1764236400000", "DEMOACCESSKEY") !=
          vector_signature);
    CHECK(kk::signature_v2("DEMOSECRET", "GET", vector_path, "1764236400001", "DEMOACCESSKEY") !=
          vector_signature);
    CHECK(kk::signature_v2("DEMOSECRET", "GET", vector_path, "1764236400000", "OTHERKEY") != vector_signature);
    CHECK(kk::sign_request("GET", vector_path, vector_now + std::chrono::milliseconds{1}, "DEMOACCESSKEY",
                           "DEMOSECRET")
            .timestamp == "1764236400001");
  }
}

TEST_CASE("a path with a query string is signed with its query", "[kakao][signature]") {
  const std::string path = "/alimtalk/v2/services/ncp:kkobizmsg:kr:1234:demo/messages?requestId=req-1&pageSize=20";
  CHECK(kk::signing_string("GET", path, "1764236400000", "DEMOACCESSKEY") ==
        "GET " + path + "\n1764236400000\nDEMOACCESSKEY");
  // Recomputed with python's hmac/base64 over the same string.
  CHECK(kk::signature_v2("DEMOSECRET", "GET", path, "1764236400000", "DEMOACCESSKEY") ==
        "SsLeOS3AGSg7SJibODATv17PAtEmTKbo3biB5vkMAk8=");
  CHECK(kk::sign_request("GET", path, vector_now, "DEMOACCESSKEY", "DEMOSECRET").signature ==
        "SsLeOS3AGSg7SJibODATv17PAtEmTKbo3biB5vkMAk8=");
}

TEST_CASE("result_path percent-encodes the ids as path segments", "[kakao][path]") {
  using deliveryd::adapters::encode_path_segment;
  CHECK(kk::result_path(service_id, "aa724ca6-0000-4000-8000-66dfc1a700e7") ==
        "/alimtalk/v2/services/ncp:kkobizmsg:kr:1234:demo/messages/aa724ca6-0000-4000-8000-66dfc1a700e7");
  CHECK(kk::result_path(service_id, "a/b?c#d") ==
        "/alimtalk/v2/services/ncp:kkobizmsg:kr:1234:demo/messages/a%2Fb%3Fc%23d");

  CHECK(encode_path_segment("AZaz09-._~") == "AZaz09-._~");
  CHECK(encode_path_segment("ncp:x@y") == "ncp:x@y");
  CHECK(encode_path_segment("a b") == "a%20b");
  CHECK(encode_path_segment("100%") == "100%25");
  CHECK(encode_path_segment("a+b&c=d;e,f!g$h'i(j)k*l") == "a%2Bb%26c%3Dd%3Be%2Cf%21g%24h%27i%28j%29k%2Al");
  CHECK(encode_path_segment("\xed\x95\x9c") == "%ED%95%9C");
  CHECK(encode_path_segment(std::string_view{"a\0b", 3}) == "a%00b");
  CHECK(encode_path_segment("\x7f") == "%7F");
  CHECK(encode_path_segment(".") == "%2E");
  CHECK(encode_path_segment("..") == "%2E%2E");
  CHECK(encode_path_segment("...") == "...");
  CHECK(encode_path_segment("") == "");
}

TEST_CASE("every Kakao code family has its kind and category", "[kakao][codes]") {
  using c = core::category;
  for (const char* code : {"0000", "OK", "KKO_0000", "7000"}) {
    INFO(code);
    CHECK(kk::kind_of(code) == kk::code_kind::delivered);
    CHECK(kk::category_of(code) == c::none);
  }
  for (const char* code : {"3005", "7305", "ME09", "KKO_3005"}) {
    INFO(code);
    CHECK(kk::kind_of(code) == kk::code_kind::uncertain);
  }
  for (int n = 1001; n <= 1030; ++n) {
    const auto code = std::to_string(n);
    INFO(code);
    CHECK(kk::kind_of(code) == kk::code_kind::failed);
    CHECK(kk::category_of(code) == c::sender_config);
    CHECK_FALSE(kk::code_text(code).empty());
  }
  const std::vector<std::pair<std::string, c>> table{
    {"3008", c::invalid_recipient}, {"3014", c::content_rejected}, {"3015", c::sender_config},
    {"3016", c::content_rejected},  {"3018", c::unreachable},      {"3019", c::invalid_recipient},
    {"3020", c::blocked},           {"3021", c::unreachable},      {"3022", c::blocked}};
  for (const auto& [code, cat] : table) {
    INFO(code);
    CHECK(kk::kind_of(code) == kk::code_kind::failed);
    CHECK(kk::category_of(code) == cat);
    CHECK_FALSE(kk::code_text(code).empty());
  }
  CHECK(kk::code_text("1003") == "Invalid sender key");
  CHECK(kk::code_text("3015") == "Template not found");
  CHECK(kk::code_text("3016") == "Content does not match the template");
  CHECK(kk::code_text("3018") == "Not a KakaoTalk user or inactive");
  CHECK(kk::code_text("3019") == "Not a KakaoTalk user");
  CHECK(kk::category_of("KKO_3018") == c::unreachable);
  CHECK(kk::category_of("KKO_1001") == c::sender_config);

  for (const char* code : {"1000", "1031", "10011", "3001", "3099", "7204", "9999", "E400", "", "0", "ok"}) {
    INFO(code);
    CHECK(kk::kind_of(code) == kk::code_kind::failed);
    CHECK(kk::category_of(code) == c::unknown);
    CHECK(kk::code_text(code).empty());
  }
}

TEST_CASE("event_of_code: outcome, code, category and reason", "[kakao][codes]") {
  const auto sent = kk::event_of_code("0000", "ignored");
  CHECK(sent.outcome == core::status::sent);
  CHECK(sent.code.empty());
  CHECK(sent.reason.empty());
  CHECK(sent.cat == core::category::none);
  CHECK(sent.vendor_code == "0000");

  const auto uncertain = kk::event_of_code("3005", "AckTimeoutException");
  CHECK(uncertain.outcome == core::status::uncertain);
  CHECK(uncertain.code == "ME09");
  CHECK(uncertain.reason == "Uncertain delivery status");
  CHECK(uncertain.vendor_code == "3005");

  const auto failed = kk::event_of_code("3018", "");
  CHECK(failed.outcome == core::status::failed);
  CHECK(failed.code == "kakao:3018");
  CHECK(failed.cat == core::category::unreachable);
  CHECK(failed.reason == "Not a KakaoTalk user or inactive");
  CHECK(kk::event_of_code("3018", "Kakao's own words").reason == "Kakao's own words");

  const auto unknown = kk::event_of_code("3001", "");
  CHECK(unknown.code == "kakao:3001");
  CHECK(unknown.cat == core::category::unknown);
  CHECK(unknown.reason == core::describe(core::category::unknown));
}

TEST_CASE("SENS times are read in the zone, with ' ' or 'T', or as RFC 3339", "[kakao][time]") {
  const auto seoul = zone_named("Asia/Seoul");
  CHECK(kk::parse_local_time("2026-11-27 09:32:10", seoul) == at("2026-11-27T09:32:10+09:00"));
  CHECK(kk::parse_local_time("2026-11-27T09:32:10", seoul) == at("2026-11-27T09:32:10+09:00"));
  CHECK(kk::parse_local_time("2026-11-27T09:32:10.250", seoul) == at("2026-11-27T09:32:10.250+09:00"));
  CHECK(kk::parse_local_time("2026-11-27 09:32:10.1", seoul) == at("2026-11-27T09:32:10.100+09:00"));
  CHECK(kk::parse_local_time("2026-11-27T00:32:10Z", seoul) == at("2026-11-27T09:32:10+09:00"));
  CHECK(kk::parse_local_time("2026-11-27 09:32:10", zone_named("UTC")) == at("2026-11-27T09:32:10Z"));
  for (const char* bad : {"", "2026-11-27", "2026-13-01 00:00:00", "2026-02-30 00:00:00", "2026-11-27 24:00:00",
                          "2026-11-27 09:60:00", "2026-11-27 09:32:60", "2026/11/27 09:32:10",
                          "2026-11-27_09:32:10", "1999-12-31 23:59:59", "2100-01-01 00:00:00",
                          "2026-11-27 09:32:10.", "2026-11-27 09:32:10x", "2026-11-27 09:32:1a"}) {
    INFO(bad);
    CHECK_FALSE(kk::parse_local_time(bad, seoul));
  }
  // A local time a DST jump skips does not exist.
  CHECK_FALSE(kk::parse_local_time("2026-03-08 02:30:00", zone_named("America/New_York")));
}

TEST_CASE("poll answers from tests/data/kakao", "[kakao][poll]") {
  SECTION("0000 is sent and final, at completeTime in Seoul") {
    const auto body = read_data("poll_delivered.json");
    const auto r = poll(body);
    CHECK(r.is_final);
    CHECK(r.result.vendor_message_id == "abc-123");
    CHECK(r.result.raw == body);
    const auto& e = r.result.event;
    CHECK(e.source == core::event_source::poll);
    CHECK(e.outcome == core::status::sent);
    CHECK(e.code.empty());
    CHECK(e.reason.empty());
    CHECK(e.vendor_time == at("2026-11-27T09:32:10+09:00"));
    CHECK(e.vendor_status == "success");
    CHECK(e.vendor_code == "0000");
    CHECK(e.dedupe_key == "poll|abc-123|0000");
  }
  SECTION("A000 alone is pending, never sent") {
    const auto r = poll(read_data("poll_accepted.json"));
    CHECK_FALSE(r.is_final);
    const auto& e = r.result.event;
    CHECK(e.outcome == core::status::pending);
    CHECK(e.code.empty());
    CHECK(e.cat == core::category::none);
    CHECK(e.vendor_time == core::timestamp{}); // no completeTime: unknown, not the receipt time
    CHECK(e.vendor_status == "success");
    CHECK(e.vendor_code == "A000");
    CHECK(e.dedupe_key == "poll|abc-123|A000");
  }
  SECTION("3005 is uncertain ME09 and re-checked") {
    const auto r = poll(read_data("poll_uncertain_3005.json"));
    CHECK_FALSE(r.is_final);
    const auto& e = r.result.event;
    CHECK(e.outcome == core::status::uncertain);
    CHECK(e.code == "ME09");
    CHECK(e.reason == "Uncertain delivery status");
    CHECK(e.vendor_code == "3005");
    CHECK(e.vendor_status == "fail");
    CHECK(e.vendor_time == at("2026-11-27T09:35:00+09:00"));
    CHECK(e.dedupe_key == "poll|abc-123|3005");
  }
  SECTION("3018 fails with the table's text when messageStatusDesc is empty; failover fields are ignored") {
    const auto r = poll(read_data("poll_failed_3018.json"));
    CHECK(r.is_final);
    const auto& e = r.result.event;
    CHECK(e.outcome == core::status::failed);
    CHECK(e.code == "kakao:3018");
    CHECK(e.cat == core::category::unreachable);
    CHECK(e.reason == "Not a KakaoTalk user or inactive");
    CHECK(e.vendor_time == at("2026-11-27T09:32:05+09:00"));
    CHECK(e.dedupe_key == "poll|abc-123|3018");
  }
}

TEST_CASE("3005 then 0000: distinct events, and the later 0000 corrects the send", "[kakao][poll]") {
  const auto uncertain = poll(read_data("poll_uncertain_3005.json")).result.event;
  const auto delivered = poll(read_data("poll_delivered.json")).result.event;
  CHECK(uncertain.dedupe_key != delivered.dedupe_key);
  // The same result polled twice is one event.
  CHECK(poll(read_data("poll_uncertain_3005.json")).result.event.dedupe_key == uncertain.dedupe_key);

  const auto first = core::reconcile(core::send_state{}, uncertain, received_at);
  CHECK(first.state.current == core::status::uncertain);
  CHECK(first.state.code == "ME09");
  const auto second = core::reconcile(first.state, delivered, received_at);
  CHECK(second.state.current == core::status::sent);
  CHECK(std::find(second.effects.begin(), second.effects.end(), core::effect::correction) != second.effects.end());
  // Order does not matter: a stale 3005 after 0000 leaves it sent.
  CHECK(core::reconcile(second.state, uncertain, received_at).state == second.state);
}

TEST_CASE("poll answers: message codes, request failures, texts and times", "[kakao][poll]") {
  SECTION("messageStatusDesc is the reason when given") {
    const auto e = poll(R"({"messageId":"m1","requestStatusCode":"A000","messageStatusCode":"3020",)"
                        R"("messageStatusName":"fail","messageStatusDesc":"User blocked Alimtalk messages"})")
                     .result.event;
    CHECK(e.code == "kakao:3020");
    CHECK(e.cat == core::category::blocked);
    CHECK(e.reason == "User blocked Alimtalk messages");
  }
  SECTION("a dealer's delivered and uncertain spellings") {
    CHECK(poll(R"({"messageId":"m1","messageStatusCode":"7000"})").result.event.outcome == core::status::sent);
    CHECK(poll(R"({"messageId":"m1","messageStatusCode":"KKO_0000"})").is_final);
    CHECK(poll(R"({"messageId":"m1","messageStatusCode":"7305"})").result.event.code == "ME09");
  }
  SECTION("a request the dealer refused fails as vendor_error, final") {
    const auto r = poll(R"({"messageId":"m1","requestStatusCode":"E400","requestStatusName":"fail",)"
                        R"("requestStatusDesc":"Invalid template parameters"})");
    CHECK(r.is_final);
    CHECK(r.result.event.outcome == core::status::failed);
    CHECK(r.result.event.code == "kakao:E400");
    CHECK(r.result.event.cat == core::category::vendor_error);
    CHECK(r.result.event.reason == "Invalid template parameters");
    CHECK(r.result.event.vendor_status == "fail");
    CHECK(r.result.event.dedupe_key == "poll|m1|E400");
    const auto bare = poll(R"({"messageId":"m1","requestStatusCode":"E400"})").result.event;
    CHECK(bare.reason == core::describe(core::category::vendor_error));
  }
  SECTION("empty or null messageStatusCode with A000 is pending") {
    CHECK(poll(R"({"messageId":"m1","requestStatusCode":"A000","messageStatusCode":""})").result.event.outcome ==
          core::status::pending);
    CHECK(poll(R"({"messageId":"m1","requestStatusCode":"A000","messageStatusCode":null})")
            .result.event.outcome == core::status::pending);
  }
  SECTION("an unreadable completeTime is an unknown time (the epoch), not the receipt time") {
    for (const char* t : {R"("yesterday")", "12345", "null", R"("2026-11-27")"}) {
      INFO(t);
      const auto body = std::string{R"({"messageId":"m1","messageStatusCode":"0000","completeTime":)"} + t + "}";
      CHECK(poll(body).result.event.vendor_time == core::timestamp{});
    }
  }
  SECTION("unknown fields are ignored") {
    CHECK(poll(R"({"messageId":"m1","messageStatusCode":"0000","newField":{"a":[1,2]}})").is_final);
  }
}

TEST_CASE("unusable poll answers are refused with a sentence", "[kakao][poll]") {
  for (const char* body : {"", "not json", "[]", R"("abc")", "{}", R"({"messageStatusCode":"0000"})",
                           R"({"messageId":"","messageStatusCode":"0000"})",
                           R"({"messageId":42,"messageStatusCode":"0000"})", R"({"messageId":"m1"})",
                           R"({"messageId":"m1","requestStatusCode":null})",
                           R"({"messageId":"m1","messageStatusCode":0})",
                           R"({"messageId":"m1","requestStatusCode":["A000"]})",
                           R"({"messageId":"m1","messageStatusCode":"0000")"}) {
    INFO(body);
    CHECK_FALSE(refused_poll(body).empty());
  }
}

TEST_CASE("pushed results from tests/data/kakao", "[kakao][push]") {
  const auto batch = push(read_data("push_batch.json"));
  CHECK(batch.unusable.empty());
  CHECK(batch.ignored == 0);
  REQUIRE(batch.events.size() == 4);

  const auto& delivered = batch.events[0];
  CHECK(delivered.vendor_message_id == "abc-123");
  CHECK(delivered.event.source == core::event_source::webhook);
  CHECK(delivered.event.outcome == core::status::sent);
  CHECK(delivered.event.vendor_code == "0000");
  CHECK(delivered.event.vendor_time == at("2026-11-27T09:32:10+09:00"));
  CHECK(delivered.event.dedupe_key == "push|abc-123|0000");
  CHECK_FALSE(delivered.raw.empty());

  CHECK(batch.events[1].event.outcome == core::status::uncertain);
  CHECK(batch.events[1].event.code == "ME09");
  CHECK(batch.events[1].event.dedupe_key == "push|abc-124|3005");

  CHECK(batch.events[2].event.code == "kakao:3019");
  CHECK(batch.events[2].event.cat == core::category::invalid_recipient);
  CHECK(batch.events[2].event.reason == "Not a KakaoTalk user");

  CHECK(batch.events[3].event.code == "kakao:1003");
  CHECK(batch.events[3].event.cat == core::category::sender_config);
  CHECK(batch.events[3].event.vendor_time == core::timestamp{}); // no done_at: unknown
}

TEST_CASE("a push batch keeps its usable items and counts the rest", "[kakao][push]") {
  const auto batch = push(R"([
    {"message_id": "m1", "result_code": "0000", "done_at": "2026-11-27 09:32:10"},
    42,
    {"result_code": "0000"},
    {"message_id": "m3"},
    {"message_id": "", "result_code": "0000"},
    {"message_id": "m5", "result_code": 3018},
    {"message_id": ["m6"], "result_code": "0000"},
    {"message_id": "m7", "result_code": "3018", "done_at": "garbage", "extra": true},
    {"message_id": "m8", "result_code": "3022", "done_at": 1764236400}
  ])");
  REQUIRE(batch.events.size() == 3);
  CHECK(batch.events[0].vendor_message_id == "m1");
  CHECK(batch.events[0].event.vendor_time == at("2026-11-27T09:32:10+09:00"));
  CHECK(batch.events[1].vendor_message_id == "m7");
  CHECK(batch.events[1].event.vendor_time == core::timestamp{});
  CHECK(batch.events[1].event.dedupe_key == "push|m7|3018");
  CHECK(batch.events[2].event.cat == core::category::blocked);
  CHECK(batch.events[2].event.vendor_time == core::timestamp{});

  REQUIRE(batch.unusable.size() == 6);
  const std::vector<std::size_t> indices{1, 2, 3, 4, 5, 6};
  for (std::size_t i = 0; i < indices.size(); ++i) {
    CHECK(batch.unusable[i].index == indices[i]);
    CHECK_FALSE(batch.unusable[i].reason.empty());
  }
}

TEST_CASE("a push body that is not a JSON array is refused whole", "[kakao][push]") {
  const auto seoul = zone_named("Asia/Seoul");
  for (const char* body : {"", "nope", R"({"message_id":"m1","result_code":"0000"})", "[1,", "null"}) {
    INFO(body);
    const auto r = kk::parse_push(body, seoul, received_at);
    REQUIRE(std::holds_alternative<kk::bad_body>(r));
    CHECK_FALSE(std::get<kk::bad_body>(r).detail.empty());
  }
  const auto empty = push("[]");
  CHECK(empty.events.empty());
  CHECK(empty.unusable.empty());
}

TEST_CASE("a push and a poll of one result are told apart by their keys", "[kakao][push][poll]") {
  const auto pushed = push(R"([{"message_id":"abc-123","result_code":"0000"}])").events.at(0).event;
  const auto polled = poll(read_data("poll_delivered.json")).result.event;
  CHECK(pushed.dedupe_key != polled.dedupe_key);
  CHECK(core::state_of(pushed).current == core::state_of(polled).current);
}

TEST_CASE("two failures without vendor times end the same in either order", "[kakao][push][poll]") {
  const auto pushed = push(R"([{"message_id":"m1","result_code":"3018"}])").events.at(0).event;
  const auto polled = poll(R"({"messageId":"m1","messageStatusCode":"3019"})").result.event;
  const auto push_first = core::reconcile(core::reconcile(core::send_state{}, pushed, received_at).state, polled,
                                          received_at + std::chrono::minutes{5});
  const auto poll_first = core::reconcile(core::reconcile(core::send_state{}, polled, received_at).state, pushed,
                                          received_at + std::chrono::minutes{5});
  CHECK(push_first.state == poll_first.state);
  CHECK(push_first.state.code == "kakao:3019"); // the tie goes to the greater code
}
