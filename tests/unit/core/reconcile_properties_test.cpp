/// The laws of reconciliation, checked on thousands of random event sequences for one send.
///
/// Every case draws from its own std::mt19937_64 seeded with base + case index; the base is 20261127 unless
/// DELIVERYD_PROPERTY_SEED says otherwise, and a failure prints the case's seed and its events.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/codes.hpp"
#include "core/reconcile.hpp"
#include "printing.hpp"

using namespace deliveryd::core;
using namespace std::chrono_literals;

namespace {

constexpr int cases = 3000;
const timestamp t0 = from_millis(1'790'000'000'000);

std::uint64_t base_seed() {
  const char* text = std::getenv("DELIVERYD_PROPERTY_SEED");
  return text != nullptr ? std::strtoull(text, nullptr, 10) : 20261127u;
}

template <class T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& pool) {
  return pool[std::uniform_int_distribution<std::size_t>{0, pool.size() - 1}(rng)];
}

// A random event. Few distinct times, codes and texts, so that ties are common.
event random_event(std::mt19937_64& rng) {
  static const std::vector<std::string> failure_codes{"twilio:30003", "twilio:30005", "carrier:4401",
                                                      "carrier:UNDELIV", "kakao:3018", "email:bounce", ""};
  static const std::vector<std::string> exclusion_codes{"10000", "10006", "10999", "11002", "10500"};
  static const std::vector<std::string> texts{"", "power off", "no such number", "blocked"};
  static const std::vector<status> outcomes{status::pending, status::pending,  status::pending, status::sent,
                                            status::sent,    status::failed,   status::failed,  status::failed,
                                            status::failed,  status::uncertain, status::uncertain,
                                            status::excluded};
  const timestamp at = t0 + std::chrono::seconds{std::uniform_int_distribution<int>{0, 5}(rng)};
  if (std::uniform_int_distribution<int>{0, 9}(rng) == 0)
    return deadline_event(at);
  event e;
  e.source = std::uniform_int_distribution<int>{0, 1}(rng) == 0 ? event_source::webhook : event_source::poll;
  e.outcome = pick(rng, outcomes);
  // Sent, pending and uncertain events get noise in the fields they must not carry into the state.
  e.code = e.outcome == status::excluded ? pick(rng, exclusion_codes) : pick(rng, failure_codes);
  e.reason = pick(rng, texts);
  e.cat = static_cast<category>(std::uniform_int_distribution<int>{0, 8}(rng));
  e.vendor_time = at;
  e.vendor_status = "raw";
  e.dedupe_key = std::to_string(std::uniform_int_distribution<int>{0, 1000}(rng));
  return e;
}

std::vector<event> random_events(std::mt19937_64& rng) {
  std::vector<event> events(std::uniform_int_distribution<std::size_t>{1, 12}(rng));
  for (auto& e : events)
    e = random_event(rng);
  return events;
}

std::string show(const std::vector<event>& events) {
  std::ostringstream out;
  for (const auto& e : events)
    out << to_string(e.outcome) << "(" << e.code << "|" << e.reason << "|" << to_string(e.cat) << "|"
        << to_millis(e.vendor_time) - to_millis(t0) << ") ";
  return out.str();
}

// A random permutation of `events` with random duplicates inserted.
std::vector<event> shuffled_with_duplicates(std::mt19937_64& rng, std::vector<event> events) {
  const auto extra = std::uniform_int_distribution<std::size_t>{0, events.size()}(rng);
  for (std::size_t i = 0; i < extra; ++i)
    events.push_back(pick(rng, events));
  std::shuffle(events.begin(), events.end(), rng);
  return events;
}

