#pragma once
/// The vendor actors in a real actor system, spawned as the daemon spawns them but in front of a fake ledger, and
/// their requests built as the listeners build them (daemon/webhook_routes.cpp), signed with vendor_signing.hpp.
///
/// The fake ledger records every events job it receives and answers it as the ledger actor does after a commit
/// (each event applied, or a duplicate of a dedupe key it has answered before), or as a failing disk does, or
/// not until the test says so. It stores nothing: no database, so the tests run alike whatever
/// DELIVERYD_TEST_BACKEND says. It does not reconcile, hold the events of unknown sends, group commits, or answer
/// intake. Catch2 is not thread-safe: the callbacks only record, the test thread checks.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/carrier_actor.hpp"
#include "actors/counters.hpp"
#include "actors/email_actor.hpp"
#include "actors/jobs.hpp"
#include "actors/kakao_push_actor.hpp"
#include "actors/twilio_actor.hpp"
#include "vendor_signing.hpp"

/// A vendor actor's kind of answer by its name in a failed check, rather than its number.
template <>
struct Catch::StringMaker<deliveryd::actors::webhook_result::kind> {
  static std::string convert(deliveryd::actors::webhook_result::kind what) {
    using kind = deliveryd::actors::webhook_result::kind;
    switch (what) {
      case kind::stored: return "stored";
      case kind::ignored: return "ignored";
      case kind::bad_signature: return "bad_signature";
      case kind::malformed: return "malformed";
      case kind::storage_failing: return "storage_failing";
      case kind::overloaded: return "overloaded";
    }
    return "kind " + std::to_string(static_cast<int>(what));
  }
};

