/// The webhook vendor actors (carrier, Kakao push, SendGrid e-mail) and the backlog gate in front of every vendor
/// actor, in a real actor system before a fake ledger (vendor_harness.hpp): what each answers through the job,
/// what reaches the ledger (nothing when a request is refused), what it counts. The Twilio actor has its own file
/// (twilio_actor_test.cpp). No database: these tests run alike on every back end.

#include <catch2/catch.hpp>

#include <array>
#include <tuple>

#include "core/codes.hpp"
#include "vendor_harness.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using kind = actors::webhook_result::kind;

// ---- carrier ------------------------------------------------------------------------------------------------

/// Jasmin posts with an empty body and the DLR in the query: the token there is enough, the answer after the
/// ledger is Jasmin's `ACK/Jasmin`, and the DLR is stored without the token.
TEST_CASE("carrier: a Jasmin DLR with the token in the query is stored and answered ACK/Jasmin",
          "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_carrier_in(h);
  const auto dlr = read_fixture("carrier/jasmin_delivrd.form");
  const auto answer =
    h.deliver(actor, webhook_request("/webhooks/carrier?token=" + std::string{carrier_token} + "&" + dlr, "", {}, ""));
  CHECK(answer.what == kind::stored);
  CHECK(answer.counts.applied == 1);
  CHECK(answer.reply_body == std::string{actors::jasmin_ack});
  CHECK(answer.reply_type == "text/plain");
  const auto job = only_job(h);
  REQUIRE(job.size() == 1);
  const std::string id = "16fd2706-8baf-433b-82eb-8c7fada847da";
  check_event(job[0], core::vendor::carrier, {id, core::status::sent, "", core::category::none, id + "|2|DELIVRD"});
  CHECK(job[0].event.vendor_time == core::parse_rfc3339("2026-11-27T09:32:00+09:00")); // donedate, in [time] zone
  CHECK(job[0].raw == dlr);
  CHECK(job[0].raw.find(carrier_token) == std::string::npos);
  CHECK(h.of(core::vendor::carrier).events_stored.load() == 1);
}

/// A DLR in a form body, with the token in X-Carrier-Token.
TEST_CASE("carrier: a Jasmin DLR in the body with the token in X-Carrier-Token is stored", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_carrier_in(h);
  const auto dlr = read_fixture("carrier/jasmin_undeliv.form");
  const auto answer = h.deliver(actor, webhook_request("/webhooks/carrier", "application/x-www-form-urlencoded",
                                                       {{"X-Carrier-Token", std::string{carrier_token}}}, dlr));
  CHECK(answer.what == kind::stored);
  CHECK(answer.reply_body == std::string{actors::jasmin_ack});
  const auto job = only_job(h);
  REQUIRE(job.size() == 1);
  const std::string id = "5a9e3c1b-2f47-4d8e-9b61-0c7d2e4f8a13";
  check_event(job[0], core::vendor::carrier,
              {id, core::status::failed, "carrier:UNDELIV", core::category::unreachable, id + "|2|UNDELIV"});
  CHECK(job[0].event.vendor_code == "001");
  CHECK(job[0].raw == dlr);
}

/// Without the configured token, in the query or the header, the report is a 403 without ACK/Jasmin (so that
/// Jasmin retries), counted, and nothing reaches the ledger.
TEST_CASE("carrier: a wrong or missing token is refused before the ledger", "[actors][vendors]") {
  const auto dlr = read_fixture("carrier/jasmin_delivrd.form");
  const std::string token{carrier_token};
  using headers = std::vector<std::pair<std::string, std::string>>;
  const std::vector<std::tuple<std::string, std::string, headers>> refused{
    {"no token", "/webhooks/carrier", {}},
    {"a wrong token in the query", "/webhooks/carrier?token=wrong", {}},
    {"a truncated token in the query", "/webhooks/carrier?token=" + token.substr(0, token.size() - 1), {}},
    {"the token under another name", "/webhooks/carrier?tok=" + token, {}},
    {"an empty token", "/webhooks/carrier?token=", {{"X-Carrier-Token", ""}}},
    {"a wrong token in the header", "/webhooks/carrier", {{"X-Carrier-Token", "wrong"}}},
    {"the token in Kakao's header", "/webhooks/carrier", {{"X-Kakao-Token", token}}},
  };
  vendor_harness h;
  auto actor = spawn_carrier_in(h);
  std::uint64_t count = 0;
  for (const auto& [what, target, sent_headers] : refused) {
    INFO(what);
    const auto answer =
      h.deliver(actor, webhook_request(target, "application/x-www-form-urlencoded", sent_headers, dlr));
    CHECK(answer.what == kind::bad_signature);
    CHECK(answer.detail == "the carrier token is missing or wrong");
    CHECK_FALSE(answer.reply_body);
    CHECK(h.log->jobs().empty());
    CHECK(h.of(core::vendor::carrier).bad_signatures.load() == ++count);
  }
  CHECK(h.of(core::vendor::carrier).events_received.load() == 0);
}

