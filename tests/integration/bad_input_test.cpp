// Bad input on both listeners: the contract's status codes with JSON {error, detail}, nothing stored by a refused
// request, per-item intake rejections and idempotency, routing between the listeners, the code table, and the
// day log's pagination, cursors and retention.
#include <set>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

/// Checks the contract's error shape and status; returns the machine word.
std::string expect_error(const httplib::Result& res, int status) {
  INFO(describe(res));
  REQUIRE(res);
  CHECK(res->status == status);
  CHECK(res->get_header_value("Content-Type").starts_with("application/json"));
  auto body = body_of(res);
  REQUIRE(body.is_object());
  REQUIRE(body.contains("error"));
  REQUIRE(body.contains("detail"));
  CHECK(body["error"].is_string());
  CHECK(body["detail"].is_string());
  CHECK_FALSE(body["detail"].get<std::string>().empty());
  return body["error"].get<std::string>();
}

/// POSTs a form body with an explicit signature header (or none when `signature` is nullopt).
httplib::Result post_raw(httplib::Client& hooks, const std::string& body, const std::optional<std::string>& signature,
                         const std::string& target = twilio_path) {
  httplib::Headers headers;
  if (signature)
    headers.emplace("X-Twilio-Signature", *signature);
  return hooks.Post(target.c_str(), headers, body, "application/x-www-form-urlencoded");
}

const std::string sid = "SM33333333333333333333333333333333";

} // namespace

TEST_CASE("bad input: Twilio callbacks that fail authentication or parsing change nothing", "[integration][bad]") {
  daemon_process d;
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  const auto base = same_day_base();
  auto intake = body_of(post_sends(*ops, json::array({twilio_send("bad-cb", base, sid)})));
  REQUIRE(intake["accepted"] == 1);

  const auto delivered = twilio_callback(sid, "delivered");
  const auto url = d.public_url() + twilio_path;
  const auto body = form_encode(delivered);

  SECTION("wrong token") {
    CHECK(expect_error(post_raw(*hooks, body, twilio_signature("another-token", url, delivered)), 403)
          == "forbidden");
  }
  SECTION("signature of another URL (https instead of http)") {
    auto other = "https://127.0.0.1:" + std::to_string(d.webhooks_port()) + twilio_path;
    CHECK(expect_error(post_raw(*hooks, body, twilio_signature(auth_token, other, delivered)), 403) == "forbidden");
  }
  SECTION("signature of other parameters") {
    auto signed_params = twilio_callback(sid, "undelivered", "30003");
    CHECK(expect_error(post_raw(*hooks, body, twilio_signature(auth_token, url, signed_params)), 403)
          == "forbidden");
  }
  SECTION("a parameter dropped after signing") {
    auto fewer = delivered;
    fewer.pop_back();
    CHECK(expect_error(post_raw(*hooks, form_encode(fewer), twilio_signature(auth_token, url, delivered)), 403)
          == "forbidden");
  }
  SECTION("missing signature") {
    CHECK(expect_error(post_raw(*hooks, body, std::nullopt), 403) == "forbidden");
  }
  SECTION("empty signature") {
    CHECK(expect_error(post_raw(*hooks, body, std::string{}), 403) == "forbidden");
  }
  SECTION("malformed form body (bad % escape)") {
    const std::string broken = "MessageSid=" + sid + "&MessageStatus=deliver%ZZed";
    CHECK(expect_error(post_raw(*hooks, broken, twilio_signature(auth_token, url, delivered)), 400) == "malformed");
  }
  SECTION("signed, but without MessageStatus") {
    form_params no_status;
    for (const auto& p : delivered)
      if (p.first != "MessageStatus" && p.first != "SmsStatus")
        no_status.push_back(p);
    CHECK(expect_error(post_twilio(*hooks, d.public_url(), no_status), 400) == "malformed");
  }
  SECTION("signed, but without MessageSid") {
    form_params no_sid;
    for (const auto& p : delivered)
      if (p.first != "MessageSid" && p.first != "SmsSid")
        no_sid.push_back(p);
    CHECK(expect_error(post_twilio(*hooks, d.public_url(), no_sid), 400) == "malformed");
  }

  // Whatever was refused, the send is as registered; a correct callback afterwards still applies.
  auto s = get_json(*ops, "/v1/sends/bad-cb");
  CHECK(s["status"] == "pending");
  CHECK(s["history"].size() == 1);
  auto ok = post_twilio(*hooks, d.public_url(), delivered);
  INFO(describe(ok));
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(get_json(*ops, "/v1/sends/bad-cb")["status"] == "sent");
}