namespace deliveryd::testing {

/// How long a test waits for what must come: a guard against a hang, not a measure of speed.
inline constexpr auto vendor_reply_timeout = std::chrono::seconds{60};

/// When the tests' requests arrive: 2026-11-27T00:40:00Z, the SendGrid fixture's signing time.
inline const core::timestamp vendor_t0 = core::from_millis(1'795'764'000'000);

/// The fixture's file under tests/data.
inline std::string read_fixture(const std::string& name) {
  std::ifstream in{std::string{DELIVERYD_TEST_DATA} + "/" + name, std::ios::binary};
  REQUIRE(in);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// ---- the fake ledger ----------------------------------------------------------------------------------------

/// What the fake ledger received and how it answers: written on the ledger's thread, read on the test's.
class fake_ledger_log {
public:
  /// How the events jobs that arrive from now on are answered.
  enum class mode {
    commit,  ///< as after a commit: applied, or duplicates of keys answered before
    failing, ///< as when the commit fails: storage_failing, nothing remembered
    hold,    ///< not yet: kept until answer_held()
  };

  /// Answers the jobs that arrive from now on as `m` says.
  void answer_with(mode m) {
    std::lock_guard lock{mutex_};
    mode_ = m;
  }

  /// The events of every job received so far, job by job, in the order they came.
  std::vector<std::vector<db::vendor_event>> jobs() const {
    std::lock_guard lock{mutex_};
    return jobs_;
  }

  /// Records `job`, then answers it (or holds it) as the mode says.
  void take(const actors::events_job_ptr& job) {
    actors::ledger_result<db::events_outcome> answer;
    {
      std::lock_guard lock{mutex_};
      jobs_.push_back(job->events);
      if (mode_ == mode::hold) {
        held_.push_back(job);
        return;
      }
      answer = answer_locked(*job);
    }
    job->done(std::move(answer)); // outside the lock: `done` reaches into the vendor actor's counters and gate
  }

  /// Answers the held jobs as after a commit.
  void answer_held() {
    std::vector<std::pair<actors::events_job_ptr, actors::ledger_result<db::events_outcome>>> answers;
    {
      std::lock_guard lock{mutex_};
      mode_ = mode::commit;
      for (auto& job : held_)
        answers.emplace_back(job, answer_locked(*job));
      held_.clear();
    }
    for (auto& [job, answer] : answers)
      job->done(std::move(answer));
  }

private:
  actors::ledger_result<db::events_outcome> answer_locked(const actors::events_job& job) {
    if (mode_ == mode::failing)
      return {actors::ledger_failure::storage_failing,
              "the ledger could not commit (disk I/O error); nothing was stored, retry later"};
    db::events_outcome out;
    for (const auto& e : job.events)
      ++(stored_keys_.insert(e.event.dedupe_key).second ? out.applied : out.duplicates);
    return {out, {}};
  }

  mutable std::mutex mutex_;
  mode mode_ = mode::commit;
  std::vector<std::vector<db::vendor_event>> jobs_;
  std::vector<actors::events_job_ptr> held_;
  std::set<std::string> stored_keys_;
};

/// The fake ledger: every handler of the ledger's interface, only events and health doing anything.
inline actors::ledger_actor::behavior_type fake_ledger(actors::ledger_actor::pointer self,
                                                      std::shared_ptr<fake_ledger_log> log) {
  return {
    [](actors::intake_job_ptr&) {}, // no vendor actor sends intake
    [log](actors::events_job_ptr& job) { log->take(job); },
    [](actors::health_job_ptr& job) { job->done({true, ""}); },
    [](actors::flush_atom) {},
    [](actors::synced_atom, std::uint64_t) {},
    [](actors::logged_atom, std::uint64_t) {},
    [](actors::lost_atom, std::string&) {},
    [](actors::tick_atom) {},
    [self](actors::stop_atom) { self->quit(); },
  };
}

// ---- the system ---------------------------------------------------------------------------------------------

/// An actor system with the fake ledger, the counters and a backlog gate for the vendor actors the test spawns.
/// The destructor stops every actor and waits for it, even when a REQUIRE ended the test early.
struct vendor_harness {
  actors::counters stats; ///< before the system: it outlives every actor, as in the daemon
  actors::backlog gate{4}; ///< small, so that a test fills it with a few events
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<fake_ledger_log> log = std::make_shared<fake_ledger_log>();
  actors::ledger_actor ledger = sys.spawn(fake_ledger, log);
  std::vector<caf::actor> spawned{caf::actor_cast<caf::actor>(ledger)};

  vendor_harness() = default;
  vendor_harness(const vendor_harness&) = delete;
  vendor_harness& operator=(const vendor_harness&) = delete;
  ~vendor_harness() {
    log->answer_held(); // a held job keeps its `done`, and the gate, waiting
    caf::scoped_actor self{sys};
    for (auto& a : spawned) {
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
      self->wait_for(a);
    }
  }

  /// Keeps `actor` to be stopped with the harness, and gives it back.
  template <class Handle>
  Handle keep(Handle actor) {
    spawned.push_back(caf::actor_cast<caf::actor>(actor));
    return actor;
  }

  /// The counters of `v`.
  const actors::vendor_counters& of(core::vendor v) const { return stats.of(v); }

  /// The future answer of a job handed to a vendor actor, and how often its `done` has been called.
  struct pending_reply {
    std::future<actors::webhook_result> future;
    std::shared_ptr<std::atomic<int>> calls;
  };

  /// Hands `job` to `actor` as a listener does; returns once the actor has handled the job and the fake ledger
  /// everything the actor sent it: after this, what reached the ledger is final.
  template <class Actor, class Job>
  pending_reply hand(const Actor& actor, const std::shared_ptr<Job>& job) {
    auto promise = std::make_shared<std::promise<actors::webhook_result>>();
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto future = promise->get_future();
    job->done = [promise, calls](actors::webhook_result r) {
      if (++*calls == 1) // counted: deliver() checks that `done` runs exactly once
        promise->set_value(std::move(r));
    };
    caf::scoped_actor self{sys};
    std::string failure;
    // A request, not the listener's anon_send, only so that its (empty) reply says the handler has returned.
    self->request(actor, vendor_reply_timeout, job).receive([] {}, [&](caf::error& e) { failure = sys.render(e); });
    REQUIRE(failure.empty());
    sync_ledger();
    return {std::move(future), std::move(calls)};
  }

  /// hand(), then the answer, which must come exactly once.
  template <class Actor, class Job>
  actors::webhook_result deliver(const Actor& actor, const std::shared_ptr<Job>& job) {
    auto pending = hand(actor, job);
    return take(pending);
  }

  /// The answer of a handed job, which must come exactly once.
  static actors::webhook_result take(pending_reply& pending) {
    REQUIRE(pending.future.wait_for(vendor_reply_timeout) == std::future_status::ready);
    auto answer = pending.future.get();
    CHECK(*pending.calls == 1);
    return answer;
  }

  /// Waits until the fake ledger has handled every message sent to it before (one mailbox, in order).
  void sync_ledger() {
    auto promise = std::make_shared<std::promise<void>>();
    auto future = promise->get_future();
    auto job = std::make_shared<actors::health_job>();
    job->done = [promise](actors::health_report) { promise->set_value(); };
    caf::anon_send(ledger, job);
    REQUIRE(future.wait_for(vendor_reply_timeout) == std::future_status::ready);
  }
};

// ---- requests as the listeners build them (daemon/webhook_routes.cpp) ---------------------------------------

/// [webhooks] public_url of the Twilio fixtures.
inline constexpr std::string_view twilio_public_url = "https://hooks.example.com";
/// The request target the Twilio fixtures were signed for.
inline constexpr std::string_view twilio_target = "/twilio/status?tenant=acme";
/// The URL Twilio signs: public_url + the target.
inline const std::string twilio_url = std::string{twilio_public_url} + std::string{twilio_target};

/// A Twilio status callback as the Twilio route builds it.
inline actors::twilio_callback_job_ptr twilio_callback(std::string body, std::string signature,
                                                       std::string rule_settings = {},
                                                       std::string_view target = twilio_target) {
  auto job = std::make_shared<actors::twilio_callback_job>();
  job->full_url = std::string{twilio_public_url} + std::string{target};
  job->body = std::move(body);
  job->signature = std::move(signature);
  job->rule_settings = std::move(rule_settings);
  job->received_at = vendor_t0;
  return job;
}

/// A request to POST /webhooks/{email,carrier,kakao} as the vendor route builds it: `headers` are those sent of
/// the ones the actor reads.
inline actors::vendor_webhook_job_ptr webhook_request(std::string target, std::string content_type,
                                                      std::vector<std::pair<std::string, std::string>> headers,
                                                      std::string body) {
  auto job = std::make_shared<actors::vendor_webhook_job>();
  job->target = std::move(target);
  job->content_type = std::move(content_type);
  job->headers = std::move(headers);
  job->body = std::move(body);
  job->received_at = vendor_t0;
  return job;
}

// ---- the vendor actors, with the tests' secrets -------------------------------------------------------------

/// The auth token the Twilio fixtures are signed with (docs/vendors.md, Twilio: signature).
inline constexpr std::string_view twilio_auth_token = "12345";
/// The Webhooks Rule key of the documented HMAC-SHA256 vector.
inline constexpr std::string_view twilio_rule_key = "demo-shared-key";
/// [carrier] token and [kakao] push_token.
inline constexpr std::string_view carrier_token = "carrier-s3cret";
inline constexpr std::string_view kakao_token = "kakao-s3cret";

/// [time] zone, in which zone-less vendor times are read.
inline core::zone seoul() {
  auto zone = core::zone::locate("Asia/Seoul");
  REQUIRE(zone);
  return *zone;
}

/// The Twilio actor with the fixtures' auth token and, when given, a Webhooks Rule key; behind `gate` if given.
inline actors::twilio_actor spawn_twilio_in(vendor_harness& h, std::optional<std::string> rule_key = {},
                                            actors::backlog* gate = nullptr) {
  return h.keep(
    actors::spawn_twilio(h.sys, {std::string{twilio_auth_token}, std::move(rule_key), h.ledger, &h.stats, gate}));
}

/// The carrier actor with the tests' token.
inline actors::carrier_actor spawn_carrier_in(vendor_harness& h, actors::backlog* gate = nullptr) {
  return h.keep(actors::spawn_carrier(h.sys, {std::string{carrier_token}, seoul(), h.ledger, &h.stats, gate}));
}

/// The Kakao push actor with the tests' push token.
inline actors::kakao_push_actor spawn_kakao_in(vendor_harness& h, actors::backlog* gate = nullptr) {
  return h.keep(actors::spawn_kakao_push(h.sys, {std::string{kakao_token}, seoul(), h.ledger, &h.stats, gate}));
}

/// The e-mail actor with the public half of `keys`, loaded as the daemon loads [email] verification_key, and
/// the default 5-minute window.
inline actors::email_actor spawn_email_in(vendor_harness& h, const sendgrid_key_pair& keys,
                                          actors::backlog* gate = nullptr) {
  auto key = actors::load_email_key(keys.public_key_base64());
  REQUIRE(key);
  return h.keep(actors::spawn_email(h.sys, {*key, std::chrono::minutes{5}, h.ledger, &h.stats, gate}));
}

// ---- signed requests ----------------------------------------------------------------------------------------

/// The form body of tests/data/twilio/<name>.form.
inline std::string twilio_fixture(std::string_view name) {
  return read_fixture("twilio/" + std::string{name} + ".form");
}

/// The X-Twilio-Signature of tests/data/twilio/<name>.form, from <name>.sig.
inline std::string twilio_fixture_signature(std::string_view name) {
  auto signature = read_fixture("twilio/" + std::string{name} + ".sig");
  signature.erase(signature.find_last_not_of(" \r\n") + 1);
  return signature;
}

/// X-Twilio-Signature of `body` with the auth token, for the fixtures' URL unless another is given.
inline std::string sha1_signature(std::string_view body, std::string_view url = twilio_url) {
  return twilio_signature(EVP_sha1(), twilio_auth_token, url, body);
}

/// X-Twilio-Signature of `body` under the Webhooks Rule, with `key`.
inline std::string sha256_signature(std::string_view body, std::string_view key = twilio_rule_key) {
  return twilio_signature(EVP_sha256(), key, twilio_url, body);
}

/// Unix seconds of `t`, as SendGrid's timestamp header carries them.
inline std::string unix_seconds(core::timestamp t) { return std::to_string(core::to_millis(t) / 1000); }

/// A SendGrid Event Webhook request: the signature and timestamp headers when not empty, the JSON body.
inline actors::vendor_webhook_job_ptr sendgrid_request(std::string body, std::string signature,
                                                       std::string timestamp) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!signature.empty())
    headers.emplace_back(adapters::email::signature_header, std::move(signature));
  if (!timestamp.empty())
    headers.emplace_back(adapters::email::timestamp_header, std::move(timestamp));
  return webhook_request("/webhooks/email", "application/json", std::move(headers), std::move(body));
}

// ---- what reached the ledger --------------------------------------------------------------------------------

/// What an event that reached the ledger must say.
struct expected_event {
  std::string id;
  core::status outcome;
  std::string code;
  core::category cat;
  std::string dedupe_key;
};

/// Checks an event the fake ledger received from `vendor` against `want`.
inline void check_event(const db::vendor_event& got, core::vendor vendor, const expected_event& want) {
  INFO("the event of " << want.id << " (" << want.dedupe_key << ")");
  CHECK(got.vendor == vendor);
  CHECK(got.vendor_message_id == want.id);
  CHECK(core::to_string(got.event.outcome) == core::to_string(want.outcome));
  CHECK(got.event.code == want.code);
  CHECK(core::to_string(got.event.cat) == core::to_string(want.cat));
  CHECK(got.event.dedupe_key == want.dedupe_key);
  CHECK(got.event.source == core::event_source::webhook);
  CHECK(got.received_at == vendor_t0);
}

/// The events of the only job the fake ledger received.
inline std::vector<db::vendor_event> only_job(const vendor_harness& h) {
  const auto jobs = h.log->jobs();
  REQUIRE(jobs.size() == 1);
  return jobs.front();
}

} // namespace deliveryd::testing