/// A DLR that cannot be read is a 400 without ACK/Jasmin; nothing reaches the ledger.
TEST_CASE("carrier: a DLR that cannot be read is malformed and not acknowledged", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_carrier_in(h);
  const std::vector<std::string> bodies{"id=a%ZZ&message_status=DELIVRD&level=2", "id=abc&message_status=BOGUS&level=2",
                                        "id=abc&message_status=DELIVRD&level=4", "message_status=DELIVRD&level=2"};
  for (const auto& body : bodies) {
    INFO(body);
    const auto answer = h.deliver(actor, webhook_request("/webhooks/carrier", "application/x-www-form-urlencoded",
                                                         {{"X-Carrier-Token", std::string{carrier_token}}}, body));
    CHECK(answer.what == kind::malformed);
    CHECK_FALSE(answer.detail.empty());
    CHECK_FALSE(answer.reply_body);
  }
  CHECK(h.log->jobs().empty());
  CHECK(h.of(core::vendor::carrier).malformed.load() == bodies.size());
}

/// Jasmin resends until it reads ACK/Jasmin: a duplicate is acknowledged the same way, and counted as one.
TEST_CASE("carrier: a resent DLR is a duplicate and still answered ACK/Jasmin", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_carrier_in(h);
  const auto request = [] {
    return webhook_request("/webhooks/carrier", "", {{"X-Carrier-Token", std::string{carrier_token}}},
                           read_fixture("carrier/jasmin_delivrd.form"));
  };
  CHECK(h.deliver(actor, request()).counts.applied == 1);
  const auto again = h.deliver(actor, request());
  CHECK(again.what == kind::stored);
  CHECK(again.counts.duplicates == 1);
  CHECK(again.reply_body == std::string{actors::jasmin_ack});
  CHECK(h.of(core::vendor::carrier).duplicates.load() == 1);
}

/// An application/json body (parameters and case allowed) is an aggregator report: each element mapped on its
/// own, with deliveryd's JSON acknowledgement.
TEST_CASE("carrier: an aggregator JSON report is mapped element by element", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_carrier_in(h);
  const auto answer = h.deliver(actor, webhook_request("/webhooks/carrier?token=" + std::string{carrier_token},
                                                       "Application/JSON; charset=utf-8", {},
                                                       read_fixture("carrier/aggregator_batch.json")));
  CHECK(answer.what == kind::stored);
  CHECK(answer.counts.applied == 5);
  CHECK_FALSE(answer.reply_body);
  const auto job = only_job(h);
  REQUIRE(job.size() == 5);
  const std::array<expected_event, 5> expected{{
    {"KR20261127-0001", core::status::sent, "", core::category::none, "KR20261127-0001|4100"},
    {"KR20261127-0002", core::status::sent, "", core::category::none, "KR20261127-0002|6600"},
    {"KR20261127-0003", core::status::failed, "carrier:4401", core::category::unreachable, "KR20261127-0003|4401"},
    {"KR20261127-0004", core::status::failed, "carrier:6626", core::category::opted_out, "KR20261127-0004|6626"},
    {"KR20261127-0005", core::status::uncertain, std::string{core::uncertain_code}, core::category::unknown,
     "KR20261127-0005|9023"},
  }};
  for (std::size_t i = 0; i < job.size(); ++i)
    check_event(job[i], core::vendor::carrier, expected[i]);
  CHECK(job[0].event.vendor_time == core::parse_rfc3339("2026-11-27T09:32:00+09:00"));
  CHECK(job[4].event.vendor_time == core::timestamp{}); // a zone-less done_at is not read
  CHECK(h.of(core::vendor::carrier).events_stored.load() == 5);
}

