// ingest_bench: the ingest benchmark of issue 5, and its PostgreSQL comparison of issue 17.
//
// 1. Prepares a ledger once (reused while it is fresh and has unused sends): N sends registered through
//    db::ledger_writer::register_sends, the daemon's own write path, in transactions of 50k, all left pending
//    (no vendor events), with the deadlines and first polls the daemon's configuration gives them
//    (ingest_prepare.hpp).
// 2. Loads, over HTTP/1.1 keep-alive on loopback, with request bytes built in memory before each phase
//    (ingest_requests.hpp), from a one-thread epoll client (load_client.hpp):
//      1. a ceiling: an httplib server configured like deliveryd's webhooks listener that answers 200 at once,
//         with the Twilio requests of phase 2;
//      1b. a durable ceiling (issue 20): the same server appending each body to a file next to the ledger and
//         answering after a group fdatasync that covers it, with the same requests (ingest_ceiling.hpp);
//      2. deliveryd, signed Twilio status callbacks (sent, then a final status; 5 % exact duplicates);
//      3. deliveryd, signed SendGrid event batches of 100 events;
//      4. deliveryd, intake batches of 1000 new sends on the ops listener;
//      5. phases 1 and 1b again: the daemon's rates are compared with the mean of each ceiling's two runs, as
//         the machine's speed drifts during a run (ingest_tables.hpp, ceilings);
//    and samples the daemon's RSS during phases 2-4.
// 3. Stops the daemon and checks that everything it acknowledged (2xx) is in the ledger; prints every figure
//    next to its target.
// With --backend postgresql it then does the same on a PostgreSQL ledger of as many sends, in the benchmarks'
// kept cluster (bench_ledger.hpp), without the ceiling and SendGrid: phases 2 and 4 with one daemon, then again
// (on fresh sends) with two daemons on the same database, the load spread over both; and prints those figures
// beside the SQLite ones of the same run, with callbacks (PostgreSQL, one daemon) / callbacks (SQLite) against
// its target (>= 50 %).
//
// After each daemon phase the ledger's group-commit counters (GET /metrics) show where the time went.
//
// With --ceilings-only it measures the two ceilings and a third, without the daemon: the durable ceiling served by
// Boost.Beast on one Asio thread (ingest_event_loop.cpp), which parks no thread per request, without and with the
// daemon's check of each callback's signature.
//
//   ingest_bench [--ledger PATH] [--sends N] [--daemon PATH] [--port P] [--requests N] [--batches N]
//                [--intake-batches N] [--intake-without-ids] [--prepare-only] [--ceilings-only]
//                [--backend sqlite|postgresql] [--pg-dir DIR] [--pg-database NAME]

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <list>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <thread>
#include <vector>

#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench_ledger.hpp"
#include "bench_support.hpp"
#include "ingest_ceiling.hpp"
#include "ingest_prepare.hpp"
#include "ingest_requests.hpp"
#include "ingest_tables.hpp"
#include "load_client.hpp"