// Folds `events` from a registered pending send, checking the step laws along the way.
send_state checked_fold(const std::vector<event>& events) {
  send_state state;
  for (const auto& e : events) {
    const auto step = reconcile(state, e, t0 + 1h);
    REQUIRE_FALSE(step.effects.empty());
    REQUIRE(step.effects.front() == effect::append_history);
    const bool updated = std::find(step.effects.begin(), step.effects.end(), effect::update_state) !=
                         step.effects.end();
    REQUIRE(updated == (step.state != state));
    REQUIRE(rank(step.state.current) >= rank(state.current));
    if (is_final(state.current))
      REQUIRE(is_final(step.state.current));
    if (e.outcome == status::pending)
      REQUIRE(step.state == state);
    state = step.state;
  }
  return state;
}

// The expected state, written from the contract's words rather than from `outranks`.
send_state oracle(const std::vector<event>& events) {
  std::vector<send_state> states;
  for (const auto& e : events)
    states.push_back(state_of(e));
  const auto best_of = [&](status s) -> std::optional<send_state> {
    std::optional<send_state> best;
    for (const auto& c : states) {
      if (c.current != s)
        continue;
      const auto key = [s](const send_state& x) {
        // failed: latest time first; others: earliest time last.
        const auto time = s == status::failed ? to_millis(x.decided_at) : 0;
        return std::make_tuple(time, x.code, x.reason, x.cat, -to_millis(x.decided_at));
      };
      if (!best || key(c) > key(*best))
        best = c;
    }
    return best;
  };
  for (const auto s : {status::excluded, status::sent, status::failed, status::uncertain})
    if (auto best = best_of(s))
      return *best;
  return send_state{};
}

} // namespace

TEST_CASE("property: the state is the set's maximum, whatever the order and duplicates", "[property]") {
  const auto base = base_seed();
  for (int i = 0; i < cases; ++i) {
    const auto seed = base + static_cast<std::uint64_t>(i);
    std::mt19937_64 rng{seed};
    const auto events = random_events(rng);
    INFO("seed " << seed << ": " << show(events));
    const auto in_order = checked_fold(events);
    REQUIRE(in_order == oracle(events));
    for (int round = 0; round < 4; ++round) {
      const auto permuted = shuffled_with_duplicates(rng, events);
      INFO("permuted: " << show(permuted));
      REQUIRE(checked_fold(permuted) == in_order);
    }
  }
}

TEST_CASE("property: a final status never goes back and the rank never falls", "[property]") {
  const auto base = base_seed() + 1'000'000;
  for (int i = 0; i < cases; ++i) {
    const auto seed = base + static_cast<std::uint64_t>(i);
    std::mt19937_64 rng{seed};
    auto events = random_events(rng);
    // Pending events after the first final one are the interesting case here.
    for (int extra = 0; extra < 3; ++extra) {
      auto pending = random_event(rng);
      pending.outcome = status::pending;
      events.push_back(pending);
    }
    const auto permuted = shuffled_with_duplicates(rng, events);
    INFO("seed " << seed << ": " << show(permuted));
    send_state state;
    bool seen_final = false;
    for (const auto& e : permuted) {
      const auto next = reconcile(state, e, t0).state;
      seen_final = seen_final || is_final(next.current);
      REQUIRE(rank(next.current) >= rank(state.current));
      REQUIRE((!seen_final || next.current != status::pending));
      state = next;
    }
  }
}

TEST_CASE("property: an uncertain send is corrected by a sent or failed event", "[property]") {
  const auto base = base_seed() + 2'000'000;
  for (int i = 0; i < cases; ++i) {
    const auto seed = base + static_cast<std::uint64_t>(i);
    std::mt19937_64 rng{seed};
    // Reach uncertain through any mix of pending and uncertain events, the deadline's or a vendor's.
    std::vector<event> prefix = random_events(rng);
    for (auto& e : prefix)
      if (e.outcome != status::pending && e.outcome != status::uncertain)
        e.outcome = status::uncertain;
    prefix.push_back(deadline_event(t0 + 72h));
    std::shuffle(prefix.begin(), prefix.end(), rng);
    auto definitive = random_event(rng);
    definitive.outcome = std::uniform_int_distribution<int>{0, 1}(rng) == 0 ? status::sent : status::failed;
    INFO("seed " << seed << ": " << show(prefix) << "then " << show({definitive}));
    const auto uncertain = checked_fold(prefix);
    REQUIRE(uncertain.current == status::uncertain);
    REQUIRE(uncertain.code == "ME09");
    const auto step = reconcile(uncertain, definitive, t0 + 80h);
    REQUIRE(step.state == state_of(definitive));
    REQUIRE(step.state.current == definitive.outcome);
    REQUIRE(step.effects == std::vector<effect>{effect::append_history, effect::update_state, effect::correction});
  }
}