/// The unusable elements of an aggregator batch are counted and skipped; a batch of nothing usable is
/// acknowledged without the ledger; a body that is not an array is a 400.
TEST_CASE("carrier: the unusable reports of an aggregator batch are counted and the rest stored", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_carrier_in(h);
  auto report = [](std::string body) {
    return webhook_request("/webhooks/carrier", "application/json", {{"X-Carrier-Token", std::string{carrier_token}}},
                           std::move(body));
  };
  const auto partial = h.deliver(actor, report(read_fixture("carrier/aggregator_batch_partial.json")));
  CHECK(partial.what == kind::stored);
  CHECK(partial.counts.applied == 2);
  CHECK(only_job(h).size() == 2);
  const auto& stats = h.of(core::vendor::carrier);
  CHECK(stats.unusable.load() == 3);

  const auto none = h.deliver(actor, report(R"([{"message_id": "", "result_code": "4401"}])"));
  CHECK(none.what == kind::ignored);
  CHECK(none.detail == "no report of the batch is usable");
  CHECK_FALSE(none.reply_body);
  CHECK(stats.unusable.load() == 4);

  CHECK(h.deliver(actor, report(R"({"message_id": "KR1", "result_code": "4100"})")).what == kind::malformed);
  CHECK(stats.malformed.load() == 1);
  CHECK(h.log->jobs().size() == 1);
}

// ---- Kakao push ---------------------------------------------------------------------------------------------

/// Pushed results with the push token (in the query or in X-Kakao-Token): 0000 sent, 3005 uncertain, a failure
/// code failed as kakao:<code> with its category.
TEST_CASE("kakao push: results with the token are mapped and reach the ledger", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_kakao_in(h);
  const auto answer =
    h.deliver(actor, webhook_request("/webhooks/kakao?token=" + std::string{kakao_token}, "application/json", {},
                                     read_fixture("kakao/push_batch.json")));
  CHECK(answer.what == kind::stored);
  CHECK(answer.counts.applied == 4);
  CHECK_FALSE(answer.reply_body);
  const auto job = only_job(h);
  REQUIRE(job.size() == 4);
  check_event(job[0], core::vendor::kakao,
              {"abc-123", core::status::sent, "", core::category::none, "push|abc-123|0000"});
  CHECK(job[0].event.vendor_time == core::parse_rfc3339("2026-11-27T09:32:10+09:00"));
  check_event(job[1], core::vendor::kakao,
              {"abc-124", core::status::uncertain, "ME09", core::category::unknown, "push|abc-124|3005"});
  check_event(job[2], core::vendor::kakao,
              {"abc-125", core::status::failed, "kakao:3019", core::category::invalid_recipient, "push|abc-125|3019"});
  check_event(job[3], core::vendor::kakao,
              {"abc-126", core::status::failed, "kakao:1003", core::category::sender_config, "push|abc-126|1003"});

  const auto by_header = h.deliver(actor, webhook_request("/webhooks/kakao", "application/json",
                                                          {{"X-Kakao-Token", std::string{kakao_token}}},
                                                          R"([{"message_id": "abc-200", "result_code": "3018"}])"));
  CHECK(by_header.what == kind::stored);
  const auto jobs = h.log->jobs();
  REQUIRE(jobs.size() == 2);
  REQUIRE(jobs[1].size() == 1);
  check_event(jobs[1][0], core::vendor::kakao,
              {"abc-200", core::status::failed, "kakao:3018", core::category::unreachable, "push|abc-200|3018"});
  const auto& stats = h.of(core::vendor::kakao);
  CHECK(stats.events_received.load() == 5);
  CHECK(stats.events_stored.load() == 5);
}

/// Without the push token the results are a 403, counted, and nothing reaches the ledger.
TEST_CASE("kakao push: a wrong or missing token is refused before the ledger", "[actors][vendors]") {
  const auto body = read_fixture("kakao/push_batch.json");
  using headers = std::vector<std::pair<std::string, std::string>>;
  const std::vector<std::tuple<std::string, std::string, headers>> refused{
    {"no token", "/webhooks/kakao", {}},
    {"a wrong token in the query", "/webhooks/kakao?token=wrong", {}},
    {"a wrong token in the header", "/webhooks/kakao", {{"X-Kakao-Token", "wrong"}}},
    {"the token in the carrier's header", "/webhooks/kakao", {{"X-Carrier-Token", std::string{kakao_token}}}},
  };
  vendor_harness h;
  auto actor = spawn_kakao_in(h);
  std::uint64_t count = 0;
  for (const auto& [what, target, sent_headers] : refused) {
    INFO(what);
    const auto answer = h.deliver(actor, webhook_request(target, "application/json", sent_headers, body));
    CHECK(answer.what == kind::bad_signature);
    CHECK(answer.detail == "the Kakao push token is missing or wrong");
    CHECK(h.log->jobs().empty());
    CHECK(h.of(core::vendor::kakao).bad_signatures.load() == ++count);
  }
  CHECK(h.of(core::vendor::kakao).events_received.load() == 0);
}