TEST_CASE("bad input: bodies larger than max_body_bytes are 413", "[integration][bad]") {
  daemon_options options;
  options.webhooks_max_body_bytes = 1024;
  options.ops_max_body_bytes = 2048;
  daemon_process d{options};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  REQUIRE(body_of(post_sends(*ops, json::array({twilio_send("big-cb", same_day_base(), sid)})))["accepted"] == 1);

  auto big = twilio_callback(sid, "delivered");
  big.emplace_back("Padding", std::string(2000, 'x'));
  CHECK(expect_error(post_twilio(*hooks, d.public_url(), big), 413) == "body_too_large");
  CHECK(get_json(*ops, "/v1/sends/big-cb")["history"].size() == 1);

  // A callback under the limit still works (on a new connection if the server closed the old one).
  auto small = post_twilio(*hooks, d.public_url(), twilio_callback(sid, "delivered"));
  INFO(describe(small));
  REQUIRE(small);
  CHECK(small->status == 200);
  CHECK(get_json(*ops, "/v1/sends/big-cb")["status"] == "sent");

  // The same on the ops listener: an intake body over [ops] max_body_bytes stores nothing.
  json many = json::array();
  for (int i = 0; i < 20; ++i)
    many.push_back(twilio_send("big-intake-" + std::to_string(i), same_day_base()));
  REQUIRE(many.dump().size() > 2048);
  CHECK(expect_error(post_sends(*ops, many), 413) == "body_too_large");
  get_json(*ops, "/v1/sends/big-intake-0", 404);
}

TEST_CASE("bad input: intake bodies and items", "[integration][bad]") {
  daemon_process d;
  auto ops = d.ops_client();
  const auto base = same_day_base();

  SECTION("a body that is not JSON is 400") {
    CHECK(expect_error(ops->Post("/v1/sends", "[{\"send_id\": ", "application/json"), 400) == "malformed");
    CHECK(expect_error(ops->Post("/v1/sends", "send_id=1", "application/json"), 400) == "malformed");
  }
  SECTION("more than 10,000 sends in one request is 413") {
    json items = json::array();
    for (int i = 0; i < 10001; ++i)
      items.push_back(json::object());
    CHECK(expect_error(post_sends(*ops, items), 413) == "too_many_items");
  }
  SECTION("NDJSON is read line by line") {
    const auto body = twilio_send("nd-1", base).dump() + "\n\n" + twilio_send("nd-2", base).dump() + "\n";
    auto answer = body_of(ops->Post("/v1/sends", body, "application/x-ndjson"));
    CHECK(answer["accepted"] == 2);
    CHECK(expect_error(ops->Post("/v1/sends", body + "{oops\n", "application/x-ndjson"), 400) == "malformed");
  }
  SECTION("a JSON object instead of an array is 400") {
    CHECK(expect_error(post_sends(*ops, twilio_send("obj", base)), 400) == "malformed");
  }
  SECTION("bad items are rejected one by one, the rest is accepted") {
    auto no_medium = twilio_send("no-medium", base + 2s);
    no_medium.erase("medium");
    auto answer = body_of(post_sends(*ops, json::array({twilio_send("good-1", base + 1s),
                                                        twilio_send("bad-contact", base + 1s, std::nullopt, "hello"),
                                                        no_medium, twilio_send("good-2", base + 3s)})));
    CHECK(answer["accepted"] == 2);
    CHECK(answer["duplicates"] == 0);
    CHECK(answer["updated"] == 0);
    const auto& rejected = answer["rejected"];
    REQUIRE(rejected.size() == 2);
    CHECK(rejected[0]["index"] == 1);
    CHECK(rejected[0]["send_id"] == "bad-contact");
    CHECK(rejected[0]["error"] == "bad_contact");
    CHECK(rejected[0]["detail"].is_string());
    CHECK(rejected[1]["index"] == 2);
    CHECK(rejected[1]["send_id"] == "no-medium");
    CHECK(rejected[1]["error"] == "missing_field");
    CHECK_THAT(rejected[1]["detail"].get<std::string>(), Catch::Contains("medium"));
    get_json(*ops, "/v1/sends/good-1");
    get_json(*ops, "/v1/sends/good-2");
    get_json(*ops, "/v1/sends/bad-contact", 404);
    get_json(*ops, "/v1/sends/no-medium", 404);
  }
  SECTION("re-posting: duplicate, update, conflict") {
    const auto send = twilio_send("idem", base + 5s);
    CHECK(body_of(post_sends(*ops, json::array({send})))["accepted"] == 1);
    auto again = body_of(post_sends(*ops, json::array({send})));
    CHECK(again == json{{"accepted", 0}, {"duplicates", 1}, {"updated", 0}, {"rejected", json::array()}});

    auto with_sid = twilio_send("idem", base + 5s, sid);
    auto update = body_of(post_sends(*ops, json::array({with_sid})));
    CHECK(update == json{{"accepted", 0}, {"duplicates", 0}, {"updated", 1}, {"rejected", json::array()}});
    // The stored MessageSid left out again is no difference.
    CHECK(body_of(post_sends(*ops, json::array({send})))["duplicates"] == 1);

    auto other_contact = twilio_send("idem", base + 5s, std::nullopt, "010-5555-6666");
    auto conflict = body_of(post_sends(*ops, json::array({other_contact})));
    CHECK(conflict["accepted"] == 0);
    CHECK(conflict["duplicates"] == 0);
    REQUIRE(conflict["rejected"].size() == 1);
    CHECK(conflict["rejected"][0]["index"] == 0);
    CHECK(conflict["rejected"][0]["send_id"] == "idem");
    CHECK(conflict["rejected"][0]["error"] == "conflict");

    auto other_sid = twilio_send("idem", base + 5s, "SM44444444444444444444444444444444");
    CHECK(body_of(post_sends(*ops, json::array({other_sid})))["rejected"][0]["error"] == "conflict");

    auto s = get_json(*ops, "/v1/sends/idem");
    CHECK(s["contact"] == "+821012345678");
    CHECK(s["vendor_message_id"] == sid);
  }
}