namespace {

// A tiny model of the ledger: registered sends and the events held for sends not registered yet.
struct ledger_model {
  std::map<int, send_state> sends;
  std::vector<std::pair<int, event>> held;

  void receive(int send, const event& e) {
    const auto found = sends.find(send);
    const auto current = found == sends.end() ? std::nullopt : std::optional{found->second};
    const auto step = reconcile(current, e, t0);
    if (step.effects == std::vector<effect>{effect::hold}) {
      REQUIRE_FALSE(current.has_value());
      held.emplace_back(send, e);
      return;
    }
    REQUIRE(current.has_value());
    found->second = step.state;
  }

  void register_send(int send, const event& intake) {
    REQUIRE(sends.emplace(send, send_state{}).second);
    receive(send, intake);
    std::vector<std::pair<int, event>> still_held;
    for (const auto& [id, e] : held) {
      if (id == send)
        receive(id, e); // in arrival order
      else
        still_held.emplace_back(id, e);
    }
    held = std::move(still_held);
  }
};

} // namespace

TEST_CASE("property: events held before registration are applied when the send arrives", "[property]") {
  const auto base = base_seed() + 3'000'000;
  for (int i = 0; i < cases; ++i) {
    const auto seed = base + static_cast<std::uint64_t>(i);
    std::mt19937_64 rng{seed};
    const int send_count = std::uniform_int_distribution<int>{1, 3}(rng);
    // Arrival order: every send's vendor events and its registration (-1), interleaved at random.
    std::vector<std::pair<int, int>> arrivals;
    std::map<int, std::vector<event>> events;
    std::map<int, event> intakes;
    for (int send = 0; send < send_count; ++send) {
      events[send] = random_events(rng);
      event intake;
      intake.source = event_source::intake;
      intake.vendor_time = t0;
      if (std::uniform_int_distribution<int>{0, 9}(rng) == 0) {
        intake.outcome = status::excluded;
        intake.code = "10006";
      }
      intakes[send] = intake;
      arrivals.emplace_back(send, -1);
      for (int k = 0; k < static_cast<int>(events[send].size()); ++k)
        arrivals.emplace_back(send, k);
    }
    std::shuffle(arrivals.begin(), arrivals.end(), rng);
    ledger_model ledger;
    std::map<int, std::vector<event>> arrived;
    for (const auto& [send, k] : arrivals) {
      if (k < 0) {
        ledger.register_send(send, intakes[send]);
      } else {
        ledger.receive(send, events[send][static_cast<std::size_t>(k)]);
        arrived[send].push_back(events[send][static_cast<std::size_t>(k)]);
      }
    }
    INFO("seed " << seed);
    REQUIRE(ledger.held.empty());
    REQUIRE(ledger.sends.size() == static_cast<std::size_t>(send_count));
    for (int send = 0; send < send_count; ++send) {
      std::vector<event> expected{intakes[send]};
      expected.insert(expected.end(), arrived[send].begin(), arrived[send].end());
      INFO("send " << send << ": " << show(expected));
      REQUIRE(ledger.sends[send] == checked_fold(expected));
      REQUIRE(ledger.sends[send] == oracle(expected));
    }
  }
}