/// A body that is not a JSON array is a 400; a batch of nothing usable is acknowledged without the ledger.
TEST_CASE("kakao push: a body that is not an array is malformed, a batch of nothing usable ignored",
          "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_kakao_in(h);
  auto push = [](std::string body) {
    return webhook_request("/webhooks/kakao", "application/json", {{"X-Kakao-Token", std::string{kakao_token}}},
                           std::move(body));
  };
  CHECK(h.deliver(actor, push(R"({"message_id": "abc-1", "result_code": "0000"})")).what == kind::malformed);
  const auto none = h.deliver(actor, push(R"([{"message_id": "abc-1", "result_code": ""}])"));
  CHECK(none.what == kind::ignored);
  CHECK(none.detail == "no result of the batch is usable");
  CHECK(h.log->jobs().empty());
  const auto& stats = h.of(core::vendor::kakao);
  CHECK(stats.malformed.load() == 1);
  CHECK(stats.unusable.load() == 1);
  CHECK(stats.bad_signatures.load() == 0);
}

// ---- SendGrid e-mail ----------------------------------------------------------------------------------------

/// A batch signed (ECDSA P-256 over timestamp + body) with the key whose public half is configured: every
/// event that changes a send reaches the ledger as mapped; a spamreport does not.
TEST_CASE("email: a batch signed with the configured key is accepted and its events mapped", "[actors][vendors]") {
  const sendgrid_key_pair keys;
  vendor_harness h;
  auto actor = spawn_email_in(h, keys);
  const auto body = read_fixture("email/batch.json");
  const auto at = unix_seconds(vendor_t0);
  const auto answer = h.deliver(actor, sendgrid_request(body, keys.sign(at, body), at));
  CHECK(answer.what == kind::stored);
  CHECK(answer.counts.applied == 8);
  CHECK_FALSE(answer.reply_body);
  const auto job = only_job(h);
  REQUIRE(job.size() == 8);
  const std::array<expected_event, 8> expected{{
    {"Wz1rB2hLQ0SzN3VjX2Jt9g", core::status::pending, "", core::category::none, "cHJvY2Vzc2VkLTEtV3oxcg"},
    {"Wz1rB2hLQ0SzN3VjX2Jt9g", core::status::sent, "", core::category::none, "ZGVsaXZlcmVkLTEtV3oxcg"},
    {"kP4Tq7XcR1uY8eHn2LmZ0a", core::status::pending, "", core::category::none, "cHJvY2Vzc2VkLTIta1A0VA"},
    {"kP4Tq7XcR1uY8eHn2LmZ0a", core::status::failed, "email:bounce", core::category::invalid_recipient,
     "Ym91bmNlLTIta1A0VA"},
    {"a9Fh3JkL5mN7pQ2rS4tV6w", core::status::failed, "email:dropped", core::category::opted_out,
     "ZHJvcHBlZC0zLWE5Rmg"},
    {"Xy7Zb3Cd5Ef9Gh1Ij2Kl4m", core::status::pending, "", core::category::none, "ZGVmZXJyZWQtNC1YeTda"},
    {"Xy7Zb3Cd5Ef9Gh1Ij2Kl4m", core::status::failed, "email:blocked", core::category::blocked, "YmxvY2tlZC00LVh5N1o"},
    {"Wz1rB2hLQ0SzN3VjX2Jt9g", core::status::sent, "", core::category::none, "b3Blbi0xLVd6MXI"},
  }};
  for (std::size_t i = 0; i < job.size(); ++i)
    check_event(job[i], core::vendor::email, expected[i]);
  CHECK(job[0].event.vendor_time == core::from_millis(1'795'763'410'000)); // the event's own timestamp
  CHECK(job[3].event.vendor_code == "5.1.1");
  const auto& stats = h.of(core::vendor::email);
  CHECK(stats.events_received.load() == 8);
  CHECK(stats.events_stored.load() == 8);
  CHECK(stats.unusable.load() == 0);
}