namespace {

using namespace std::chrono_literals;
using namespace deliveryd::bench::ingest;
using deliveryd::bench::bench_ledger;
using deliveryd::bench::fmt;
using deliveryd::bench::phase_result;
using deliveryd::bench::row;
using deliveryd::bench::rss_watch;
using deliveryd::bench::seconds_since;
using deliveryd::bench::steady;
namespace bench = deliveryd::bench;
namespace db = deliveryd::db;
namespace fs = std::filesystem;

constexpr int email_connections = 32;
constexpr int intake_connections = 4;

struct options {
  std::string ledger = "build/bench/ingest-ledger.db";
  std::int64_t sends = 5'000'000;
  std::string daemon = DELIVERYD_BINARY;
  /// The SQLite daemon's ops listener; its webhooks take port + 1, the ceiling server port + 2, the PostgreSQL
  /// daemon k (0, 1) port + 3 + 2k (ops) and port + 4 + 2k (webhooks), the durable ceiling server port + 7, and
  /// the event-loop one port + 8.
  int port = 18491;
  std::size_t requests = 400'000;
  std::size_t batches = 3'000;
  std::size_t intake_batches = 400;
  bool intake_ids = true; ///< intake sends carry their vendor message id (random, like Twilio's SIDs)
  bool prepare_only = false;
  bool ceilings_only = false; ///< --ceilings-only: the ceilings with the event-loop one, no daemon
  bool postgresql = false; ///< --backend postgresql: the PostgreSQL runs after the SQLite one
  std::string ab;          ///< --ab: another deliveryd build, run in turn with `daemon` (run_ab)
  std::size_t rounds = 3;  ///< --rounds: runs of each build with --ab
  std::string pg_dir = "build/bench/pg";
  std::string pg_database = "ingest";
};

// ---------------------------------------------------------------------------------------------------- daemon

/// One daemon of a run: its listeners and its name in a shared ledger.
struct daemon_spec {
  std::string tag; ///< names its configuration and log: ingest-bench<tag>.toml
  int ops_port = 0;
  int hooks_port = 0;
  std::string host_id;
};

/// Writes a daemon's configuration next to the SQLite ledger. Every daemon of a run answers at the same public
/// webhook address (that of the first), as daemons behind one load balancer do: Twilio signs that URL.
std::string write_config(const options& opt, const bench_ledger& ledger, const daemon_spec& d, int public_port) {
  const auto dir = fs::absolute(opt.ledger).parent_path();
  const auto path = (dir / ("ingest-bench" + d.tag + ".toml")).string();
  std::ofstream out{path};
  out << "# Generated by ingest_bench. Deadlines (72h) and first polls (Twilio 24h after requested_at, Kakao 24h\n"
      << "# after registration) are those the preparation gave the sends: nothing comes due during the bench.\n"
      << "[storage]\n" << ledger.storage_toml(d.host_id) << "retention_days = 365\n\n"
      << "[time]\nzone = \"" << zone_name << "\"\n\n"
      << "[intake]\ndefault_region = \"KR\"\n\n"
      << "[webhooks]\nlisten = \"127.0.0.1:" << d.hooks_port << "\"\npublic_url = \"http://127.0.0.1:" << public_port
      << "\"\nmax_body_bytes = 1048576\n\n"
      << "[ops]\nlisten = \"127.0.0.1:" << d.ops_port << "\"\n\n"
      << "[pricing]\ncurrency = \"KRW\"\nsms = 12\nlms = 39\nalimtalk = 8\nemail = 0\n\n"
      << "[twilio]\naccount_sid = \"" << account_sid << "\"\nauth_token = \"" << auth_token << "\"\n"
      << "api_base = \"http://127.0.0.1:9\"\npoll_after = \"24h\"\nprice_window = \"1ms\"\nuncertain_after = \"72h\"\n\n"
      << "[email]\nverification_key = \"" << read_text(DELIVERYD_EMAIL_PUBLIC_KEY) << "\"\nmax_skew = \"1h\"\n"
      << "uncertain_after = \"72h\"\n\n"
      << "[carrier]\ntoken = \"ingest-bench-carrier-token\"\nuncertain_after = \"72h\"\n\n"
      << "[kakao]\napi_base = \"http://127.0.0.1:9\"\nservice_id = \"ncp:kkobizmsg:kr:0000:bench\"\n"
      << "access_key = \"BENCHACCESS\"\nsecret_key = \"BENCHSECRET\"\npoll_interval = \"24h\"\n"
      << "recheck_window = \"72h\"\nuncertain_after = \"72h\"\n";
  return path;
}

// ---------------------------------------------------------------------------------------------------- ceiling

/// Phase 1: the ceiling server (this program, as a helper process) loaded with `requests`.
std::optional<phase_result> run_ceiling(const options& opt, const std::vector<std::string>& requests) {
  const auto dir = fs::absolute(opt.ledger).parent_path();
  const auto self = fs::read_symlink("/proc/self/exe").string();
  auto server = bench::start_process({self, "--ceiling-server", std::to_string(opt.port + 2)},
                                     (dir / "ingest-bench-ceiling.log").string(), opt.port + 2, "ceiling server");
  if (!server)
    return std::nullopt;
  auto ceiling = bench::run_phase("ceiling (httplib, Twilio)", {opt.port + 2}, requests, twilio_connections,
                                  {bench::process_account("server threads", server->pid)});
  server->stop();
  bench::print_phase(ceiling);
  return ceiling;
}

/// Phase 1b: the durable ceiling server (this program, as a helper process) loaded with `requests`. Its file is
/// next to the SQLite ledger, on the file system the daemon's ledger syncs to, and is removed afterwards.
/// The kinds of durable ceiling: httplib's (the bench's normal run), and Beast's on one Asio thread without and
/// with the daemon's signature check (--ceilings-only).
enum class durable_kind { httplib, event_loop, event_loop_signed };

std::optional<durable_ceiling> run_durable_ceiling(const options& opt, const std::vector<std::string>& requests,
                                                   durable_kind kind = durable_kind::httplib) {
  const auto dir = fs::absolute(opt.ledger).parent_path();
  const auto self = fs::read_symlink("/proc/self/exe").string();
  const bool event_loop = kind != durable_kind::httplib;
  const int port = opt.port + (event_loop ? 8 : 7);
  const std::string name = event_loop ? "event-loop-ceiling" : "durable-ceiling";
  const auto file = dir / ("ingest-bench-" + name + ".data");
  std::error_code ec;
  durable_ceiling d;
  {
    std::vector<std::string> command{self, "--" + name + "-server", std::to_string(port), file.string()};
    if (kind == durable_kind::event_loop_signed) // the address the requests were signed for (twilio_requests)
      command.push_back("http://127.0.0.1:" + std::to_string(opt.port + 1) + "/webhooks/twilio");
    auto server = bench::start_process(command, (dir / ("ingest-bench-" + name + ".log")).string(), port,
                                       event_loop ? "event-loop ceiling server" : "durable ceiling server");
    if (!server) {
      fs::remove(file, ec);
      return std::nullopt;
    }
    const char* what = kind == durable_kind::httplib ? "durable ceiling (httplib, append + group fdatasync, Twilio)"
                       : kind == durable_kind::event_loop
                         ? "durable ceiling, event loop (Beast, append + group fdatasync, Twilio)"
                         : "durable ceiling, event loop, signatures checked (Beast, Twilio)";
    d.phase = bench::run_phase(what, {port}, requests, twilio_connections,
                               {bench::process_account("server threads", server->pid)});
    httplib::Client client{"127.0.0.1", port};
    client.set_read_timeout(10s);
    if (auto res = client.Get("/stats"); res && res->status == 200) {
      const auto stats = nlohmann::json::parse(res->body);
      d.appends = stats.at("appends").get<std::uint64_t>();
      d.syncs = stats.at("syncs").get<std::uint64_t>();
      d.refused = stats.at("refused").get<std::uint64_t>();
    } else {
      std::printf("durable ceiling server: GET /stats failed; its fdatasync calls are unknown\n");
    }
    server->stop();
  }
  fs::remove(file, ec);
  bench::print_phase(d.phase);
  std::printf("  durable ceiling: %" PRIu64 " fdatasync calls, %.1f requests per sync, %" PRIu64 " refused (503)\n",
              d.syncs, d.per_sync(), d.refused);
  std::fflush(stdout);
  return d;
}

// ---------------------------------------------------------------------------------------------------- metrics

/// The ledgers' group-commit counters from the daemons' GET /metrics, summed.
struct ledger_metrics {
  double commits = 0;
  double jobs = 0;
  double commit_seconds = 0; ///< time inside the group transactions (BEGIN to COMMIT, fsync included)
  double applied_events = 0; ///< events the ledger applied from the ack log (issue 20; SQLite)
  double backlog_bytes = 0;  ///< acknowledged ack log bytes not applied yet
  double logged = 0;         ///< webhook requests the ack log acknowledged
  double syncs = 0;          ///< the ack log's group fdatasyncs
  double overloaded = 0;     ///< requests answered 503 overloaded
};

ledger_metrics read_ledger_metrics(const std::vector<int>& ops_ports) {
  ledger_metrics m;
  for (const int port : ops_ports) {
    httplib::Client client{"127.0.0.1", port};
    client.set_read_timeout(10s);
    auto res = client.Get("/metrics");
    if (!res || res->status != 200)
      continue;
    std::istringstream in{res->body};
    std::string line;
    auto add = [&](std::string_view name, double& out) {
      if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ')
        out += std::strtod(line.c_str() + name.size() + 1, nullptr);
    };
    while (std::getline(in, line)) {
      add("deliveryd_ledger_commits_total", m.commits);
      add("deliveryd_ledger_jobs_committed_total", m.jobs);
      add("deliveryd_ledger_commit_seconds_sum", m.commit_seconds);
      add("deliveryd_ack_log_applied_events_total", m.applied_events);
      add("deliveryd_ack_log_backlog_bytes", m.backlog_bytes);
      add("deliveryd_ack_log_records_total", m.logged);
      add("deliveryd_ack_log_syncs_total", m.syncs);
      add("deliveryd_overloaded_total", m.overloaded);
    }
  }
  return m;
}

/// What the ledger did during a phase: commits, mean jobs per commit, and the sum of the commits' times from
/// BEGIN until durable as a share of the phase. On SQLite the fdatasync of one group overlaps the next group's
/// transaction, so this can pass 100 %; near or above it, the one writer is the limit. With two daemons it is
/// the sum of both writers'.
ledger_busy ledger_during(const ledger_metrics& before, const ledger_metrics& after, const phase_result& r) {
  const double commits = after.commits - before.commits;
  const double jobs = after.jobs - before.jobs;
  const double busy = after.commit_seconds - before.commit_seconds;
  char text[256];
  std::snprintf(text, sizeof text, "%.0f commits, %.1f jobs/commit, %.2f ms/commit to durable, busy %.0f %% of the "
                "phase", commits, commits > 0 ? jobs / commits : 0, commits > 0 ? 1000 * busy / commits : 0,
                r.wall > 0 ? 100 * busy / r.wall : 0);
  return {text, r.wall > 0 ? 100 * busy / r.wall : 0};
}

/// Bytes written to the machine's disks so far (/proc/diskstats, whole disks only: a partition's writes are its
/// disk's too; loop and RAM devices left out). Everything on the machine counts, so it is read on a quiet one.
std::uint64_t disk_bytes_written() {
  std::ifstream stats{"/proc/diskstats"};
  std::uint64_t sectors = 0;
  std::string line;
  while (std::getline(stats, line)) {
    std::istringstream in{line};
    std::string major, minor, name;
    std::uint64_t field[7] = {};
    in >> major >> minor >> name;
    for (auto& f : field)
      in >> f;
    if (in && name.rfind("loop", 0) != 0 && name.rfind("ram", 0) != 0 && fs::exists("/sys/block/" + name))
      sectors += field[6]; // sectors written: the 10th field
  }
  return sectors * 512;
}

// ---------------------------------------------------------------------------------------------------- a run

/// Loads one phase on every daemon of `ports` and prints it with what the ledgers did.
phase_result load(const std::string& name, const std::vector<int>& ports, const std::vector<int>& ops_ports,
                  const std::vector<std::string>& requests, int connections,
                  const std::vector<bench::cpu_account>& accounts, ledger_busy& busy, const char* unit = "req",
                  double per_request = 1, const bench::on_answer& answer = {}) {
  const auto m0 = read_ledger_metrics(ops_ports);
  const auto disk0 = disk_bytes_written();
  // Every 10 s of a long phase: what the ack log acknowledged and what the ledger applied in those 10 s, and the
  // backlog between them (issue 20's sustained run: the applied rate, not only the acknowledged one).
  std::atomic<bool> loading{true};
  std::thread sampler{[&] {
    auto last = m0;
    auto last_at = steady::now();
    const auto start = last_at;
    while (loading) {
      for (int i = 0; i < 100 && loading; ++i)
        std::this_thread::sleep_for(100ms);
      if (!loading)
        return;
      const auto m = read_ledger_metrics(ops_ports);
      const double dt = seconds_since(last_at);
      last_at = steady::now();
      if (m.logged > 0 || m.applied_events > 0)
        std::printf("  %5.0f s: acknowledged %.0f req/s, applied %.0f events/s, backlog %.1f MB, %.0f refused "
                    "(503 overloaded) in all\n",
                    seconds_since(start), (m.logged - last.logged) / dt, (m.applied_events - last.applied_events) / dt,
                    m.backlog_bytes / 1e6, m.overloaded - m0.overloaded);
      std::fflush(stdout);
      last = m;
    }
  }};
  auto r = bench::run_phase(name, ports, requests, connections, accounts, answer);
  loading = false;
  sampler.join();
  const auto m1 = read_ledger_metrics(ops_ports);
  bench::print_phase(r, unit, per_request);
  busy = ledger_during(m0, m1, r);
  std::printf("  ledger: %s\n", busy.text.c_str());
  if (m1.applied_events > m0.applied_events || m1.backlog_bytes > 0) {
    // Acknowledged is not applied: the ledger applies the ack log behind the answers. Wait until it has caught
    // up, and give the rate at which it applied events over the phase and the catching up.
    const auto drain_start = steady::now();
    auto m = m1;
    while (m.backlog_bytes > 0 && seconds_since(drain_start) < 600) {
      std::this_thread::sleep_for(50ms);
      m = read_ledger_metrics(ops_ports);
    }
    const double drain = seconds_since(drain_start);
    const double applied = m.applied_events - m0.applied_events;
    std::printf("  ack log: %.1f MB acknowledged and not applied at the phase's end; applied in %.2f s more; "
                "%.0f events applied, %.0f events/s over the phase and the catching up\n",
                m1.backlog_bytes / 1e6, drain, applied, applied / (r.wall + drain));
    const double syncs = m1.syncs - m0.syncs;
    std::printf("  ack log: %.0f group fdatasyncs, %.1f requests per sync, %.0f syncs/s\n", syncs,
                syncs > 0 ? (m1.logged - m0.logged) / syncs : 0, r.wall > 0 ? syncs / r.wall : 0);
  }
  // What the disk took: the ledger's dirty pages (WAL and checkpoints), the ack log, the sync of each group. The
  // checkpoint of the phase's last pages may come after this line.
  const double written = static_cast<double>(disk_bytes_written() - disk0);
  const double items = static_cast<double>(r.ok) * per_request;
  std::string one{unit}; // "events" → "event"
  if (one.size() > 1 && one.back() == 's')
    one.pop_back();
  std::printf("  disk: %.0f MB written during the phase and the catching up, %.1f KiB per acknowledged %s\n",
              written / 1e6, items > 0 ? written / 1024 / items : 0, one.c_str());
  std::fflush(stdout);
  return r;
}

/// Checks that everything the daemons acknowledged (2xx) is in the ledger, read after they stopped: distinct
/// Twilio callbacks (a duplicate adds no row), SendGrid events, intake sends. Prints one line each.
bool check_stored(const bench_ledger& ledger, const run_result& r, const twilio_plan& tw, std::int64_t events_before,
                  std::int64_t sends_before) {
  const auto& intake = r.counts;
  std::int64_t stored_twilio = 0, stored_email = 0;
  for (const auto& v : ledger.query("SELECT vendor, count(*) FROM events WHERE id > " + std::to_string(events_before)
                                    + " AND source = 'webhook' GROUP BY vendor")) {
    if (v[0] == "twilio")
      stored_twilio = std::stoll(v[1]);
    else if (v[0] == "email")
      stored_email = std::stoll(v[1]);
    else
      std::printf("unexpected webhook events of vendor %s: %s\n", v[0].c_str(), v[1].c_str());
  }
  const auto stored_sends = ledger.scalar("SELECT count(*) FROM sends WHERE id > " + std::to_string(sends_before));
  // A callback is in the ledger when any of its copies was acknowledged.
  std::vector<std::uint8_t> callback_acked(tw.distinct, 0);
  std::size_t twilio_acked_requests = 0;
  for (std::size_t k = 0; k < tw.requests.size(); ++k)
    if (r.twilio.acked[k]) {
      callback_acked[tw.origin[k]] = 1;
      ++twilio_acked_requests;
    }
  const auto twilio_acked = static_cast<std::int64_t>(std::count(callback_acked.begin(), callback_acked.end(), 1));
  bool failed = false;
  std::printf("\ncheck of %s (events and sends written after the daemons started, read after they stopped):\n",
              ledger.name().c_str());
  auto check = [&](const char* what, std::int64_t acked, std::int64_t stored, const std::string& note) {
    const auto lost = acked - stored;
    std::printf("  %-8s acknowledged %" PRId64 ", stored %" PRId64 ", lost %" PRId64 "%s\n", what, acked, stored,
                lost, note.c_str());
    failed = failed || lost != 0;
  };
  check("twilio", twilio_acked, stored_twilio, " (distinct callbacks; " + std::to_string(twilio_acked_requests)
                                                 + " requests acknowledged, duplicates add no row)");
  if (r.with_email)
    check("email", static_cast<std::int64_t>(r.email.ok * email_batch), stored_email,
          " (events: acknowledged batches x 100)");
  check("intake", static_cast<std::int64_t>(intake.accepted), stored_sends, " (sum of \"accepted\")");
  for (const auto* p : {&r.twilio, &r.email, &r.intake})
    if (p->non2xx != 0 || p->unanswered != 0) {
      std::printf("  %s: %zu non-2xx, %zu unanswered\n", p->name.c_str(), p->non2xx, p->unanswered);
      failed = true;
    }
  if (intake.rejected != 0 || intake.duplicates != 0 || intake.updated != 0) {
    std::printf("  intake: %zu rejected, %zu duplicates, %zu updated (all should be new)\n", intake.rejected,
                intake.duplicates, intake.updated);
    failed = true;
  }
  std::fflush(stdout);
  return !failed;
}

/// Starts `specs`' daemons on `ledger`, loads Twilio (`tw`, for fresh sends from `state`), SendGrid (when
/// `with_email`) and intake on them, stops them and checks the ledger. `state` moves past the sends used.
std::optional<run_result> run_daemons(const options& opt, const bench_ledger& ledger, prepared& state,
                                      const std::vector<daemon_spec>& specs, const twilio_plan& tw, bool with_email,
                                      const std::string& suffix, pid_t postmaster) {
  run_result r;
  r.with_email = with_email;
  r.bytes_at_start = ledger.bytes();
  r.sends_at_start = ledger.scalar("SELECT count(*) FROM sends");
  std::printf("\nledger %s at start: %.2f GB, %" PRId64 " sends; %zu daemon%s\n", ledger.name().c_str(),
              static_cast<double>(r.bytes_at_start) / 1e9, r.sends_at_start, specs.size(),
              specs.size() == 1 ? "" : "s");
  std::fflush(stdout);
  const auto dir = fs::absolute(opt.ledger).parent_path();
  std::vector<bench::daemon_process> daemons;
  std::vector<int> ops_ports, hooks_ports;
  std::vector<bench::cpu_account> accounts;
  for (const auto& d : specs) {
    const auto config = write_config(opt, ledger, d, specs.front().hooks_port);
    auto daemon = bench::start_daemon(opt.daemon, config, (dir / ("ingest-bench" + d.tag + "-daemon.log")).string(),
                                      d.ops_port);
    if (!daemon)
      return std::nullopt;
    r.startup = std::max(r.startup, daemon->startup_seconds);
    r.rss_at_start = std::max(r.rss_at_start, bench::rss_kb(daemon->pid));
    accounts.push_back(bench::process_account(
      specs.size() == 1 ? "server threads" : "daemon " + std::to_string(daemons.size() + 1) + " threads",
      daemon->pid));
    daemons.push_back(std::move(*daemon));
    ops_ports.push_back(d.ops_port);
    hooks_ports.push_back(d.hooks_port);
  }
  if (postmaster > 0)
    accounts.push_back({"postgres processes", [postmaster] { return bench::postgres_cpu_by_role(postmaster); }});
  const auto events_before = ledger.scalar("SELECT coalesce(max(id), 0) FROM events");
  const auto sends_before = ledger.scalar("SELECT coalesce(max(id), 0) FROM sends");
  // The sends this run sends callbacks for are used up, whatever happens next.
  const auto email_from = state.email_next;
  state.twilio_next = tw.next_index;
  if (with_email)
    state.email_next = skip(kind::email, email_from, static_cast<std::int64_t>(opt.batches * email_batch),
                            state.fill_sends);
  write_state(ledger, state);

  // PostgreSQL's WAL position: what a phase wrote, all daemons and the server's own records together.
  const bool pg = ledger.backend() == db::backend::postgresql;
  auto wal_since = [&](std::int64_t from) {
    if (!pg)
      return std::int64_t{0};
    const auto bytes = ledger.scalar("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint") - from;
    if (from != 0)
      std::printf("  PostgreSQL WAL: %.1f MB\n", static_cast<double>(bytes) / 1e6);
    return bytes;
  };

  std::list<rss_watch> rss; // not movable: a list keeps each where it was made
  for (const auto& d : daemons)
    rss.emplace_back(d.pid);
  auto wal = wal_since(0);
  r.twilio = load("deliveryd Twilio" + suffix, hooks_ports, ops_ports, tw.requests, twilio_connections, accounts,
                  r.twilio_busy);
  r.twilio_wal = wal_since(wal);
  if (with_email) {
    const auto built = steady::now();
    const auto em = build_email(email_from, state.fill_sends, opt.batches, specs.front().hooks_port);
    std::printf("built %zu SendGrid batches of %zu events, %.0f MB, in %.1f s\n", em.requests.size(), email_batch,
                static_cast<double>(bytes_of(em.requests)) / 1e6, seconds_since(built));
    r.email = load("deliveryd SendGrid" + suffix, hooks_ports, ops_ports, em.requests, email_connections, accounts,
                   r.email_busy, "events", static_cast<double>(email_batch));
  }
  const auto built = steady::now();
  const auto in = build_intake(opt.intake_batches, specs.front().ops_port, opt.intake_ids);
  std::printf("built %zu intake batches of %zu sends, %.0f MB, in %.1f s\n", in.size(), intake_batch,
              static_cast<double>(bytes_of(in)) / 1e6, seconds_since(built));
  const bench::on_answer count = [&r](std::size_t k, int status, std::string_view body) { r.counts(k, status, body); };
  wal = wal_since(0);
  r.intake = load("deliveryd intake" + suffix, ops_ports, ops_ports, in, intake_connections, accounts, r.intake_busy,
                  "sends", static_cast<double>(intake_batch), count);
  r.intake_wal = wal_since(wal);
  std::printf("intake answers: accepted %zu, duplicates %zu, updated %zu, rejected %zu\n", r.counts.accepted,
              r.counts.duplicates, r.counts.updated, r.counts.rejected);
  for (auto& watch : rss) {
    watch.finish();
    r.rss_peak = std::max(r.rss_peak, watch.peak.load());
  }
  const auto stop_start = steady::now();
  for (auto& d : daemons)
    d.stop();
  std::printf("daemon%s stopped (SIGTERM) in %.1f s\n", daemons.size() == 1 ? "" : "s", seconds_since(stop_start));
  r.pending = ledger.scalar("SELECT count(*) FROM sends WHERE status = 'pending'"); // not pending_sends
  r.ok = check_stored(ledger, r, tw, events_before, sends_before);
  return r;
}

/// Builds the Twilio requests of a phase for fresh sends of `state`, signed for the webhook address `hooks_port`.
twilio_plan twilio_requests(const prepared& state, const options& opt, int hooks_port) {
  const auto built = steady::now();
  auto tw = build_twilio(state.twilio_next, state.fill_sends, opt.requests, hooks_port);
  std::printf("built %zu Twilio callbacks (%zu distinct for %zu sends, %zu exact duplicates), %.0f MB, in %.1f s\n",
              tw.requests.size(), tw.distinct, tw.sends, tw.duplicates,
              static_cast<double>(bytes_of(tw.requests)) / 1e6, seconds_since(built));
  std::fflush(stdout);
  return tw;
}

/// The PostgreSQL runs: one daemon, then two on the same database.
std::optional<std::pair<run_result, run_result>> run_postgresql(const options& opt, const bench_ledger& ledger,
                                                                prepared& state, pid_t postmaster) {
  std::vector<daemon_spec> specs;
  for (int k = 0; k < 2; ++k)
    specs.push_back({"-pg-" + std::to_string(k + 1), opt.port + 3 + 2 * k, opt.port + 4 + 2 * k,
                     "bench-" + std::to_string(k + 1)});
  std::optional<run_result> one, two;
  {
    const auto tw = twilio_requests(state, opt, specs[0].hooks_port);
    one = run_daemons(opt, ledger, state, {specs[0]}, tw, false, " (PostgreSQL, 1 daemon)", postmaster);
  }
  if (!one)
    return std::nullopt;
  {
    const auto tw = twilio_requests(state, opt, specs[0].hooks_port);
    two = run_daemons(opt, ledger, state, specs, tw, false, " (PostgreSQL, 2 daemons)", postmaster);
  }
  if (!two)
    return std::nullopt;
  return std::pair{std::move(*one), std::move(*two)};
}

/// --ab: the two builds in turn on the same ledger, `rounds` runs of each, in the order A B, B A, A B, ... (a drift
/// of the host's speed over the runs then favours neither), without the ceilings. On this shared host one build's
/// rates differ by a quarter from one run to the next, so a change is judged by the medians of several runs
/// against the other build's, taken minutes apart on the same ledger.
int run_ab(const options& opt) {
  const bench_ledger sqlite{opt.ledger};
  const auto runs = 2 * opt.rounds;
  auto state = prepare(sqlite, {opt.sends, opt.requests, runs, opt.batches * runs});
  if (!state)
    return 2;
  std::vector<run_result> results[2];
  const std::string binaries[2] = {opt.daemon, opt.ab};
  bool ok = true;
  for (std::size_t round = 0; round < opt.rounds; ++round)
    for (std::size_t turn = 0; turn < 2; ++turn) {
      const std::size_t k = round % 2 == 0 ? turn : 1 - turn;
      options o = opt;
      o.daemon = binaries[k];
      std::printf("\n%s, round %zu of %zu: %s\n", k == 0 ? "A" : "B", round + 1, opt.rounds, o.daemon.c_str());
      const auto tw = twilio_requests(*state, o, o.port + 1);
      auto r = run_daemons(o, sqlite, *state, {{"", o.port, o.port + 1, ""}}, tw, true, k == 0 ? " (A)" : " (B)", 0);
      if (!r)
        return 2;
      ok = ok && r->ok;
      results[k].push_back(std::move(*r));
    }
  print_ab_table(results[0], results[1]);
  return ok ? 0 : 2;
}

/// --ceilings-only: the plain and durable ceilings and the event-loop durable ceiling, without and with the daemon's
/// signature check, twice (in that order, then back), without the daemon: what a webhook listener that parks no
/// thread per request could reach against the ceilings the daemon is measured by.
int run_ceilings_only(const options& opt, const prepared& state) {
  const auto tw = twilio_requests(state, opt, opt.port + 1);
  std::array<double, 2> plain{}, durable{}, loop{}, checked{};
  for (int k = 0; k < 2; ++k) {
    auto p = [&] {
      auto r = run_ceiling(opt, tw.requests);
      return r ? (plain[k] = r->rate(), true) : false;
    };
    auto durable_of = [&](durable_kind kind, std::array<double, 2>& into) {
      auto r = run_durable_ceiling(opt, tw.requests, kind);
      if (!r)
        return false;
      // A signature the check refuses is answered 403: the rate would not be that of checked callbacks.
      if (kind == durable_kind::event_loop_signed && (r->phase.non2xx > 0 || r->phase.unanswered > 0)) {
        std::printf("the event-loop ceiling refused %zu signed callbacks (403) and left %zu unanswered\n",
                    r->phase.non2xx, r->phase.unanswered);
        return false;
      }
      into[k] = r->phase.rate();
      return true;
    };
    auto d = [&] { return durable_of(durable_kind::httplib, durable); };
    auto e = [&] { return durable_of(durable_kind::event_loop, loop); };
    auto s = [&] { return durable_of(durable_kind::event_loop_signed, checked); };
    if (!(k == 0 ? p() && d() && e() && s() : s() && e() && d() && p()))
      return 2;
  }
  const double p = (plain[0] + plain[1]) / 2, d = (durable[0] + durable[1]) / 2, e = (loop[0] + loop[1]) / 2;
  const double c = (checked[0] + checked[1]) / 2;
  std::printf("\nceilings, %zu Twilio callbacks, %d connections (first / second run, mean):\n", tw.requests.size(),
              twilio_connections);
  std::printf("  plain (httplib)                %8.0f / %8.0f, mean %8.0f req/s\n", plain[0], plain[1], p);
  std::printf("  durable (httplib)              %8.0f / %8.0f, mean %8.0f req/s, %.2f x plain\n", durable[0],
              durable[1], d, d / p);
  std::printf("  durable, event loop (Beast)    %8.0f / %8.0f, mean %8.0f req/s, %.2f x plain, %.2f x durable\n",
              loop[0], loop[1], e, e / p, e / d);
  std::printf("  the same, signatures checked   %8.0f / %8.0f, mean %8.0f req/s, %.2f x plain, %.2f x durable\n",
              checked[0], checked[1], c, c / p, c / d);
  return 0;
}

int run(const options& opt) {
  if (!opt.ab.empty())
    return run_ab(opt);
  const bench_ledger sqlite{opt.ledger};
  auto state = prepare(sqlite, {opt.sends, opt.requests, 1, opt.batches});
  if (!state)
    return 2;
  std::unique_ptr<deliveryd::testing::postgres_cluster> cluster;
  std::optional<bench_ledger> pg;
  std::optional<prepared> pg_state;
  if (opt.postgresql) {
    cluster = bench::start_bench_cluster(opt.pg_dir);
    pg.emplace(*cluster, opt.pg_database);
    pg_state = prepare(*pg, {opt.sends, opt.requests, 2, 0});
    if (!pg_state)
      return 2;
  }
  if (opt.prepare_only)
    return 0;
  if (opt.ceilings_only)
    return run_ceilings_only(opt, *state);

  std::optional<run_result> on_sqlite;
  ceilings bounds;
  {
    const auto tw = twilio_requests(*state, opt, opt.port + 1);
    // Both ceilings before the daemon and again after it (ceilings): the same requests, the same cores.
    auto measure_ceilings = [&](int k) {
      auto plain = run_ceiling(opt, tw.requests);
      auto durable = plain ? run_durable_ceiling(opt, tw.requests) : std::nullopt;
      if (!durable)
        return false;
      bounds.plain[k] = std::move(*plain);
      bounds.durable[k] = std::move(*durable);
      return true;
    };
    if (!measure_ceilings(0))
      return 2;
    on_sqlite = run_daemons(opt, sqlite, *state, {{"", opt.port, opt.port + 1, ""}}, tw, true, "", 0);
    if (!on_sqlite)
      return 2;
    std::printf("\nthe ceilings again, after the daemon:\n");
    if (!measure_ceilings(1))
      return 2;
  }
  bool ok = on_sqlite->ok;
  bool all_pass = print_sqlite_table(opt.ledger, bounds, *on_sqlite);
  if (opt.postgresql) {
    auto runs = run_postgresql(opt, *pg, *pg_state, cluster->server_pid());
    if (!runs)
      return 2;
    ok = ok && runs->first.ok && runs->second.ok;
    std::printf("\nPostgreSQL: %s\n", bench::cluster_settings_text(*cluster).c_str());
    all_pass = print_comparison(*on_sqlite, runs->first, runs->second) && all_pass;
  }
  return !ok ? 2 : all_pass ? 0 : 1;
}

void usage() {
  std::fputs(
    "usage: ingest_bench [--ledger PATH] [--sends N] [--daemon PATH] [--port P] [--requests N] [--batches N]\n"
    "                    [--intake-batches N] [--intake-without-ids] [--prepare-only] [--ceilings-only]\n"
    "                    [--backend sqlite|postgresql] [--pg-dir DIR] [--pg-database NAME]\n"
    "                    [--ab PATH [--rounds N]]\n"
    "  --ledger PATH         the SQLite bench ledger (default build/bench/ingest-ledger.db); prepared once and\n"
    "                        reused while it holds N prepared sends, is younger than 12 h and has unused sends left\n"
    "  --sends N             sends to prepare (default 5000000), in each ledger\n"
    "  --daemon PATH         the deliveryd binary (default the one built with this bench)\n"
    "  --port P              ops listener port on 127.0.0.1 (default 18491); webhooks take P+1, the ceiling P+2,\n"
    "                        the PostgreSQL daemons P+3..P+6, the durable ceiling P+7\n"
    "  --requests N          Twilio callbacks of the ceilings and each Twilio phase (default 400000)\n"
    "  --batches N           SendGrid batches of 100 events (default 3000)\n"
    "  --intake-batches N    intake batches of 1000 sends (default 400)\n"
    "  --intake-without-ids  intake sends without vendor message ids (registered before the vendor call)\n"
    "  --prepare-only        prepare the ledgers and stop\n"
    "  --ceilings-only       the plain and durable ceilings and the event-loop durable ceiling (Beast), without\n"
    "                        and with signature checks, twice each, without the daemon\n"
    "  --backend postgresql  after the SQLite run, the Twilio and intake phases on a PostgreSQL ledger of N sends\n"
    "                        with 1 daemon, then 2 daemons, printed beside the SQLite figures\n"
    "  --pg-dir DIR          the benchmarks' kept PostgreSQL cluster (default build/bench/pg)\n"
    "  --pg-database NAME    its database for this bench (default ingest); prepared and reused as the SQLite one\n"
    "  --ab PATH             A/B: --daemon (A) and this other deliveryd build (B) in turn on the same ledger,\n"
    "                        --rounds N runs of each (default 3) in the order A B, B A, ...; no ceilings; prints\n"
    "                        each run's rates, the medians and B / A\n",
    stderr);
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  deliveryd::bench::arguments args{argc, argv, usage};
  while (const auto next = args.next()) {
    const auto arg = *next;
    auto value = [&] { return args.value(); };
    if (arg == "--ceiling-server")
      return ceiling_server(std::stoi(value())); // the bench's own helper process (phase 1)
    if (arg == "--durable-ceiling-server") {
      const int port = std::stoi(value());
      return durable_ceiling_server(port, value()); // the bench's own helper process (phase 1b)
    }
    if (arg == "--event-loop-ceiling-server") {
      const int port = std::stoi(value());
      const auto path = value();
      // The bench's own helper process (--ceilings-only); a third argument is the URL the callbacks were signed for.
      const auto signed_url = args.next();
      return event_loop_ceiling_server(port, path, signed_url ? std::string{*signed_url} : std::string{});
    }
    if (arg == "--ledger") opt.ledger = value();
    else if (arg == "--sends") opt.sends = std::stoll(value());
    else if (arg == "--daemon") opt.daemon = value();
    else if (arg == "--port") opt.port = std::stoi(value());
    else if (arg == "--requests") opt.requests = std::stoull(value());
    else if (arg == "--batches") opt.batches = std::stoull(value());
    else if (arg == "--intake-batches") opt.intake_batches = std::stoull(value());
    else if (arg == "--intake-without-ids") opt.intake_ids = false;
    else if (arg == "--prepare-only") opt.prepare_only = true;
    else if (arg == "--ceilings-only") opt.ceilings_only = true;
    else if (arg == "--backend") {
      const auto b = value();
      if (b != "sqlite" && b != "postgresql") {
        usage();
        return 2;
      }
      opt.postgresql = b == "postgresql";
    } else if (arg == "--pg-dir") opt.pg_dir = value();
    else if (arg == "--pg-database") opt.pg_database = value();
    else if (arg == "--ab") opt.ab = value();
    else if (arg == "--rounds") opt.rounds = std::stoull(value());
    else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  if (opt.sends <= 0 || opt.requests < 1000 || opt.batches == 0 || opt.intake_batches == 0 || opt.rounds == 0
      || (!opt.ab.empty() && opt.postgresql)) {
    usage();
    return 2;
  }
  try {
    return run(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ingest_bench: %s\n", e.what());
    return 2;
  }
}