TEST_CASE("bad input: each listener answers only its own paths", "[integration][bad]") {
  daemon_process d;
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();

  CHECK(expect_error(hooks->Get("/no/such/path"), 404) == "not_found");
  CHECK(expect_error(hooks->Get("/v1/sends/anything"), 404) == "not_found");
  CHECK(expect_error(post_sends(*hooks, json::array({twilio_send("x", same_day_base())})), 404) == "not_found");
  CHECK(expect_error(hooks->Get("/healthz"), 404) == "not_found");
  CHECK(expect_error(hooks->Get("/v1/codes"), 404) == "not_found");
  CHECK(expect_error(post_twilio(*ops, d.public_url(), twilio_callback(sid, "delivered")), 404) == "not_found");
  CHECK(expect_error(ops->Get("/no/such/path"), 404) == "not_found");
  CHECK(expect_error(ops->Get("/v1/sends/never-registered"), 404) == "not_found");
}

TEST_CASE("bad input: /v1/codes is the seed's table plus ME09", "[integration][bad]") {
  daemon_process d;
  auto ops = d.ops_client();
  // seed.md: code, reason, and the description where the seed gives one.
  const std::vector<std::tuple<std::string, std::string, std::string>> seed{
    {"10000", "Invalid user or contact info", ""},
    {"10001", "Duplicate contact", "The message has already been sent to this contact."},
    {"10002", "Integration error", "Errors including disconnected external messengers or blocked services."},
    {"10003", "Not on a paid plan",
     "The paid plan was suspended before the message was sent via Marketing or Workflow."},
    {"10004", "Usage limit reached", "Reached the PU (SMS, Social Media) limit."},
    {"10005", "Usage limit reached", "Reached the marketing message limit (1,000) during the Free Trial."},
    {"10006", "Unsubscribed from marketing", "The recipient has opted out of promotional SMS/emails."},
    {"10007", "Message restriction",
     "Alimtalk is not sent when a team member starts a conversation first via 'Open New Chat'."},
    {"10008", "Message restriction", "SMS is only supported in South Korea, Japan, and North America."},
    {"10999", "Other internal system error", ""},
    {"11000", "Sender profile required",
     "North American recipients require a North American phone number to receive messages."},
    {"11001", "Sender profile required",
     "Missing a marketing sender profile (Sender ID, North American phone number)."},
    {"11002", "Twilio usage limit reached", "Exceeded the daily usage limit for Twilio."},
    {"11999", "Other internal system filtering", ""},
    {"ME09", "Uncertain delivery status",
     "Delivery status is uncertain due to the user\u2019s device environment at the time of sending."},
  };
  const std::set<std::string> categories{"invalid_recipient", "unreachable", "blocked",  "content_rejected",
                                         "opted_out",         "sender_config", "vendor_error", "unknown"};
  auto codes = get_json(*ops, "/v1/codes");
  REQUIRE(codes.is_array());
  CHECK(codes.size() == seed.size());
  for (const auto& [code, reason, description] : seed) {
    INFO("code " << code);
    // An init-capture: clang 14 (the sanitizer build's compiler) cannot capture a structured binding.
    auto it = std::find_if(codes.begin(), codes.end(), [&code = code](const json& row) { return row["code"] == code; });
    REQUIRE(it != codes.end());
    CHECK((*it)["reason"] == reason);
    if (!description.empty())
      CHECK((*it)["description"] == description);
    else
      CHECK((*it)["description"].is_string());
    CHECK(categories.count((*it)["category"].get<std::string>()) == 1);
  }
}

