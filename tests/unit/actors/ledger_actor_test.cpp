/// The ledger actor, thinly, with a real actor system: answers only after COMMIT, group commit under load,
/// health, deadlines, and an orderly stop.

#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include "../db/ack_log_fixture.hpp"
#include "ledger_harness.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

TEST_CASE("intake and events jobs are answered only after their commit", "[actors][ledger]") {
  ledger_harness h;
  auto s = make_send("a");
  s.vendor_message_id = "SM1";
  // The probes run on the ledger's thread the moment `done` is called, through another connection: they see
  // only committed data.
  auto [intake, intake_answer, intake_calls] = intake_job({s}, h.showing("a"));
  caf::anon_send(h.ledger, intake);
  auto registered = take(intake_answer);
  CHECK(outcome_of(registered).accepted == 1);
  CHECK(registered.seen == 1);

  auto [events, events_answer, events_calls] = events_job({make_event("SM1", core::status::sent, t0 + 1s, "d1")},
                                            h.showing("a", "sent"));
  caf::anon_send(h.ledger, events);
  auto applied = take(events_answer);
  CHECK(outcome_of(applied).applied == 1);
  CHECK(applied.seen == 1);

  // A held event, then its send: the held event is durable when answered, and applied with the send.
  auto [held, held_answer, held_calls] = events_job({make_event("SM2", core::status::sent, t0 + 1s, "d2")},
                                        h.counting("SELECT count(*) FROM events WHERE send IS NULL"));
  caf::anon_send(h.ledger, held);
  auto kept = take(held_answer);
  CHECK(outcome_of(kept).held == 1);
  CHECK(kept.seen == 1);

  auto b = make_send("b");
  b.vendor_message_id = "SM2";
  auto [late, late_answer, late_calls] = intake_job({b}, h.showing("b", "sent"));
  caf::anon_send(h.ledger, late);
  auto attached = take(late_answer);
  CHECK(outcome_of(attached).accepted == 1);
  CHECK(attached.seen == 1);
}

TEST_CASE("the parser's rejections come back merged with the store's", "[actors][ledger]") {
  ledger_harness h;
  auto [job, future, calls] = intake_job({make_send("a", t0, 0), make_send("a", t0, 2)});
  job->rejected.push_back({1, "bad", "invalid", "type must be one of ..."});
  caf::anon_send(h.ledger, job);
  auto out = outcome_of(take(future));
  CHECK(out.accepted == 1);
  CHECK(out.duplicates == 1);
  REQUIRE(out.rejected.size() == 1);
  CHECK(out.rejected[0].index == 1);
  CHECK(out.rejected[0].error == "invalid");
}

TEST_CASE("group commit: 500 jobs from 4 threads are all answered once and all stored", "[actors][ledger]") {
  ledger_harness h;
  constexpr int threads = 4;
  constexpr int per_thread = 125;
  std::vector<std::vector<std::future<answer<db::intake_outcome>>>> futures(threads);
  std::vector<std::vector<std::shared_ptr<std::atomic<int>>>> calls(threads);
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t)
    futures[static_cast<std::size_t>(t)].reserve(per_thread);
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&h, &futures, &calls, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto id = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto [job, future, count] = intake_job({make_send(id)}, h.showing(id));
        futures[static_cast<std::size_t>(t)].push_back(std::move(future));
        calls[static_cast<std::size_t>(t)].push_back(count);
        caf::anon_send(h.ledger, job);
      }
    });
  }
  for (auto& sender : senders)
    sender.join();

  std::size_t answered = 0, accepted = 0, visible = 0;
  for (auto& per : futures) {
    for (auto& f : per) {
      REQUIRE(f.wait_for(answer_timeout) == std::future_status::ready);
      auto a = f.get();
      ++answered;
      if (auto* out = std::get_if<db::intake_outcome>(&a.result.value))
        accepted += out->accepted;
      visible += a.seen == 1 ? 1 : 0;
    }
  }
  h.stop();
  std::size_t once = 0;
  for (const auto& per : calls)
    for (const auto& c : per)
      once += *c == 1 ? 1 : 0;
  CHECK(once == threads * per_thread);
  CHECK(answered == threads * per_thread);
  CHECK(accepted == threads * per_thread);
  CHECK(visible == threads * per_thread); // every answer came after its own send was committed
  const auto ids = all_sends(h.dir.ledger());
  CHECK(ids.size() == threads * per_thread);
  auto reader = open_reader(h.dir.ledger());
  std::size_t one_entry = 0;
  for (const auto& id : ids)
    one_entry += reader->find(id).value()->history.size() == 1 ? 1 : 0;
  CHECK(one_entry == threads * per_thread);
}

