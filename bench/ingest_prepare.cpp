#include "ingest_prepare.hpp"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "ingest_requests.hpp"

namespace deliveryd::bench::ingest {

namespace {

using adapters::intake::send_request;

constexpr std::size_t fill_batch = 50'000;
/// PostgreSQL's: each send with a vendor message id holds an advisory lock until its transaction commits, and the
/// server's lock table has room for 64 x max_connections locks (6,400 by default) in all.
constexpr std::size_t pg_fill_batch = 5'000;
constexpr auto uncertain_after = std::chrono::hours{72};
constexpr auto twilio_poll_after = std::chrono::hours{24};
constexpr auto kakao_poll_interval = std::chrono::hours{24};
/// A prepared ledger is reused for this long: its first Twilio polls come due 24 h - 6 h after preparation.
constexpr auto reuse_for = std::chrono::hours{12};

std::optional<prepared> read_state(const bench_ledger& ledger) {
  std::ifstream in{ledger.state_path()};
  if (!in)
    return std::nullopt;
  std::map<std::string, std::int64_t> kv;
  std::string key;
  std::int64_t value = 0;
  while (in >> key >> value)
    kv[key] = value;
  for (auto k : {"fill_sends", "prepared_at", "twilio_next", "email_next", "twilio_sends", "email_sends"})
    if (!kv.count(k))
      return std::nullopt;
  return prepared{kv["fill_sends"], kv["prepared_at"], kv["twilio_next"], kv["email_next"], kv["twilio_sends"],
                  kv["email_sends"]};
}

/// The ledger options shared by the fill and the daemon (see write_config in ingest_bench.cpp): every vendor's
/// deadline is 72 h, Twilio's first poll 24 h after requested_at, Kakao's 24 h after registration.
db::ledger_options ledger_options(const bench_ledger& ledger) {
  auto so = ledger.options();
  for (auto v : {core::vendor::twilio, core::vendor::email, core::vendor::carrier, core::vendor::kakao})
    so.deadlines[v] = uncertain_after;
  so.polls[core::vendor::twilio] = {false, twilio_poll_after};
  so.polls[core::vendor::kakao] = {true, kakao_poll_interval};
  so.zone = std::string{zone_name};
  return so;
}

/// A PostgreSQL ledger after its fill: VACUUM ANALYZE (the visibility map and the planner's statistics, which
/// autovacuum would otherwise do during the measured phases) and a CHECKPOINT (the fill's dirty pages written).
void settle(const bench_ledger& ledger) {
  if (ledger.backend() != db::backend::postgresql)
    return;
  const auto start = steady::now();
  ledger.execute("VACUUM (ANALYZE)");
  ledger.execute("CHECKPOINT");
  std::printf("settled: VACUUM (ANALYZE) and CHECKPOINT in %.1f s\n", seconds_since(start));
  std::fflush(stdout);
}

/// Fills a new ledger with `n` pending sends.
std::optional<prepared> fill(const bench_ledger& ledger, std::int64_t n) {
  ledger.create();
  auto so = ledger_options(ledger);
  // The fill is not what is measured, and a bench ledger need not survive power loss: SQLite commits it with
  // synchronous=NORMAL, PostgreSQL with synchronous_commit off for the fill's session only (the server keeps
  // fsync on, and the daemons commit with synchronous_commit on).
  so.sync = db::durability::none;
  auto opened = db::open_writer(so);
  if (!opened) {
    std::fprintf(stderr, "open %s: %s\n", ledger.name().c_str(), opened.error().message.c_str());
    return std::nullopt;
  }
  auto owned = std::move(*opened);
  auto& store = *owned;
  const auto end = now_ms();
  const bool pg = ledger.backend() == db::backend::postgresql;
  const auto per_transaction = pg ? pg_fill_batch : fill_batch;
  std::printf("preparing %s: %" PRId64 " pending sends over the 6 h before now (%s), transactions of %zu sends, "
              "%s\n", ledger.name().c_str(), n, zone_name.data(), per_transaction,
              pg ? "synchronous_commit off for the fill's session" : "synchronous=NORMAL");
  std::fflush(stdout);
  const auto start = steady::now();
  auto last_report = start;
  std::vector<send_request> batch;
  batch.reserve(per_transaction);
  for (std::int64_t i = 0; i < n;) {
    batch.clear();
    for (std::size_t k = 0; k < per_transaction && i < n; ++k, ++i)
      batch.push_back(fill_send(i, n, end, k));
    store.begin().value();
    auto out = store.register_sends(batch, {}, now_ms()).value();
    store.commit().value();
    if (out.accepted != batch.size()) {
      std::fprintf(stderr, "fill: batch ending at %" PRId64 ": %zu of %zu accepted%s%s\n", i, out.accepted,
                   batch.size(), out.rejected.empty() ? "" : "; first rejection: ",
                   out.rejected.empty() ? "" : out.rejected.front().detail.c_str());
      return std::nullopt;
    }
    if (seconds_since(last_report) >= 10 || i == n) {
      last_report = steady::now();
      const double s = seconds_since(start);
      std::printf("  %10" PRId64 " sends  %7.1f s  %8.0f sends/s\n", i, s, static_cast<double>(i) / s);
      std::fflush(stdout);
    }
  }
  const double s = seconds_since(start);
  owned.reset(); // closes the connection (SQLite: the last checkpoint moves the WAL into the file)
  prepared p;
  p.fill_sends = n;
  p.prepared_at = core::to_millis(end);
  p.twilio_sends = count_kind(kind::twilio, 0, n);
  p.email_sends = count_kind(kind::email, 0, n);
  std::printf("prepared: %" PRId64 " sends (%" PRId64 " Twilio, %" PRId64 " e-mail) in %.1f s: %.0f sends/s "
              "through register_sends; %.2f GB\n", n, p.twilio_sends, p.email_sends, s,
              static_cast<double>(n) / s, static_cast<double>(ledger.bytes()) / 1e9);
  std::fflush(stdout);
  settle(ledger);
  return p;
}

/// Why `ledger` (with its state `state`) cannot serve this run; "" when it can.
std::string unfit(const bench_ledger& ledger, const std::optional<prepared>& state, const prepare_needs& needs) {
  if (!ledger.exists())
    return "there is none";
  if (!state)
    return "it has no readable " + ledger.state_path();
  if (!ledger.has_table("sends"))
    return "it has no ledger";
  if (auto stale = ledger.stale_schema(); !stale.empty())
    return stale;
  if (state->fill_sends < needs.sends)
    return "it holds " + std::to_string(state->fill_sends) + " prepared sends, fewer than "
           + std::to_string(needs.sends);
  if (ledger.scalar("SELECT count(*) FROM sends") < state->fill_sends)
    return "it holds fewer sends than its preparation registered";
  if (now_ms() - core::from_millis(state->prepared_at) > reuse_for)
    return "it was prepared more than 12 h ago: its Twilio polls would come due";
  if (count_kind(kind::twilio, state->twilio_next, state->fill_sends)
      < twilio_sends_needed(needs.twilio_requests) * static_cast<std::int64_t>(needs.twilio_phases))
    return "its unused Twilio sends are fewer than this run needs";
  if (count_kind(kind::email, state->email_next, state->fill_sends)
      < static_cast<std::int64_t>(needs.email_batches * email_batch))
    return "its unused e-mail sends are fewer than this run needs";
  return {};
}

} // namespace

void write_state(const bench_ledger& ledger, const prepared& p) {
  std::ofstream out{ledger.state_path(), std::ios::trunc};
  out << "fill_sends " << p.fill_sends << "\nprepared_at " << p.prepared_at << "\ntwilio_next " << p.twilio_next
      << "\nemail_next " << p.email_next << "\ntwilio_sends " << p.twilio_sends << "\nemail_sends "
      << p.email_sends << "\n";
}

std::optional<prepared> prepare(const bench_ledger& ledger, const prepare_needs& needs) {
  auto state = read_state(ledger);
  const auto why = unfit(ledger, state, needs);
  if (why.empty()) {
    std::printf("ledger %s: %" PRId64 " prepared sends, reused (prepared %.1f h ago; unused from Twilio send "
                "#%" PRId64 " and e-mail send #%" PRId64 ")\n", ledger.name().c_str(), state->fill_sends,
                std::chrono::duration<double, std::ratio<3600>>(now_ms() - core::from_millis(state->prepared_at))
                  .count(),
                state->twilio_next, state->email_next);
    std::fflush(stdout);
    return state;
  }
  if (count_kind(kind::twilio, 0, needs.sends)
        < twilio_sends_needed(needs.twilio_requests) * static_cast<std::int64_t>(needs.twilio_phases)
      || count_kind(kind::email, 0, needs.sends) < static_cast<std::int64_t>(needs.email_batches * email_batch)) {
    std::fprintf(stderr, "--sends %" PRId64 " gives too few Twilio or e-mail sends for --requests / --batches\n",
                 needs.sends);
    return std::nullopt;
  }
  std::printf("ledger %s: preparing it (%s)\n", ledger.name().c_str(), why.c_str());
  std::fflush(stdout);
  ledger.remove();
  auto p = fill(ledger, needs.sends);
  if (!p)
    return std::nullopt;
  write_state(ledger, *p);
  return p;
}

} // namespace deliveryd::bench::ingest