/// A signature that does not cover these bytes, a timestamp outside the 5-minute window, a missing header: each
/// is a 403, counted, and nothing reaches the ledger. A timestamp exactly 5 minutes off is still inside.
TEST_CASE("email: a bad signature, a stale timestamp or a missing header is refused before the ledger",
          "[actors][vendors]") {
  const sendgrid_key_pair keys;
  const sendgrid_key_pair other_keys;
  const auto body = read_fixture("email/batch.json");
  const auto now = unix_seconds(vendor_t0);
  const auto late = unix_seconds(vendor_t0 - std::chrono::seconds{301});
  const auto early = unix_seconds(vendor_t0 + std::chrono::seconds{301});
  const std::string bad_signature = "the signature does not match the timestamp and body";
  const std::string stale = "the signature timestamp is malformed or outside the allowed window";
  const std::string missing = "the signature or timestamp header is missing";
  const std::vector<std::tuple<std::string, actors::vendor_webhook_job_ptr, std::string>> refused{
    {"a line ending added to the body", sendgrid_request(body + "\n", keys.sign(now, body), now), bad_signature},
    {"another key's signature", sendgrid_request(body, other_keys.sign(now, body), now), bad_signature},
    {"a signature of another timestamp", sendgrid_request(body, keys.sign(late, body), now), bad_signature},
    {"a signature that is not base64", sendgrid_request(body, "not base64!", now), bad_signature},
    {"a timestamp 5 min 1 s old", sendgrid_request(body, keys.sign(late, body), late), stale},
    {"a timestamp 5 min 1 s ahead", sendgrid_request(body, keys.sign(early, body), early), stale},
    {"a timestamp that is not digits", sendgrid_request(body, keys.sign(now + ".0", body), now + ".0"), stale},
    {"no signature header", sendgrid_request(body, "", now), missing},
    {"no timestamp header", sendgrid_request(body, keys.sign(now, body), ""), missing},
  };
  vendor_harness h;
  auto actor = spawn_email_in(h, keys);
  std::uint64_t count = 0;
  for (const auto& [what, request, detail] : refused) {
    INFO(what);
    const auto answer = h.deliver(actor, request);
    CHECK(answer.what == kind::bad_signature);
    CHECK(answer.detail == detail);
    CHECK(h.log->jobs().empty());
    CHECK(h.of(core::vendor::email).bad_signatures.load() == ++count);
  }
  CHECK(h.of(core::vendor::email).events_received.load() == 0);

  const auto edge = unix_seconds(vendor_t0 - std::chrono::minutes{5});
  CHECK(h.deliver(actor, sendgrid_request(body, keys.sign(edge, body), edge)).what == kind::stored);
  CHECK(h.log->jobs().size() == 1);
}

/// Signed bytes that are not a JSON array are a 400; a signed batch of events that change no send (spam reports)
/// is acknowledged without the ledger.
TEST_CASE("email: a signed body that is not an array is malformed, a batch that changes nothing ignored",
          "[actors][vendors]") {
  const sendgrid_key_pair keys;
  vendor_harness h;
  auto actor = spawn_email_in(h, keys);
  const auto now = unix_seconds(vendor_t0);
  const std::string object = R"({"event": "delivered"})";
  CHECK(h.deliver(actor, sendgrid_request(object, keys.sign(now, object), now)).what == kind::malformed);
  const std::string spam =
    R"([{"event": "spamreport", "sg_event_id": "c3BhbQ", "sg_message_id": "abc.recvd-1", "timestamp": 1795763760}])";
  const auto answer = h.deliver(actor, sendgrid_request(spam, keys.sign(now, spam), now));
  CHECK(answer.what == kind::ignored);
  CHECK(answer.detail == "no event of the batch changes a send");
  CHECK(h.log->jobs().empty());
  CHECK(h.of(core::vendor::email).malformed.load() == 1);
  CHECK(h.of(core::vendor::email).events_received.load() == 0);
}

/// An actor without a loaded key (the daemon refuses to start without one) accepts nothing: 503, not 403, since
/// the fault is deliveryd's own, and it is not counted as the sender's bad signature.
TEST_CASE("email: without a loaded key, every request is answered unavailable and nothing stored",
          "[actors][vendors]") {
  const sendgrid_key_pair keys;
  vendor_harness h;
  auto actor = h.keep(actors::spawn_email(h.sys, {{}, std::chrono::minutes{5}, h.ledger, &h.stats, nullptr}));
  const auto body = read_fixture("email/batch.json");
  const auto now = unix_seconds(vendor_t0);
  const auto answer = h.deliver(actor, sendgrid_request(body, keys.sign(now, body), now));
  CHECK(answer.what == kind::storage_failing);
  CHECK(answer.detail == "the e-mail verification key is not loaded");
  CHECK(h.log->jobs().empty());
  CHECK(h.of(core::vendor::email).bad_signatures.load() == 0);
}