TEST_CASE("events jobs from several threads interleave with intake", "[actors][ledger]") {
  ledger_harness h;
  constexpr int sends = 200;
  std::vector<adapters::intake::send_request> batch;
  for (int i = 0; i < sends; ++i) {
    auto s = make_send("s" + std::to_string(i));
    s.vendor_message_id = "SM" + std::to_string(i);
    batch.push_back(std::move(s));
  }
  // The events race the intake: some are held, some applied; every one ends applied.
  std::vector<std::future<answer<db::events_outcome>>> futures(sends);
  std::thread events_sender{[&] {
    for (int i = 0; i < sends; ++i) {
      auto [job, future, calls] = events_job({make_event("SM" + std::to_string(i), core::status::sent, t0 + 1s,
                                                  "d" + std::to_string(i))});
      futures[static_cast<std::size_t>(i)] = std::move(future);
      caf::anon_send(h.ledger, job);
    }
  }};
  auto [intake, intake_answer, intake_calls] = intake_job(batch);
  caf::anon_send(h.ledger, intake);
  events_sender.join();
  CHECK(outcome_of(take(intake_answer)).accepted == sends);
  std::size_t stored = 0;
  for (auto& f : futures) {
    auto out = outcome_of(take(f));
    stored += out.applied + out.held;
  }
  CHECK(stored == sends);
  auto reader = open_reader(h.dir.ledger());
  std::size_t sent = 0;
  for (int i = 0; i < sends; ++i) // sent, with its event applied whether it came before the send or after
    sent += reader->find("s" + std::to_string(i)).value()->row.status == "sent" ? 1 : 0;
  CHECK(sent == sends);
}

TEST_CASE("a healthy ledger reports ok", "[actors][ledger]") {
  ledger_harness h;
  auto report = h.health();
  CHECK(report.ok);
  CHECK(report.detail.empty());
}

TEST_CASE("deadlines that passed while the daemon was down fire at start", "[actors][ledger]") {
  ledger_harness h{[](db::ledger_writer& store) {
    REQUIRE(register_committed(store, {make_send("old", t0 - 2 * twilio_after)}).accepted == 1);
  }};
  // The first commit fires them: by the time a job is answered, they are committed.
  auto [job, future, calls] = intake_job({make_send("new")}, h.showing("old", "uncertain"));
  caf::anon_send(h.ledger, job);
  auto a = take(future);
  CHECK(outcome_of(a).accepted == 1);
  CHECK(a.seen == 1);
  CHECK(history_of(*open_reader(h.dir.ledger()), "old") == std::vector<std::string>{"intake/pending/",
                                                                                    "deadline/uncertain/ME09"});
  CHECK(send_of(h.dir.ledger(), "new").row.status == "pending");
}

