// report_bench: the reporting benchmark of issue 4.
//
// 1. Fills a ledger (once; reused when it already holds enough sends) through db::ledger_writer::register_sends
//    and apply_events, the daemon's own write path with its per-day roll-ups, in transactions of 50k sends.
// 2. Starts the built daemon on that ledger with a generated configuration (loopback ports, queries only).
// 3. Measures over HTTP keep-alive on loopback: month summary, sources and day page latency, JSONL and XLSX
//    export rows/s, and the daemon's RSS during each export; prints every figure next to its target.
//
// With --backend postgresql the ledger is a database of the benchmarks' kept PostgreSQL 15 cluster (bench_ledger.hpp)
// instead, filled the same way (in transactions of 5,000 sends) and measured the same way (issue 17).
//
//   report_bench [--ledger PATH] [--sends N] [--daemon PATH] [--port P] [--seed S] [--fill-only]
//                [--backend sqlite|postgresql] [--pg-dir DIR] [--pg-database NAME]

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench_ledger.hpp"
#include "bench_support.hpp"
#include "core/reconcile.hpp"
#include "core/time.hpp"
#include "db/ledger.hpp"

namespace {

using namespace std::chrono_literals;
using deliveryd::adapters::intake::send_request;
using deliveryd::bench::bench_ledger;
using deliveryd::bench::daemon_process;
using deliveryd::bench::fmt;
using deliveryd::bench::percentile;
using deliveryd::bench::row;
using deliveryd::bench::rss_watch;
using deliveryd::bench::seconds_since;
using deliveryd::bench::steady;
namespace bench = deliveryd::bench;
namespace core = deliveryd::core;
namespace db = deliveryd::db;
namespace fs = std::filesystem;

constexpr std::string_view zone_name = "Asia/Seoul";
constexpr std::size_t batch_size = 50'000;
/// PostgreSQL's: each send with a vendor message id holds an advisory lock until its transaction commits, and the
/// server's lock table has room for 64 x max_connections locks (6,400 by default) in all.
constexpr std::size_t pg_batch_size = 5'000;
constexpr int span_days = 360;
/// Campaigns and one-time messages as a company sending 10M messages a year has them: every 3 days 5 new
/// campaigns, every day 10 new one-time messages (about 50 and 300 a month, 600 and 3,600 in the ledger).
constexpr int campaign_days = 3;
constexpr int campaigns_per_window = 5;
constexpr int one_times_per_day = 10;
/// The version of the generator below, kept in the ledger's meta table: a ledger filled by another version (of
/// other sources, say) is not reused.
constexpr std::string_view generator_version = "2";

struct options {
  std::string ledger = "build/bench/report-ledger.db";
  std::int64_t sends = 10'000'000;
  std::string daemon = DELIVERYD_BINARY;
  int port = 18481; ///< ops listener; the webhook listener takes port + 1
  std::uint64_t seed = 4;
  bool fill_only = false;
  bool postgresql = false; ///< --backend postgresql
  std::string pg_dir = "build/bench/pg";
  std::string pg_database = "report";
};

// ---------------------------------------------------------------------------------------------------- fill

/// The deterministic send number `i` of `n`, requested in order over the `span_days` days before `end`.
struct generator {
  std::int64_t n;
  core::timestamp end;
  std::mt19937_64 rng;