// ---- the backlog gate ---------------------------------------------------------------------------------------

/// With the backlog full, each vendor actor answers overloaded (503 with Retry-After) once it has checked and
/// mapped the request, and hands nothing to the ledger; the refusal is counted by the gate.
TEST_CASE("a full backlog: every vendor actor answers overloaded and the ledger gets nothing", "[actors][vendors]") {
  const sendgrid_key_pair keys;
  vendor_harness h;
  REQUIRE(h.gate.try_admit(h.gate.limit())); // requests the ledger has not answered yet
  auto tw = spawn_twilio_in(h, {}, &h.gate);
  auto ca = spawn_carrier_in(h, &h.gate);
  auto kk = spawn_kakao_in(h, &h.gate);
  auto em = spawn_email_in(h, keys, &h.gate);
  const auto twilio_body = twilio_fixture("delivered");
  const auto email_body = read_fixture("email/batch.json");
  const auto now = unix_seconds(vendor_t0);
  const std::vector<std::pair<core::vendor, actors::webhook_result>> answers{
    {core::vendor::twilio, h.deliver(tw, twilio_callback(twilio_body, sha1_signature(twilio_body)))},
    {core::vendor::carrier,
     h.deliver(ca, webhook_request("/webhooks/carrier?token=" + std::string{carrier_token}, "", {},
                                   read_fixture("carrier/jasmin_delivrd.form")))},
    {core::vendor::kakao,
     h.deliver(kk, webhook_request("/webhooks/kakao?token=" + std::string{kakao_token}, "application/json", {},
                                   read_fixture("kakao/push_batch.json")))},
    {core::vendor::email, h.deliver(em, sendgrid_request(email_body, keys.sign(now, email_body), now))},
  };
  for (const auto& [vendor, answer] : answers) {
    INFO(core::to_string(vendor));
    CHECK(answer.what == kind::overloaded);
    CHECK(answer.detail.find("(4 items waiting, at most 4)") != std::string::npos);
    CHECK_FALSE(answer.reply_body); // no ACK/Jasmin: Jasmin must retry
    CHECK(h.of(vendor).events_received.load() == 0);
  }
  CHECK(h.log->jobs().empty());
  CHECK(h.gate.refusals() == 4);
  CHECK(h.gate.items() == 4);

  h.gate.release(4);
  CHECK(h.deliver(tw, twilio_callback(twilio_body, sha1_signature(twilio_body))).what == kind::stored);
  CHECK(h.gate.items() == 0);
}

/// A request's events count in the backlog from the hand-off until the ledger answers, commit or failure: a
/// batch alone is admitted even past the limit, and while it waits the next request is refused.
TEST_CASE("the backlog holds a request's events until the ledger answers", "[actors][vendors]") {
  vendor_harness h;
  auto ca = spawn_carrier_in(h, &h.gate);
  auto tw = spawn_twilio_in(h, {}, &h.gate);
  h.log->answer_with(fake_ledger_log::mode::hold);
  auto waiting = h.hand(ca, webhook_request("/webhooks/carrier", "application/json",
                                            {{"X-Carrier-Token", std::string{carrier_token}}},
                                            read_fixture("carrier/aggregator_batch.json")));
  CHECK(h.gate.items() == 5); // past the limit of 4: an empty backlog takes any request
  CHECK(waiting.future.wait_for(std::chrono::milliseconds{0}) == std::future_status::timeout);

  const auto body = twilio_fixture("delivered");
  CHECK(h.deliver(tw, twilio_callback(body, sha1_signature(body))).what == kind::overloaded);
  CHECK(h.log->jobs().size() == 1);

  h.log->answer_held();
  CHECK(vendor_harness::take(waiting).what == kind::stored);
  CHECK(h.gate.items() == 0);

  h.log->answer_with(fake_ledger_log::mode::failing);
  CHECK(h.deliver(tw, twilio_callback(body, sha1_signature(body))).what == kind::storage_failing);
  CHECK(h.gate.items() == 0);
  CHECK(h.gate.refusals() == 1);
}