TEST_CASE("bad input: day log pagination, cursors and retention", "[integration][bad]") {
  daemon_process d;
  auto ops = d.ops_client();
  const auto base = same_day_base();
  const auto date = seoul_date(base);
  // Two sends share one requested_at: the keyset must still neither skip nor repeat a row. Newest first; for equal
  // times the later registration first.
  json items = json::array({twilio_send("p1", base + 10s), twilio_send("p2", base + 20s),
                            twilio_send("p3", base + 20s), twilio_send("p4", base + 30s),
                            twilio_send("p5", base + 40s)});
  REQUIRE(body_of(post_sends(*ops, items))["accepted"] == 5);
  // Sends of the previous and of the next Seoul day must not show up.
  REQUIRE(body_of(post_sends(*ops, json::array({twilio_send("yesterday", base - 24h),
                                                twilio_send("tomorrow", base + 24h)})))["accepted"] == 2);

  std::vector<std::string> seen;
  std::vector<std::size_t> page_sizes;
  std::string path = "/v1/log/day/" + date + "?limit=2";
  for (int page = 0; page < 10; ++page) {
    auto answer = get_json(*ops, path);
    CHECK(answer["date"] == date);
    page_sizes.push_back(answer["rows"].size());
    for (const auto& row : answer["rows"])
      seen.push_back(row["send_id"].get<std::string>());
    if (answer["next_cursor"].is_null())
      break;
    REQUIRE(answer["next_cursor"].is_string());
    path = "/v1/log/day/" + date + "?limit=2&cursor=" + answer["next_cursor"].get<std::string>();
  }
  CHECK(seen == std::vector<std::string>{"p5", "p4", "p3", "p2", "p1"});
  CHECK(page_sizes == std::vector<std::size_t>{2, 2, 1});

  SECTION("limit larger than the day: one page, next_cursor null") {
    auto all = get_json(*ops, "/v1/log/day/" + date + "?limit=5");
    CHECK(all["rows"].size() == 5);
    CHECK(all["next_cursor"].is_null());
  }
  SECTION("bad cursors and limits are 400") {
    CHECK(expect_error(ops->Get(("/v1/log/day/" + date + "?cursor=not-a-cursor").c_str()), 400) == "invalid_query");
    CHECK(expect_error(ops->Get(("/v1/log/day/" + date + "?cursor=").c_str()), 400) == "invalid_query");
    CHECK(expect_error(ops->Get(("/v1/log/day/" + date + "?limit=0").c_str()), 400) == "invalid_query");
    CHECK(expect_error(ops->Get(("/v1/log/day/" + date + "?limit=1001").c_str()), 400) == "invalid_query");
    CHECK(expect_error(ops->Get(("/v1/log/day/" + date + "?limit=two").c_str()), 400) == "invalid_query");
  }
  SECTION("a day older than the 365 days of retention is 410") {
    const auto old_day = seoul_date(now_seconds() - std::chrono::days{400});
    CHECK(expect_error(ops->Get(("/v1/log/day/" + old_day).c_str()), 410) == "gone");
    const auto edge = seoul_date(now_seconds() - std::chrono::days{367});
    CHECK(expect_error(ops->Get(("/v1/log/day/" + edge).c_str()), 410) == "gone");
  }
}
