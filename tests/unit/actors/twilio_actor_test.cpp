/// The Twilio vendor actor in a real actor system, in front of a fake ledger (vendor_harness.hpp): status
/// callbacks signed as Twilio signs them, with the auth token (HMAC-SHA1) or a Webhooks Rule's shared key
/// (HMAC-SHA256); what the actor answers, what reaches the ledger (nothing when it refuses), what it counts. No
/// database: these tests run alike on every back end.

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <tuple>

#include "../db/ledger_fixture.hpp"
#include "vendor_harness.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using kind = actors::webhook_result::kind;

namespace {

/// tests/data/twilio/undelivered_30003.form signed under the Webhooks Rule with demo-shared-key (docs/vendors.md).
constexpr std::string_view undelivered_sha256 = "EcPXDeq43Nq9qWaPShgaBv57J14wWOd/BBjl4HIFZxQ=";
/// The Message SID of every Twilio fixture.
constexpr std::string_view fixture_sid = "SM0123456789abcdef0123456789abcdef";

} // namespace

/// The tests' own signing (vendor_signing.hpp) gives the documented vectors, so that it can stand for Twilio.
TEST_CASE("the tests' Twilio signing reproduces the documented vectors", "[actors][vendors]") {
  CHECK(twilio_signature(EVP_sha1(), "12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
                         "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030"
                         "&To=%2B18005551212") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  for (const auto* name : {"delivered", "failed_no_error_code", "sent", "undelivered_30003"}) {
    INFO(name);
    CHECK(sha1_signature(twilio_fixture(name)) == twilio_fixture_signature(name));
  }
  CHECK(sha256_signature(twilio_fixture("undelivered_30003")) == undelivered_sha256);
}

/// Every fixture in tests/data/twilio, signed with the auth token, is stored with the event its status means.
TEST_CASE("twilio: every signed fixture is accepted and its event reaches the ledger", "[actors][vendors]") {
  struct fixture {
    std::string word;
    core::status outcome;
    std::string code;
    core::category cat;
  };
  const std::map<std::string, fixture> expected{
    {"delivered", {"delivered", core::status::sent, "", core::category::none}},
    {"failed_no_error_code", {"failed", core::status::failed, "twilio:failed", core::category::unknown}},
    {"sent", {"sent", core::status::pending, "", core::category::none}},
    {"undelivered_30003", {"undelivered", core::status::failed, "twilio:30003", core::category::unreachable}},
  };
  vendor_harness h;
  auto actor = spawn_twilio_in(h);
  std::size_t seen = 0;
  for (const auto& file : std::filesystem::directory_iterator{std::string{DELIVERYD_TEST_DATA} + "/twilio"}) {
    if (file.path().extension() != ".form")
      continue;
    const auto name = file.path().stem().string();
    INFO("fixture " << name);
    REQUIRE(expected.count(name) == 1); // a new fixture needs its expected event here
    const auto& want = expected.at(name);
    const auto body = twilio_fixture(name);
    const auto answer = h.deliver(actor, twilio_callback(body, twilio_fixture_signature(name)));
    CHECK(answer.what == kind::stored);
    CHECK(answer.counts.applied == 1);
    CHECK_FALSE(answer.reply_body); // the JSON acknowledgement
    const auto jobs = h.log->jobs();
    REQUIRE(jobs.size() == ++seen);
    REQUIRE(jobs.back().size() == 1);
    const auto& got = jobs.back().front();
    const std::string sid{fixture_sid};
    check_event(got, core::vendor::twilio, {sid, want.outcome, want.code, want.cat, sid + "|" + want.word});
    CHECK(got.event.vendor_status == want.word);
    CHECK(got.event.vendor_time == core::timestamp{}); // a callback carries no time deliveryd trusts
    CHECK(got.raw == body);
  }
  CHECK(seen == expected.size());
  const auto& stats = h.of(core::vendor::twilio);
  CHECK(stats.events_received.load() == seen);
  CHECK(stats.events_stored.load() == seen);
  CHECK(stats.bad_signatures.load() == 0);
}

/// A signature that does not cover this URL and body is a 403, counted, and nothing reaches the ledger.
TEST_CASE("twilio: a callback whose signature does not match is refused before the ledger", "[actors][vendors]") {
  const auto body = twilio_fixture("undelivered_30003");
  const auto good = sha1_signature(body);
  REQUIRE(good == "B5/lrWc89cS/c4hXxrp8sa1ZbQk=");
  auto replace = [](std::string text, std::string_view from, std::string_view to) {
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  const std::vector<std::tuple<std::string, std::string, std::string>> refused{
    {"a wrong signature", body, sha1_signature(twilio_fixture("delivered"))},
    {"no signature", body, ""},
    {"a signature for another query", body,
     sha1_signature(body, "https://hooks.example.com/twilio/status?tenant=other")},
    {"a signature for another scheme", body,
     sha1_signature(body, "http://hooks.example.com/twilio/status?tenant=acme")},
    {"a signature with another token", body, twilio_signature(EVP_sha1(), "54321", twilio_url, body)},
    {"a changed value", replace(body, "ErrorCode=30003", "ErrorCode=30005"), good},
    {"a dropped parameter", replace(body, "&RawDlrDoneDate=2611270932", ""), good},
    {"an added parameter", body + "&Price=-0.0079", good},
  };
  vendor_harness h;
  auto actor = spawn_twilio_in(h);
  std::uint64_t count = 0;
  for (const auto& [what, request_body, signature] : refused) {
    INFO(what);
    const auto answer = h.deliver(actor, twilio_callback(request_body, signature));
    CHECK(answer.what == kind::bad_signature);
    CHECK(answer.detail == "X-Twilio-Signature is missing or does not match this request");
    CHECK(h.log->jobs().empty());
    CHECK(h.of(core::vendor::twilio).bad_signatures.load() == ++count);
  }
  CHECK(h.of(core::vendor::twilio).events_received.load() == 0);
  // The same actor still takes the good signature: the refusals were about the requests.
  CHECK(h.deliver(actor, twilio_callback(body, good)).what == kind::stored);
  CHECK(h.log->jobs().size() == 1);
}

/// The Webhooks Rule: with a shared key configured and the rule header asking for HMAC_SHA256, the SHA-256
/// signature is the one that counts, and the SHA-1 one no longer does.
TEST_CASE("twilio: with the shared key and the rule header, only the HMAC-SHA256 signature is accepted",
          "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_twilio_in(h, std::string{twilio_rule_key});
  const auto body = twilio_fixture("undelivered_30003");
  const auto sha256 = sha256_signature(body);
  CHECK(sha256 == undelivered_sha256);

  const auto sha1_answer = h.deliver(actor, twilio_callback(body, sha1_signature(body), "HMAC_SHA256"));
  CHECK(sha1_answer.what == kind::bad_signature);
  CHECK(h.log->jobs().empty());
  const auto other_key = h.deliver(actor, twilio_callback(body, sha256_signature(body, "another-key"), "HMAC_SHA256"));
  CHECK(other_key.what == kind::bad_signature);
  CHECK(h.log->jobs().empty());
  CHECK(h.of(core::vendor::twilio).bad_signatures.load() == 2);

  const auto answer = h.deliver(actor, twilio_callback(body, sha256, "HMAC_SHA256"));
  CHECK(answer.what == kind::stored);
  const auto job = only_job(h);
  REQUIRE(job.size() == 1);
  check_event(job[0], core::vendor::twilio,
              {std::string{fixture_sid}, core::status::failed, "twilio:30003", core::category::unreachable,
               std::string{fixture_sid} + "|undelivered"});
  CHECK(h.of(core::vendor::twilio).events_stored.load() == 1);
}

/// A configured shared key changes nothing for a callback without the rule header: SHA-1 with the auth token.
TEST_CASE("twilio: with the shared key but no rule header, the SHA-1 signature applies", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_twilio_in(h, std::string{twilio_rule_key});
  const auto body = twilio_fixture("undelivered_30003");
  for (const auto* header : {"", "HMAC_SHA1"}) {
    INFO("rule header \"" << header << "\"");
    CHECK(h.deliver(actor, twilio_callback(body, sha256_signature(body), header)).what == kind::bad_signature);
  }
  CHECK(h.log->jobs().empty());
  CHECK(h.of(core::vendor::twilio).bad_signatures.load() == 2);
  CHECK(h.deliver(actor, twilio_callback(body, sha1_signature(body))).what == kind::stored);
  CHECK(h.log->jobs().size() == 1);
}

/// Without a configured shared key the rule header cannot switch the check: SHA-1 applies whatever it says.
TEST_CASE("twilio: without a shared key, the SHA-1 signature applies whatever the rule header says",
          "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_twilio_in(h);
  const auto body = twilio_fixture("undelivered_30003");
  CHECK(h.deliver(actor, twilio_callback(body, sha256_signature(body), "HMAC_SHA256")).what == kind::bad_signature);
  CHECK(h.deliver(actor, twilio_callback(body, sha256_signature(body))).what == kind::bad_signature);
  CHECK(h.log->jobs().empty());
  CHECK(h.of(core::vendor::twilio).bad_signatures.load() == 2);
  CHECK(h.deliver(actor, twilio_callback(body, sha1_signature(body), "HMAC_SHA256")).what == kind::stored);
  CHECK(h.log->jobs().size() == 1);
}

/// A body that does not decode is a 400 before its signature is looked at; a signed callback without a usable
/// MessageSid or MessageStatus is a 400 too. Neither reaches the ledger.
TEST_CASE("twilio: a body that is not form encoding, or lacks what deliveryd needs, is malformed",
          "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_twilio_in(h);
  const auto not_form = h.deliver(actor, twilio_callback("MessageSid=SM1&MessageStatus=%ZZ", "c2ln"));
  CHECK(not_form.what == kind::malformed);
  CHECK(not_form.detail == "the body is not valid application/x-www-form-urlencoded UTF-8 text");
  CHECK(h.deliver(actor, twilio_callback("MessageSid=SM1&MessageStatus=sent&To=%FF", "")).what == kind::malformed);

  const std::string no_sid = "MessageStatus=delivered&AccountSid=AC0";
  const auto without_sid = h.deliver(actor, twilio_callback(no_sid, sha1_signature(no_sid)));
  CHECK(without_sid.what == kind::malformed);
  CHECK(without_sid.detail == "the callback has neither MessageSid nor SmsSid");
  const std::string capitalised = "MessageSid=SM1&MessageStatus=Delivered";
  CHECK(h.deliver(actor, twilio_callback(capitalised, sha1_signature(capitalised))).what == kind::malformed);

  CHECK(h.log->jobs().empty());
  const auto& stats = h.of(core::vendor::twilio);
  CHECK(stats.malformed.load() == 4);
  CHECK(stats.bad_signatures.load() == 0);
  CHECK(stats.events_received.load() == 0);
}

/// An inbound status (a message the account received) is acknowledged and recorded nowhere.
TEST_CASE("twilio: an inbound status is acknowledged and nothing reaches the ledger", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_twilio_in(h);
  for (const auto* word : {"received", "receiving"}) {
    const auto body = "MessageSid=SM9&SmsStatus=" + std::string{word} + "&MessageStatus=" + word + "&AccountSid=AC0";
    const auto answer = h.deliver(actor, twilio_callback(body, sha1_signature(body)));
    CHECK(answer.what == kind::ignored);
    CHECK(answer.detail == "inbound status " + std::string{word} + " is not tracked");
    CHECK_FALSE(answer.reply_body);
  }
  CHECK(h.log->jobs().empty());
  const auto& stats = h.of(core::vendor::twilio);
  CHECK(stats.events_received.load() == 0);
  CHECK(stats.bad_signatures.load() == 0);
  CHECK(stats.malformed.load() == 0);
  // Unsigned, it is refused like any other callback: the check comes before the status is read.
  CHECK(h.deliver(actor, twilio_callback("MessageSid=SM9&MessageStatus=received", "")).what == kind::bad_signature);
}

/// The ledger's "storage failing" comes back as the callback's answer (a 503, so that Twilio retries), and the
/// event is not counted as stored; once commits work again, the resent callback is stored as new.
TEST_CASE("twilio: when the ledger cannot commit, the callback is answered storage_failing", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_twilio_in(h);
  const auto body = twilio_fixture("delivered");
  h.log->answer_with(fake_ledger_log::mode::failing);
  const auto failed = h.deliver(actor, twilio_callback(body, sha1_signature(body)));
  CHECK(failed.what == kind::storage_failing);
  CHECK(failed.detail == "the ledger could not commit (disk I/O error); nothing was stored, retry later");
  CHECK(h.log->jobs().size() == 1); // it was handed over, and refused by the ledger
  const auto& stats = h.of(core::vendor::twilio);
  CHECK(stats.events_received.load() == 1);
  CHECK(stats.events_stored.load() == 0);

  h.log->answer_with(fake_ledger_log::mode::commit);
  const auto retried = h.deliver(actor, twilio_callback(body, sha1_signature(body)));
  CHECK(retried.what == kind::stored);
  CHECK(retried.counts.applied == 1);
  CHECK(stats.events_stored.load() == 1);
}

/// Twilio resends a callback it got no 200 for: the ledger's duplicate answer is still a stored, counted apart.
TEST_CASE("twilio: a resent callback is acknowledged and counted as a duplicate", "[actors][vendors]") {
  vendor_harness h;
  auto actor = spawn_twilio_in(h);
  const auto body = twilio_fixture("sent");
  CHECK(h.deliver(actor, twilio_callback(body, sha1_signature(body))).counts.applied == 1);
  const auto again = h.deliver(actor, twilio_callback(body, sha1_signature(body)));
  CHECK(again.what == kind::stored);
  CHECK(again.counts.duplicates == 1);
  const auto& stats = h.of(core::vendor::twilio);
  CHECK(stats.events_received.load() == 2);
  CHECK(stats.events_stored.load() == 1);
  CHECK(stats.duplicates.load() == 1);
}

/// With an ack log in front of the ledger, a callback is refused by the log while the ledger cannot commit, in
/// the same words as intake's refusal (actors::commit_refusal), and nothing is appended.
TEST_CASE("twilio: while the ledger cannot commit, the ack log refuses the callback in intake's words",
          "[actors][vendors]") {
  temp_dir dir;
  db::ack_log_options lo;
  lo.dir = dir.path() / "ledger.db.acklog";
  auto log = db::ack_log::open(lo, 0);
  REQUIRE(log);
  (*log)->ledger_failing("the disk is full");
  vendor_harness h;
  auto actor = h.keep(actors::spawn_twilio(
    h.sys, {std::string{twilio_auth_token}, std::nullopt, h.ledger, &h.stats, nullptr, log->get()}));
  const auto body = twilio_fixture("delivered");
  const auto refused = h.deliver(actor, twilio_callback(body, sha1_signature(body)));
  CHECK(refused.what == kind::storage_failing);
  CHECK(refused.detail == "the ledger could not commit (the disk is full); nothing was stored, retry later");
  CHECK((*log)->acknowledged() == 0);
  CHECK(h.log->jobs().empty());
  // Once the ledger commits again, the resent callback is appended and acknowledged.
  (*log)->ledger_failing("");
  CHECK(h.deliver(actor, twilio_callback(body, sha1_signature(body))).what == kind::stored);
  CHECK((*log)->acknowledged() > 0);
}