  core::timestamp requested_at(std::int64_t i) {
    const auto span = std::chrono::milliseconds{std::chrono::days{span_days}}.count();
    const auto base = end.time_since_epoch().count() - span + span * i / n;
    std::uniform_int_distribution<std::int64_t> jitter(0, 60'000); // within a minute, mostly in order
    return core::from_millis(base + jitter(rng));
  }

  int pick(int below) { return std::uniform_int_distribution<int>(0, below - 1)(rng); }

  send_request make(std::int64_t i, std::size_t index) {
    send_request s;
    char id[32];
    std::snprintf(id, sizeof id, "b-%010" PRId64, i);
    s.send_id = id;
    s.index = index;
    s.requested_at = requested_at(i);
    const int t = pick(100);
    const auto day = span_days * i / n; // the day of the span this send falls on
    if (t < 35) {
      s.type = core::send_type::campaign;
      const auto c = day / campaign_days * campaigns_per_window + pick(campaigns_per_window) + 1;
      s.source_id = "cmp-" + std::to_string(c);
      s.source_name = "Campaign " + std::to_string(c);
    } else if (t < 50) {
      s.type = core::send_type::one_time;
      const auto o = day * one_times_per_day + pick(one_times_per_day) + 1;
      s.source_id = "ot-" + std::to_string(o);
      s.source_name = "One-time message " + std::to_string(o);
    } else if (t < 80) {
      s.type = core::send_type::follow_up;
    } else {
      s.type = core::send_type::workflow;
    }
    const int m = pick(100);
    s.medium = m < 40 ? core::medium::sms : m < 55 ? core::medium::lms : m < 85 ? core::medium::alimtalk
                                                                              : core::medium::email;
    if (s.medium == core::medium::email) {
      s.contact = "user" + std::to_string(pick(1'000'000)) + "@example.com";
    } else {
      char phone[24];
      std::snprintf(phone, sizeof phone, "+8210%08d", pick(100'000'000));
      s.contact = phone;
    }
    if (pick(100) < 10) { // excluded before sending: no vendor
      static constexpr int codes[] = {10000, 10001, 10002, 10004, 10006, 10007, 10008, 10999, 11001, 11999};
      s.excluded = codes[pick(static_cast<int>(std::size(codes)))];
      return s;
    }
    switch (s.medium) {
    case core::medium::sms:
    case core::medium::lms: s.vendor = pick(2) == 0 ? core::vendor::twilio : core::vendor::carrier; break;
    case core::medium::alimtalk: s.vendor = core::vendor::kakao; break;
    case core::medium::email: s.vendor = core::vendor::email; break;
    }
    s.vendor_message_id = "m-" + std::to_string(i);
    return s;
  }

  /// A delivered (85 %) or failed vendor event for `s`, which has a vendor.
  db::vendor_event event_for(const send_request& s) {
    db::vendor_event v;
    v.vendor = *s.vendor;
    v.vendor_message_id = *s.vendor_message_id;
    const bool ok = pick(100) < 85;
    auto& e = v.event;
    e.source = core::event_source::webhook;
    e.outcome = ok ? core::status::sent : core::status::failed;
    e.vendor_time = s.requested_at + std::chrono::milliseconds{2'000 + pick(30'000)};
    e.dedupe_key = "d-" + v.vendor_message_id;
    const std::string vendor{core::to_string(v.vendor)};
    if (ok) {
      e.vendor_status = "delivered";
    } else {
      static constexpr std::pair<const char*, core::category> failures[] = {
        {"30003", core::category::unreachable},     {"30005", core::category::invalid_recipient},
        {"30007", core::category::blocked},         {"30008", core::category::unknown},
        {"21610", core::category::opted_out},       {"30034", core::category::sender_config},
      };
      const auto& [code, cat] = failures[pick(static_cast<int>(std::size(failures)))];
      e.vendor_status = "undelivered";
      e.vendor_code = code;
      e.code = vendor + ":" + code;
      e.cat = cat;
      e.reason = core::reason_for(e.outcome, e.code, "", cat);
    }
    v.received_at = e.vendor_time + 500ms;
    v.raw = R"({"id":")" + v.vendor_message_id + R"(","status":")" + e.vendor_status + R"("})";
    return v;
  }
};

std::int64_t sends_in(const bench_ledger& ledger) {
  if (!ledger.exists() || !ledger.has_table("sends"))
    return 0;
  return ledger.scalar("SELECT count(*) FROM sends");
}

/// The generator version a ledger was filled by ("" when none is recorded: an older bench filled it).
std::string generator_of(const bench_ledger& ledger) {
  if (!ledger.has_table(ledger.meta_table()))
    return {};
  const auto rows = ledger.query("SELECT value FROM " + ledger.meta_table() + " WHERE key = 'report_bench_generator'");
  return rows.empty() ? std::string{} : rows[0][0];
}

/// How to remove a ledger by hand.
std::string removal_hint(const bench_ledger& ledger, const options& opt) {
  return ledger.backend() == db::backend::postgresql ? "run with --pg-database of another name, or DROP DATABASE "
                                                         + opt.pg_database
                                                     : "rm " + opt.ledger + "*";
}

/// Fills the ledger up to `n` sends; returns false when the ledger could not be opened.
bool fill(const options& opt, const bench_ledger& ledger) {
  const auto have = sends_in(ledger);
  if (have > 0 && generator_of(ledger) != generator_version) {
    std::printf("ledger %s was filled by an earlier report_bench (other campaigns and one-time messages): remove it "
                "first (%s)\n", ledger.name().c_str(), removal_hint(ledger, opt).c_str());
    return false;
  }
  if (have >= opt.sends) {
    std::printf("ledger %s: %" PRId64 " sends already, reused\n", ledger.name().c_str(), have);
    return true;
  }
  if (have > 0) {
    std::printf("ledger %s holds %" PRId64 " of %" PRId64 " sends from a different run: remove it first (%s)\n",
                ledger.name().c_str(), have, opt.sends, removal_hint(ledger, opt).c_str());
    return false;
  }
  ledger.create();
  auto so = ledger.options();
  // The fill is not what is measured, and a bench ledger need not survive power loss: SQLite commits it with
  // synchronous=NORMAL, PostgreSQL with synchronous_commit off for the fill's session only (the server keeps
  // fsync on; the daemon commits with synchronous_commit on).
  so.sync = db::durability::none;
  so.zone = std::string{zone_name};
  const bool pg = ledger.backend() == db::backend::postgresql;
  const auto per_transaction = pg ? pg_batch_size : batch_size;
  // No deadlines and no polls: pending sends stay pending, so the daemon writes nothing while it is measured.
  auto opened = db::open_writer(so);
  if (!opened) {
    std::fprintf(stderr, "open %s: %s\n", ledger.name().c_str(), opened.error().message.c_str());
    return false;
  }
  auto& store = **opened;
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  generator gen{opt.sends, now - std::chrono::hours{1}, std::mt19937_64{opt.seed}};
  std::printf("filling %s with %" PRId64 " sends over %d days (%s), transactions of %zu sends, %s\n",
              ledger.name().c_str(), opt.sends, span_days, zone_name.data(), per_transaction,
              pg ? "synchronous_commit off for the fill's session" : "synchronous=NORMAL");
  std::fflush(stdout);
  const auto start = steady::now();
  auto last_report = start;
  std::int64_t events = 0;
  std::vector<send_request> batch;
  std::vector<db::vendor_event> evs;
  for (std::int64_t i = 0; i < opt.sends;) {
    batch.clear();
    evs.clear();
    for (std::size_t k = 0; k < per_transaction && i < opt.sends; ++k, ++i) {
      batch.push_back(gen.make(i, k));
      // ~60 % of all sends get a vendor result: two thirds of the 90 % that have a vendor.
      if (batch.back().vendor && gen.pick(3) < 2)
        evs.push_back(gen.event_for(batch.back()));
    }
    store.begin().value();
    auto out = store.register_sends(batch, {}, now).value();
    auto applied = store.apply_events(evs, now).value();
    store.commit().value();
    if (out.accepted != batch.size() || applied.applied != evs.size()) {
      std::fprintf(stderr, "fill: batch ending at %" PRId64 ": %zu of %zu accepted, %zu of %zu events applied\n",
                   i, out.accepted, batch.size(), applied.applied, evs.size());
      return false;
    }
    events += static_cast<std::int64_t>(evs.size());
    if (seconds_since(last_report) >= 10 || i == opt.sends) {
      last_report = steady::now();
      const double s = seconds_since(start);
      std::printf("  %10" PRId64 " sends, %9" PRId64 " events  %7.1f s  %8.0f sends/s\n", i, events, s,
                  static_cast<double>(i) / s);
      std::fflush(stdout);
    }
  }
  opened->reset(); // closes the connection (SQLite: the last checkpoint moves the WAL into the file)
  ledger.execute("INSERT INTO " + ledger.meta_table() + " (key, value) VALUES ('report_bench_generator', '"
                 + std::string{generator_version} + "') ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  const double s = seconds_since(start);
  std::printf("filled: %" PRId64 " sends and %" PRId64 " vendor events in %.1f s (%.0f sends/s), %.2f GB\n",
              opt.sends, events, s, static_cast<double>(opt.sends) / s, static_cast<double>(ledger.bytes()) / 1e9);
  std::fflush(stdout);
  if (pg) {
    // What autovacuum would otherwise do while the daemon is measured: the planner's statistics, the visibility
    // map; and the fill's dirty pages written.
    const auto settle = steady::now();
    ledger.execute("VACUUM (ANALYZE)");
    ledger.execute("CHECKPOINT");
    std::printf("settled: VACUUM (ANALYZE) and CHECKPOINT in %.1f s\n", seconds_since(settle));
    std::fflush(stdout);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------- daemon

std::string write_config(const options& opt, const bench_ledger& ledger) {
  const auto dir = fs::path{opt.ledger}.parent_path();
  const auto path = (dir / "report-bench.toml").string();
  std::ofstream out{path};
  out << "# Generated by report_bench: queries only.\n"
      << "[storage]\n" << ledger.storage_toml("report-bench") << "retention_days = 365\n\n"
      << "[time]\nzone = \"" << zone_name << "\"\n\n"
      << "[webhooks]\nlisten = \"127.0.0.1:" << opt.port + 1 << "\"\npublic_url = \"http://127.0.0.1:"
      << opt.port + 1 << "\"\n\n"
      << "[ops]\nlisten = \"127.0.0.1:" << opt.port << "\"\n\n"
      << "[pricing]\ncurrency = \"KRW\"\nsms = 12\nlms = 39\nalimtalk = 8\nemail = 0\n\n"
      // A vendor section so that the daemon has one; nothing polls (the fill set no poll times).
      << "[twilio]\naccount_sid = \"AC00000000000000000000000000000000\"\nauth_token = \"bench\"\n"
      << "api_base = \"http://127.0.0.1:9\"\n";
  return path;
}

std::optional<daemon_process> start_daemon(const options& opt, const std::string& config) {
  const auto log = (fs::path{opt.ledger}.parent_path() / "report-bench-daemon.log").string();
  return bench::start_daemon(opt.daemon, config, log, opt.port);
}

// ---------------------------------------------------------------------------------------------------- measures

struct timed {
  double ms = 0;
  httplib::Result res;
};

timed get(httplib::Client& client, const std::string& path) {
  const auto start = steady::now();
  auto res = client.Get(path);
  return {seconds_since(start) * 1000.0, std::move(res)};
}

std::string month_text(core::day_number day) {
  return core::format_day(day).substr(0, 7); // "YYYY-MM-DD" -> "YYYY-MM"
}

int measure(const options& opt, const bench_ledger& ledger, pid_t pid) {
  const auto z = *core::zone::locate(zone_name);
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  // Days with sends: the fill spread them over the 360 days before it ran; keep to the 355 days before now so
  // that a later rerun on the same ledger still finds data and stays inside retention.
  std::vector<core::day_number> days;
  for (int back = 1; back <= 355; ++back)
    days.push_back(z.day_of(now - std::chrono::days{back}));
  std::vector<std::string> months;
  for (auto d : days)
    if (months.empty() || months.back() != month_text(d))
      months.push_back(month_text(d));
  std::reverse(months.begin(), months.end()); // oldest first; months.front() may be partly outside retention
  std::mt19937_64 rng{opt.seed + 1};
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };

  httplib::Client client{"127.0.0.1", opt.port};
  client.set_keep_alive(true);
  client.set_read_timeout(600s);
  std::vector<row> table;
  bool failed = false;
  auto check = [&](const timed& t, const std::string& what) {
    if (!t.res || t.res->status != 200) {
      std::fprintf(stderr, "%s: %s\n", what.c_str(),
                   t.res ? (std::to_string(t.res->status) + " " + t.res->body).c_str() : "no answer");
      failed = true;
      return false;
    }
    return true;
  };

  // The month's campaigns and one-time messages (the console's chooser): 200 requests over the months.
  std::map<std::string, std::vector<std::string>> month_campaigns;
  {
    std::vector<double> ms;
    std::size_t listed = 0;
    for (int k = 0; k < 200; ++k) {
      const auto& m = months[1 + pick(months.size() - 1)];
      const std::string path = "/v1/log/sources?month=" + m;
      auto t = get(client, path);
      if (!check(t, path))
        continue;
      ms.push_back(t.ms);
      const auto body = nlohmann::json::parse(t.res->body);
      listed = std::max(listed, body["sources"].size());
      auto& ids = month_campaigns[m];
      ids.clear();
      for (const auto& s : body["sources"])
        if (s["type"] == "campaign")
          ids.push_back(s["source_id"].get<std::string>());
    }
    table.push_back({"sources p50 (up to " + std::to_string(listed) + " a month)", fmt("%.2f ms", percentile(ms, 50)),
                     "", {}});
    table.push_back({"sources p99", fmt("%.2f ms", percentile(ms, 99)), "<= 50 ms", percentile(ms, 99) <= 50});
  }

  // Month summaries: 50 unfiltered, 50 with campaign= (a campaign of that month, as the chooser lists them).
  const auto summaries = [&](bool filtered) {
    std::vector<double> ms;
    for (int k = 0; k < 50; ++k) {
      const auto& m = months[1 + pick(months.size() - 1)];
      std::string path = "/v1/log/summary?month=" + m;
      if (filtered) {
        if (month_campaigns[m].empty())
          continue;
        path += "&campaign=" + month_campaigns[m][pick(month_campaigns[m].size())];
      }
      auto t = get(client, path);
      if (check(t, path))
        ms.push_back(t.ms);
    }
    return ms;
  };
  const auto all = summaries(false);
  const auto by_campaign = summaries(true);
  std::vector<double> both = all;
  both.insert(both.end(), by_campaign.begin(), by_campaign.end());
  table.push_back({"summary p50 (all)", fmt("%.2f ms", percentile(all, 50)), "", {}});
  table.push_back({"summary p99 (all)", fmt("%.2f ms", percentile(all, 99)), "<= 50 ms", percentile(all, 99) <= 50});
  table.push_back({"summary p50 (campaign=)", fmt("%.2f ms", percentile(by_campaign, 50)), "", {}});
  table.push_back({"summary p99 (campaign=)", fmt("%.2f ms", percentile(by_campaign, 99)), "<= 50 ms",
                   percentile(by_campaign, 99) <= 50});

  // Day pages: 200 random days, first page and 5 more following next_cursor, limit 100.
  std::vector<double> first, later;
  std::size_t page_rows = 0;
  for (int k = 0; k < 200; ++k) {
    const auto day = core::format_day(days[pick(days.size())]);
    std::string cursor;
    for (int page = 0; page < 6; ++page) {
      std::string path = "/v1/log/day/" + day + "?limit=100";
      if (!cursor.empty())
        path += "&cursor=" + httplib::detail::encode_query_param(cursor);
      auto t = get(client, path);
      if (!check(t, path))
        break;
      (page == 0 ? first : later).push_back(t.ms);
      auto body = nlohmann::json::parse(t.res->body);
      page_rows += body["rows"].size();
      if (body["next_cursor"].is_null())
        break;
      cursor = body["next_cursor"].get<std::string>();
    }
  }
  std::vector<double> pages = first;
  pages.insert(pages.end(), later.begin(), later.end());
  table.push_back({"day page p50 (" + std::to_string(pages.size()) + " pages)", fmt("%.2f ms", percentile(pages, 50)),
                   "", {}});
  table.push_back({"day page p99 (all pages)", fmt("%.2f ms", percentile(pages, 99)), "<= 10 ms",
                   percentile(pages, 99) <= 10});
  table.push_back({"day page p99 (first pages)", fmt("%.2f ms", percentile(first, 99)), "<= 10 ms",
                   percentile(first, 99) <= 10});
  table.push_back({"day page p99 (cursor pages)", fmt("%.2f ms", percentile(later, 99)), "<= 10 ms",
                   percentile(later, 99) <= 10});

  // Exports of one full month: the month before last (the fill covers it entirely).
  const auto month = months[months.size() - 3];
  std::int64_t month_total = 0;
  if (auto t = get(client, "/v1/log/summary?month=" + month); check(t, "summary " + month))
    month_total = nlohmann::json::parse(t.res->body)["total"].get<std::int64_t>();

  {
    std::int64_t lines = 0, bytes = 0;
    rss_watch rss{pid};
    const auto start = steady::now();
    auto res = client.Get("/v1/log/export?month=" + month + "&format=jsonl",
                          [&](const char* data, std::size_t n) {
                            bytes += static_cast<std::int64_t>(n);
                            lines += std::count(data, data + n, '\n');
                            return true;
                          });
    const double s = seconds_since(start);
    rss.finish();
    if (!res || res->status != 200) {
      std::fprintf(stderr, "jsonl export failed\n");
      failed = true;
    }
    const double rate = static_cast<double>(lines) / s;
    const double growth = static_cast<double>(rss.peak - rss.baseline) / 1024.0;
    std::printf("JSONL %s: %" PRId64 " rows (summary total %" PRId64 "), %.1f MB in %.2f s\n", month.c_str(), lines,
                month_total, static_cast<double>(bytes) / 1e6, s);
    table.push_back({"JSONL export " + month, fmt("%.0f rows/s", rate), ">= 300000 rows/s", rate >= 300'000});
    table.push_back({"  RSS baseline / peak", fmt("%.1f MB", static_cast<double>(rss.baseline) / 1024.0) + " / " +
                                                fmt("%.1f MB", static_cast<double>(rss.peak) / 1024.0), "", {}});
    table.push_back({"  RSS growth", fmt("%.1f MB", growth), "<= 64 MB", growth <= 64});
  }
  {
    std::int64_t bytes = 0;
    rss_watch rss{pid};
    const auto start = steady::now();
    auto res = client.Get("/v1/log/export?month=" + month + "&format=xlsx", [&](const char*, std::size_t n) {
      bytes += static_cast<std::int64_t>(n);
      return true;
    });
    const double s = seconds_since(start);
    rss.finish();
    if (!res || res->status != 200) {
      std::fprintf(stderr, "xlsx export failed\n");
      failed = true;
    }
    const double rate = static_cast<double>(month_total) / s;
    const double growth = static_cast<double>(rss.peak - rss.baseline) / 1024.0;
    std::printf("XLSX %s: %" PRId64 " rows (summary total), %.1f MB in %.2f s\n", month.c_str(), month_total,
                static_cast<double>(bytes) / 1e6, s);
    table.push_back({"XLSX export " + month, fmt("%.0f rows/s", rate), ">= 80000 rows/s", rate >= 80'000});
    table.push_back({"  RSS baseline / peak", fmt("%.1f MB", static_cast<double>(rss.baseline) / 1024.0) + " / " +
                                                fmt("%.1f MB", static_cast<double>(rss.peak) / 1024.0), "", {}});
    table.push_back({"  RSS growth", fmt("%.1f MB", growth), "<= 64 MB", growth <= 64});
  }

  std::printf("\nreport_bench: %" PRId64 " sends in %s, %zu day-page rows read\n", sends_in(ledger),
              ledger.name().c_str(), page_rows);
  const bool all_pass = bench::print_table(table);
  return failed ? 2 : all_pass ? 0 : 1;
}

void usage() {
  std::fputs("usage: report_bench [--ledger PATH] [--sends N] [--daemon PATH] [--port P] [--seed S] [--fill-only]\n"
             "                    [--backend sqlite|postgresql] [--pg-dir DIR] [--pg-database NAME]\n"
             "  --ledger PATH   the bench ledger (default build/bench/report-ledger.db); reused when it holds\n"
             "                  at least N sends; its folder holds the daemon's configuration and log\n"
             "  --sends N       sends to fill (default 10000000)\n"
             "  --daemon PATH   the deliveryd binary (default the one built with this bench)\n"
             "  --port P        ops listener port on 127.0.0.1 (default 18481; webhooks take P+1)\n"
             "  --seed S        random seed (default 4)\n"
             "  --fill-only     fill the ledger and stop\n"
             "  --backend postgresql  the ledger is database NAME of the kept PostgreSQL cluster in DIR instead\n"
             "  --pg-dir DIR          the benchmarks' kept PostgreSQL cluster (default build/bench/pg)\n"
             "  --pg-database NAME    its database for this bench (default report); reused as the SQLite file is\n",
             stderr);
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  deliveryd::bench::arguments args{argc, argv, usage};
  while (const auto next = args.next()) {
    const auto arg = *next;
    auto value = [&] { return args.value(); };
    if (arg == "--ledger") opt.ledger = value();
    else if (arg == "--sends") opt.sends = std::stoll(value());
    else if (arg == "--daemon") opt.daemon = value();
    else if (arg == "--port") opt.port = std::stoi(value());
    else if (arg == "--seed") opt.seed = std::stoull(value());
    else if (arg == "--fill-only") opt.fill_only = true;
    else if (arg == "--backend") {
      const auto b = value();
      if (b != "sqlite" && b != "postgresql") {
        usage();
        return 2;
      }
      opt.postgresql = b == "postgresql";
    } else if (arg == "--pg-dir") opt.pg_dir = value();
    else if (arg == "--pg-database") opt.pg_database = value();
    else {
      usage();
      return 2;
    }
  }
  if (opt.sends <= 0) {
    usage();
    return 2;
  }
  try {
    std::unique_ptr<deliveryd::testing::postgres_cluster> cluster;
    if (opt.postgresql)
      cluster = bench::start_bench_cluster(opt.pg_dir);
    const auto ledger = cluster ? bench_ledger{*cluster, opt.pg_database} : bench_ledger{opt.ledger};
    if (!fill(opt, ledger))
      return 2;
    if (opt.fill_only)
      return 0;
    auto daemon = start_daemon(opt, write_config(opt, ledger));
    if (!daemon)
      return 2;
    const int rc = measure(opt, ledger, daemon->pid);
    daemon->stop();
    if (cluster)
      std::printf("PostgreSQL: %s\n", bench::cluster_settings_text(*cluster).c_str());
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "report_bench: %s\n", e.what());
    return 2;
  }
}
