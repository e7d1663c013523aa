/// What the webhook vendor actors share, without an actor system: reading a job's headers and query, the token
/// check, and the counters and answer of an events job.

#include <catch2/catch.hpp>

#include "actors/webhook_support.hpp"

using namespace deliveryd;
using namespace deliveryd::actors;

namespace {

vendor_webhook_job job_with(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
  vendor_webhook_job job;
  job.target = std::move(target);
  job.headers = std::move(headers);
  return job;
}

adapters::mapped_event event_for(std::string id) {
  core::event e;
  e.outcome = core::status::sent;
  e.dedupe_key = id + "|d";
  return {std::move(id), e, "raw"};
}

} // namespace

TEST_CASE("a job's headers are found whatever their case, its query after the '?'", "[actors][webhooks]") {
  auto job = job_with("/webhooks/carrier?token=a%20b&id=1", {{"X-Carrier-Token", "secret"}});
  CHECK(job.header("x-carrier-token") == "secret");
  CHECK(job.header("X-CARRIER-TOKEN") == "secret");
  CHECK(job.header("X-Kakao-Token").empty());
  CHECK(job.query() == "token=a%20b&id=1");
  CHECK(job_with("/webhooks/carrier").query().empty());
  CHECK(job_with("/webhooks/carrier?").query().empty());
}

TEST_CASE("a token counts in the query or in the header", "[actors][webhooks]") {
  CHECK(token_presented("s3cret", job_with("/w?token=s3cret"), "X-T"));
  CHECK(token_presented("a b", job_with("/w?id=1&token=a+b"), "X-T"));
  CHECK(token_presented("s3cret", job_with("/w", {{"X-T", "s3cret"}}), "X-T"));
  CHECK(token_presented("s3cret", job_with("/w?token=wrong", {{"X-T", "s3cret"}}), "X-T"));
  CHECK_FALSE(token_presented("s3cret", job_with("/w?token=wrong"), "X-T"));
  CHECK_FALSE(token_presented("s3cret", job_with("/w?tok=s3cret", {{"X-U", "s3cret"}}), "X-T"));
  CHECK_FALSE(token_presented("s3cret", job_with("/w?token=s3cret%"), "X-T")); // an escape that does not decode
  // Another parameter that does not decode (a DLR field with %00 or bad UTF-8) leaves the token readable, so that
  // the request is refused as malformed, not as unauthenticated.
  CHECK(token_presented("s3cret", job_with("/w?token=s3cret&id=a%00b&text=%FF"), "X-T"));
  CHECK(token_presented("s3cret", job_with("/w?id=%&token=s3cret"), "X-T"));
  CHECK_FALSE(token_presented("", job_with("/w?token="), "X-T"));
  CHECK_FALSE(token_presented("", job_with("/w", {{"X-T", ""}}), "X-T"));
}

TEST_CASE("an events job counts what it carries and answers after the ledger", "[actors][webhooks]") {
  counters all;
  auto& stats = all.of(core::vendor::carrier);
  std::optional<webhook_result> answer;
  auto done = [&](webhook_result r) { answer = std::move(r); };
  auto job = make_events_job(core::vendor::carrier, {event_for("m1"), event_for("m2"), event_for("m3")},
                             core::timestamp{std::chrono::seconds{100}}, stats, done, vendor_reply{"ACK/Jasmin"});
  REQUIRE(job->events.size() == 3);
  CHECK(job->events[0].vendor == core::vendor::carrier);
  CHECK(job->events[0].vendor_message_id == "m1");
  CHECK(job->events[0].received_at == core::timestamp{std::chrono::seconds{100}});
  CHECK(job->events[0].raw == "raw");
  CHECK(stats.events_received == 3);
  CHECK_FALSE(answer);

  job->done({db::events_outcome{1, 1, 1, 0}, {}});
  REQUIRE(answer);
  CHECK(answer->what == webhook_result::kind::stored);
  CHECK(answer->reply_body == "ACK/Jasmin");
  CHECK(answer->reply_type == "text/plain");
  CHECK(stats.events_stored == 2);
  CHECK(stats.duplicates == 1);

  auto failing = make_events_job(core::vendor::carrier, {event_for("m4")}, {}, stats, done);
  failing->done({ledger_failure::storage_failing, "disk full"});
  CHECK(answer->what == webhook_result::kind::storage_failing);
  CHECK(answer->detail == "disk full");
  CHECK_FALSE(answer->reply_body);
  CHECK(stats.events_received == 4);
  CHECK(stats.events_stored == 2);
  CHECK(all.of(core::vendor::email).events_received == 0);
}

TEST_CASE("refusals are counted by kind", "[actors][webhooks]") {
  counters all;
  auto& stats = all.of(core::vendor::email);
  CHECK(refuse(webhook_result::kind::bad_signature, "no", stats).what == webhook_result::kind::bad_signature);
  CHECK(refuse(webhook_result::kind::malformed, "no", stats).what == webhook_result::kind::malformed);
  CHECK(refuse(webhook_result::kind::malformed, "no", stats).detail == "no");
  CHECK(stats.bad_signatures == 1);
  CHECK(stats.malformed == 2);
  note_unusable("email", {{0, "no id"}, {3, "no event"}}, stats);
  CHECK(stats.unusable == 2);
}