TEST_CASE("a deadline fires within a few seconds of its moment", "[actors][ledger]") {
  ledger_harness h;
  auto [job, future, calls] = intake_job({make_send("a")});
  caf::anon_send(h.ledger, job);
  REQUIRE(outcome_of(take(future)).accepted == 1);
  h.clock.set(t0 + twilio_after);
  const auto started = std::chrono::steady_clock::now();
  std::string status;
  while (std::chrono::steady_clock::now() - started < std::chrono::seconds{5}) {
    status = send_of(h.dir.ledger(), "a").row.status;
    if (status == "uncertain")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  CHECK(status == "uncertain");
  CHECK(history_of(*open_reader(h.dir.ledger()), "a") == std::vector<std::string>{"intake/pending/",
                                                                                  "deadline/uncertain/ME09"});
}

TEST_CASE("stop commits and answers every queued job, then takes no more", "[actors][ledger]") {
  ledger_harness h;
  constexpr int queued = 200;
  std::vector<std::future<answer<db::intake_outcome>>> before;
  for (int i = 0; i < queued; ++i) {
    auto [job, future, calls] = intake_job({make_send("q" + std::to_string(i))});
    before.push_back(std::move(future));
    caf::anon_send(h.ledger, job);
  }
  caf::anon_send(h.ledger, actors::stop_atom_v);
  // Sent after stop_atom, while the ledger may still be draining.
  auto [racing, racing_answer, racing_calls] = intake_job({make_send("racing")});
  caf::anon_send(h.ledger, racing);
  {
    caf::scoped_actor self{h.sys};
    self->wait_for(h.ledger);
  }
  // Sent to a ledger that has quit.
  auto [late, late_answer, late_calls] = intake_job({make_send("late")});
  caf::anon_send(h.ledger, late);
  late.reset();
  racing.reset();

  std::size_t accepted = 0;
  for (auto& f : before)
    accepted += outcome_of(take(f)).accepted;
  CHECK(accepted == queued);
  CHECK(all_sends(h.dir.ledger()).size() == queued);

  // After stop: refused with shutting_down, or dropped unanswered (the job is destroyed, its promise broken);
  // never stored.
  for (auto* f : {&racing_answer, &late_answer}) {
    REQUIRE(f->wait_for(answer_timeout) == std::future_status::ready);
    bool refused_or_dropped = false;
    try {
      auto a = f->get();
      auto* failure = std::get_if<actors::ledger_failure>(&a.result.value);
      refused_or_dropped = failure != nullptr && *failure == actors::ledger_failure::shutting_down;
    } catch (const std::future_error& e) {
      refused_or_dropped = e.code() == std::future_errc::broken_promise;
    }
    CHECK(refused_or_dropped);
  }
  CHECK_FALSE(find_send(h.dir.ledger(), "racing"));
  CHECK_FALSE(find_send(h.dir.ledger(), "late"));
}

namespace {

/// Appends one record of `events` (admitted to `gate` first, as the webhook actors do) and waits for the log.
void append_to(db::ack_log& log, actors::backlog& gate, const std::vector<db::vendor_event>& events) {
  REQUIRE(gate.try_admit(events.size()));
  REQUIRE(append_wait(log, events).empty());
}

/// Waits until the ledger has committed everything the log acknowledged.
void wait_applied(const db::ack_log& log) {
  REQUIRE(log.wait_applied(std::chrono::seconds{30}) == db::ack_log::barrier::applied);
}

} // namespace

TEST_CASE("with an ack log, the ledger applies its records in sorted batches and commits the position with them",
          "[actors][ledger][ack_log][sqlite]") {
  temp_dir log_dir;
  db::ack_log_options lo;
  lo.dir = log_dir.path() / "acklog";
  actors::ledger_actor* to_tell = nullptr;
  lo.on_acked = [&to_tell](std::uint64_t end) { caf::anon_send(*to_tell, actors::logged_atom_v, end); };
  auto log = db::ack_log::open(lo, 0).value();
  actors::backlog gate;
  static constexpr int sends = 300;
  ledger_harness h{ledger_harness::options{
    [](db::ledger_writer& store) {
      std::vector<adapters::intake::send_request> batch;
      for (int i = 0; i < sends; ++i)
        batch.push_back(send_with_id("s" + std::to_string(i), "SM" + std::to_string(i)));
      store.begin().value();
      CHECK(store.register_sends(batch, {}, t0).value().accepted == sends);
      store.commit().value();
    },
    {}, {}, log.get(), 0, 0, &gate, 64}};
  to_tell = &h.ledger;
  // Records of 3 events each, in descending message order: the ledger takes at most 64 events per transaction.
  for (int i = sends - 1; i >= 2; i -= 3)
    append_to(*log, gate, {make_event("SM" + std::to_string(i), core::status::sent, t0 + 1s, "d" + std::to_string(i)),
                           make_event("SM" + std::to_string(i - 1), core::status::sent, t0 + 1s,
                                      "d" + std::to_string(i - 1)),
                           make_event("SM" + std::to_string(i - 2), core::status::failed, t0 + 1s,
                                      "d" + std::to_string(i - 2), "twilio:30003", core::category::unreachable)});
  wait_applied(*log);
  CHECK(gate.items() == 0); // released once committed
  const auto end = log->acknowledged();
  CHECK(peek_int(h.dir.ledger(), "SELECT count(*) FROM sends WHERE status = 'sent'") == 2 * sends / 3);
  CHECK(peek_int(h.dir.ledger(), "SELECT count(*) FROM sends WHERE status = 'failed'") == sends / 3);
  CHECK(peek_int(h.dir.ledger(), "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'ack_log_position'") ==
        static_cast<std::int64_t>(end));
  // Batches of at most 64 events (plus the last record that crossed it): many transactions, each with its position.
  CHECK(peek_int(h.dir.ledger(), "SELECT count(*) FROM events WHERE source = 'webhook'") == sends);
  h.stop();
}

TEST_CASE("with an ack log, the ledger applies first what an earlier life acknowledged, and everything before it "
          "stops", "[actors][ledger][ack_log][sqlite]") {
  temp_dir log_dir;
  db::ack_log_options lo;
  lo.dir = log_dir.path() / "acklog";
  actors::backlog gate;
  // An earlier life: its log acknowledged 50 callbacks that its ledger never applied (killed).
  {
    auto earlier = db::ack_log::open(lo, 0).value();
    actors::backlog unused;
    for (int i = 0; i < 50; ++i)
      append_to(*earlier, unused, {make_event("SM" + std::to_string(i), core::status::sent, t0 + 1s,
                                              "d" + std::to_string(i))});
  }
  actors::ledger_actor* to_tell = nullptr;
  std::atomic<bool> tell{true};
  lo.on_acked = [&to_tell, &tell](std::uint64_t end) {
    if (tell)
      caf::anon_send(*to_tell, actors::logged_atom_v, end);
  };
  auto log = db::ack_log::open(lo, 0).value();
  const auto replay_end = log->acknowledged();
  REQUIRE(replay_end > 0);
  ledger_harness h{ledger_harness::options{
    [](db::ledger_writer& store) {
      std::vector<adapters::intake::send_request> batch;
      for (int i = 0; i < 100; ++i)
        batch.push_back(send_with_id("s" + std::to_string(i), "SM" + std::to_string(i)));
      store.begin().value();
      store.register_sends(batch, {}, t0).value();
      store.commit().value();
    },
    {}, {}, log.get(), 0, replay_end, &gate, 16}}; // 16 events per transaction: the stop takes several
  to_tell = &h.ledger;
  wait_applied(*log);
  CHECK(peek_int(h.dir.ledger(), "SELECT count(*) FROM sends WHERE status = 'sent'") == 50);
  CHECK(gate.items() == 0); // replayed events were never admitted in this life: nothing released below zero

  // This life's callbacks, the ledger not told of them: the log stops first, and the ledger applies all of them
  // before it quits, 16 events per transaction.
  tell = false;
  for (int i = 50; i < 100; ++i)
    append_to(*log, gate, {make_event("SM" + std::to_string(i), core::status::sent, t0 + 1s,
                                      "d" + std::to_string(i))});
  log->stop();
  h.stop();
  CHECK(peek_int(h.dir.ledger(), "SELECT count(*) FROM sends WHERE status = 'sent'") == 100);
  CHECK(peek_int(h.dir.ledger(), "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'ack_log_position'") ==
        static_cast<std::int64_t>(log->acknowledged()));
  CHECK(gate.items() == 0);
}
