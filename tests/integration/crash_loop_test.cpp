// The crash loop: a mixed load of every vendor (intake, signed Twilio callbacks, signed SendGrid batches, Jasmin
// DLRs, aggregator reports, Kakao pushes; held events, duplicates, forged and malformed requests) runs against
// the daemon, which is killed with SIGKILL at random moments and restarted on the same ledger, again and again:
// once while its start-up purge runs, once in the middle of a JSONL download, once in the middle of an XLSX
// download and once while an XLSX export is being written. Afterwards every request answered 2xx is in the ledger
// with the state it should give, nothing answered non-2xx left a trace, every cut request is all or nothing, the
// purge has finished without touching recent sends, exports are whole, no temporary file is left, and
// PRAGMA integrity_check says ok.
//
// The power-cut loop is the same loop with the ledger's folder under the fault layer (tests/faultfs/): after each
// SIGKILL the power goes too, and every write no fsync or fdatasync made durable is thrown away before the restart.
// A kill alone cannot show a missing or failed sync (the kernel still writes the page cache); this loop does.
//
// DELIVERYD_CRASH_KILLS sets the number of kills or cuts (default 5, at least 4), DELIVERYD_CRASH_SEED replays the
// random delays of a run (its seed is printed first), DELIVERYD_CRASH_OLD_SENDS the sends the purge removes
// (default 40,000). tests/crash_loop.sh runs both long loops (25 kills, 25 cuts).
#include <iostream>
#include <random>
#include <set>
#include <sstream>

#include <SQLiteCpp/Database.h>
#include <catch2/catch.hpp>

#include "crash_support.hpp"
#include "faultfs_control.hpp"
#include "mixed_load.hpp"
#include "vendor_hooks.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

/// What a kill is meant to interrupt.
enum class kill_kind { purge, jsonl_download, xlsx_download, xlsx_writing, load };

/// How a kill line names it.
const char* name_of(kill_kind k) {
  switch (k) {
  case kill_kind::purge: return "during the start-up purge";
  case kill_kind::jsonl_download: return "in the middle of a JSONL download";
  case kill_kind::xlsx_download: return "in the middle of an XLSX download";
  case kill_kind::xlsx_writing: return "while an XLSX export was being written";
  case kill_kind::load: return "under load";
  }
  return "";
}

/// Kill `i` of `kills`: the first during the purge, three spread over the loop in the middle of exports.
kill_kind kind_of(int i, int kills) {
  if (i == 0)
    return kill_kind::purge;
  if (i == kills / 4)
    return kill_kind::jsonl_download;
  if (i == kills / 2)
    return kill_kind::xlsx_download;
  if (i == 3 * kills / 4)
    return kill_kind::xlsx_writing;
  return kill_kind::load;
}

/// The "YYYY-MM" of an instant in Seoul.
std::string seoul_month(seconds_point t) { return seoul_date(t).substr(0, 7); }

/// The ledger's folder under the fault layer, for the power-cut loop.
struct powered_disk {
  temp_dir root;  ///< the ledger's folder: every file in it is tracked
  temp_dir state; ///< the layer's disks, dirty pages and counters
  deliveryd::testing::faultfs::control disk{root.path(), state.path() / "faultfs", DELIVERYD_FAULTFS_LIBRARY};
};

/// The daemon of the loop: every vendor, its temporary files in `tmpdir`, no vendor reachable for polls (none is
/// due during the loop anyway); `retention_days` only while seeding the old sends; on `power`'s disk if given.
daemon_options loop_options(const fs::path& tmpdir, const powered_disk* power,
                            std::optional<int> retention_days = std::nullopt) {
  auto options = with_vendors({.email = true, .carrier = true, .kakao = true, .kakao_push = true});
  options.twilio_extra = "api_base = \"http://127.0.0.1:" + std::to_string(free_port()) + "\"\n";
  options.tmpdir = tmpdir;
  if (retention_days)
    options.storage_extra = "retention_days = " + std::to_string(*retention_days) + "\n";
  if (power) {
    options.ledger_path = power->root.path() / "ledger.db";
    options.environment = power->disk.environment();
  }
  return options;
}

/// The loop's state across kills.
struct crash_loop {
  std::string name = "crash loop";   ///< how its lines begin
  std::unique_ptr<powered_disk> power; ///< the power-cut loop's disk (a cut after each kill), else none
  std::uint64_t lost_pages = 0;      ///< pages the cuts threw away, in all
  crash_settings settings;           ///< from the environment
  std::mt19937_64 rng;               ///< every random delay and threshold, seeded with settings.seed
  temp_dir tmp;                      ///< the daemon's TMPDIR (declared first: it outlives the daemon)
  std::unique_ptr<daemon_process> d; ///< one daemon, started and killed again and again
  seconds_point old_before;          ///< every old seeded send is requested before this, every other one after
  std::string month;                 ///< the month the load and the month sends are in
  json month_items;                  ///< the month sends seeded
  std::int64_t old_seeded = 0;       ///< old sends in the file before the first purge
  std::int64_t old_left_at_kill = -1; ///< old sends in the file right after the purge kill
  load_journal journal;              ///< every life's requests and answers

  /// A uniform draw in [lo, hi] milliseconds.
  std::chrono::milliseconds draw(int lo, int hi) {
    return std::chrono::milliseconds{std::uniform_int_distribution<int>{lo, hi}(rng)};
  }

  /// The daemon's log since `from` characters.
  std::string log_since(std::size_t from) const { return d->log().substr(std::min(from, d->log().size())); }
};

/// Starts a daemon with a long retention, seeds the old and the month's sends, stops it, and configures the
/// normal retention: the next start purges the old sends.
void seed(crash_loop& loop) {
  const auto now = now_seconds();
  loop.d = std::make_unique<daemon_process>(loop_options(loop.tmp.path(), loop.power.get(), 3650));
  auto ops = loop.d->ops_client();
  const auto old_start = now - std::chrono::days{400};
  loop.old_before = now - std::chrono::days{370};
  REQUIRE(post_in_chunks(*ops, excluded_items("old-", loop.settings.old_sends, old_start, 20)).accepted
          == loop.settings.old_sends);
  const auto month_at = now - 3min;
  loop.month = seoul_month(month_at);
  loop.month_items = excluded_items("month-", loop.settings.month_sends, month_at, 1);
  REQUIRE(post_in_chunks(*ops, loop.month_items).accepted == loop.settings.month_sends);
  REQUIRE(loop.d->terminate() == 0);
  loop.old_seeded = sends_before(loop.d->ledger_path(), loop.old_before);
  REQUIRE(loop.old_seeded == static_cast<std::int64_t>(loop.settings.old_sends));
  loop.d->reconfigure(loop_options(loop.tmp.path(), loop.power.get()));
}

/// Kills once the old sends left drop below a random share of those seeded; proves from the file that the kill
/// landed while the purge was under way: some old sends are gone, some are left.
std::string kill_in_purge(crash_loop& loop, mixed_load& load) {
  const auto share = std::uniform_real_distribution<double>{0.2, 0.8}(loop.rng);
  const auto threshold = static_cast<std::int64_t>(share * static_cast<double>(loop.old_seeded));
  const auto until = steady::now() + 60s;
  for (;;) {
    const auto left = sends_before(loop.d->ledger_path(), loop.old_before);
    INFO("old sends left " << left << " of " << loop.old_seeded);
    REQUIRE(left > 0); // the purge finished before the kill: seed more (DELIVERYD_CRASH_OLD_SENDS)
    REQUIRE(steady::now() < until);
    if (left <= threshold)
      break;
    std::this_thread::sleep_for(2ms);
  }
  load.kill_coming();
  loop.d->kill_hard();
  loop.old_left_at_kill = sends_before(loop.d->ledger_path(), loop.old_before);
  INFO("old sends left in the file after the kill: " << loop.old_left_at_kill << " of " << loop.old_seeded);
  CHECK(loop.old_left_at_kill > 0);
  CHECK(loop.old_left_at_kill < loop.old_seeded);
  return "at " + std::to_string(loop.old_left_at_kill) + " of " + std::to_string(loop.old_seeded)
         + " old sends left (threshold " + std::to_string(threshold) + ")";
}

/// Waits until the load has some answers (the purge resumed at start slows the first commits): the kill must
/// cut requests too.
void wait_for_load(const mixed_load& load) {
  const auto until = steady::now() + 60s;
  while (load.answered() < 30) {
    REQUIRE(steady::now() < until);
    std::this_thread::sleep_for(5ms);
  }
}

/// Holds a download after its first bytes, kills after a random delay, and proves the download was cut.
std::string kill_in_download(crash_loop& loop, mixed_load& load, const std::string& format, std::size_t log_from) {
  const auto path = "/v1/log/export?month=" + loop.month + "&format=" + format;
  wait_for_load(load);
  held_download download{loop.d->ops_port(), path, true};
  REQUIRE(download.wait_for_bytes(60s));
  const auto delay = loop.draw(20, 300);
  std::this_thread::sleep_for(delay);
  const auto at_kill = download.bytes();
  load.kill_coming();
  loop.d->kill_hard();
  const auto result = download.finish();
  const auto log = loop.log_since(log_from);
  INFO(format << " download: status " << result.status << ", " << at_kill << " bytes at the kill, " << result.bytes
              << " in all, complete " << result.complete << "; daemon log of this life:\n" << log);
  CHECK(result.status == 200);
  CHECK(at_kill > 0);
  CHECK_FALSE(result.complete);
  if (format == "jsonl") {
    CHECK(log.find("export done") == std::string::npos); // the daemon was still writing it
  } else {
    REQUIRE(result.content_length);
    CHECK(log.find("export written") != std::string::npos); // written, and being sent
    CHECK(result.bytes < *result.content_length);
  }
  const auto announced = result.content_length ? " of " + std::to_string(*result.content_length) : std::string{};
  return "after " + std::to_string(delay.count()) + " ms held, " + std::to_string(at_kill)
         + " bytes read at the kill, " + std::to_string(result.bytes) + " in all" + announced;
}

/// Starts an XLSX export and kills as soon as the daemon has a file open in TMPDIR (the sheet's rows, or the
/// workbook), before the workbook is complete.
std::string kill_in_xlsx_writing(crash_loop& loop, mixed_load& load, std::size_t log_from) {
  wait_for_load(load);
  REQUIRE(open_files_in(loop.d->pid(), loop.tmp.path()) == 0);
  held_download download{loop.d->ops_port(), "/v1/log/export?month=" + loop.month + "&format=xlsx", false};
  const auto until = steady::now() + 60s;
  while (open_files_in(loop.d->pid(), loop.tmp.path()) == 0) {
    REQUIRE(steady::now() < until);
    std::this_thread::sleep_for(1ms);
  }
  const auto delay = loop.draw(0, 200);
  std::this_thread::sleep_for(delay);
  const auto open_at_kill = open_files_in(loop.d->pid(), loop.tmp.path());
  load.kill_coming();
  loop.d->kill_hard();
  const auto result = download.finish();
  const auto log = loop.log_since(log_from);
  INFO("daemon log of this life:\n" << log);
  CHECK(log.find("export written") == std::string::npos); // killed before the workbook was complete
  CHECK(open_at_kill > 0);
  CHECK(result.bytes == 0);
  return "after " + std::to_string(delay.count()) + " ms, with " + std::to_string(open_at_kill)
         + " files open in TMPDIR; " + std::to_string(files_in(loop.tmp.path()).size()) + " left there after the kill";
}

/// One life of the daemon: start, load, kill as `kind` says, collect the journal, check the file.
void one_life(crash_loop& loop, int i, kill_kind kind) {
  const auto log_from = loop.d->log().size();
  const auto started = steady::now();
  loop.d->start();
  const auto up_ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count();
  mixed_load load{*loop.d, "c" + std::to_string(i), loop.settings.workers, now_seconds() - 2min};
  std::string detail;
  switch (kind) {
  case kill_kind::purge: detail = kill_in_purge(loop, load); break;
  case kill_kind::jsonl_download: detail = kill_in_download(loop, load, "jsonl", log_from); break;
  case kill_kind::xlsx_download: detail = kill_in_download(loop, load, "xlsx", log_from); break;
  case kill_kind::xlsx_writing: detail = kill_in_xlsx_writing(loop, load, log_from); break;
  case kill_kind::load: {
    const auto delay = loop.draw(300, 2000);
    std::this_thread::sleep_for(delay);
    detail = "after " + std::to_string(delay.count()) + " ms";
    load.kill_coming();
    loop.d->kill_hard();
  }
  }
  const auto answered = load.answered();
  const auto life_ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count();
  loop.journal.append(load.finish());
  std::string cut;
  if (loop.power) {
    // The power goes with the process: what no sync made durable is thrown away. The dirty pages at this moment
    // are what a real cut would lose.
    std::uint64_t dirty = 0;
    for (const auto& file : loop.power->disk.tracked_files())
      dirty += loop.power->disk.dirty_pages(file).size();
    loop.power->disk.power_cut();
    loop.lost_pages += dirty;
    cut = "; power cut, " + std::to_string(dirty) + " unsynced pages thrown away";
  }
  const auto integrity = integrity_of(loop.d->ledger_path());
  std::ostringstream line;
  line << loop.name << ": " << (loop.power ? "cut " : "kill ") << i + 1 << "/" << loop.settings.kills << " "
       << name_of(kind) << ", " << detail << "; " << answered << " requests answered; up in " << up_ms
       << " ms, killed " << life_ms << " ms after the start" << cut << "; integrity " << integrity;
  std::cout << line.str() << std::endl;
  CHECK(integrity == "ok");
  CHECK(answered > 0);
}

/// Waits until the purge, resumed at this start, has removed every old send.
void wait_for_purge(crash_loop& loop) {
  const auto until = steady::now() + 120s;
  while (sends_before(loop.d->ledger_path(), loop.old_before) > 0) {
    REQUIRE(steady::now() < until);
    std::this_thread::sleep_for(20ms);
  }
}

/// The send ids of a JSONL body's rows; fails the test on a line that is not a row, or repeats one.
std::set<std::string> jsonl_send_ids(const std::string& body) {
  std::set<std::string> ids;
  std::istringstream in{body};
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    const auto row = json::parse(line, nullptr, false);
    if (!row.is_object() || !row.contains("send_id") || !row["send_id"].is_string())
      FAIL("line " << n << " is not a row: " << line);
    if (!ids.insert(row["send_id"].get<std::string>()).second)
      FAIL("line " << n << " repeats a row: " << line);
  }
  return ids;
}

/// Both exports of the month, downloaded whole after the loop: the JSONL has the summary's number of rows and
/// every acknowledged send of the month, the XLSX is as long as announced.
std::string check_exports(crash_loop& loop, httplib::Client& ops, const json& acked) {
  const auto path = "/v1/log/export?month=" + loop.month + "&format=";
  const auto total = get_json(ops, "/v1/log/summary?month=" + loop.month)["total"].get<std::size_t>();
  auto jsonl = ops.Get((path + "jsonl").c_str());
  REQUIRE(jsonl);
  REQUIRE(jsonl->status == 200);
  const auto ids = jsonl_send_ids(jsonl->body);
  CHECK(ids.size() == total);
  std::size_t missing = 0;
  for (const auto& item : acked)
    if (item["requested_at"].get<std::string>().substr(0, 7) == loop.month)
      missing += ids.count(item["send_id"].get<std::string>()) == 0 ? 1 : 0;
  CHECK(missing == 0);
  auto xlsx = ops.Get((path + "xlsx").c_str());
  REQUIRE(xlsx);
  REQUIRE(xlsx->status == 200);
  CHECK(xlsx->get_header_value("Content-Length") == std::to_string(xlsx->body.size()));
  CHECK(xlsx->body.rfind("PK\x03\x04", 0) == 0);
  return std::to_string(ids.size()) + " JSONL rows (" + std::to_string(missing)
         + " acknowledged sends missing), XLSX " + std::to_string(xlsx->body.size()) + " bytes";
}

/// A sample of the acknowledged reports through GET /v1/sends/{id}: the status and code they set, and their
/// webhook entry in the history. The ledger file is checked for every one after the stop.
std::size_t sample_through_api(crash_loop& loop, httplib::Client& ops) {
  std::size_t wrong = 0, seen = 0;
  for (const auto& r : loop.journal.requests) {
    if (r.kind != request_kind::report || r.outcome != answer::acked || seen >= 200)
      continue;
    for (const auto& id : r.send_ids) {
      const auto& s = loop.journal.sends.at(id);
      auto res = ops.Get(("/v1/sends/" + id).c_str());
      if (!res || res->status != 200)
        continue; // a held report whose send was never registered
      ++seen;
      const auto view = json::parse(res->body);
      const bool webhook = std::any_of(view["history"].begin(), view["history"].end(),
                                       [](const json& h) { return h["source"] == "webhook"; });
      const auto code = view["code"].is_null() ? std::string{} : view["code"].get<std::string>();
      if (view["status"] != s.status || code != s.code || !webhook) {
        ++wrong;
        UNSCOPED_INFO("send " << id << " should be " << s.status << " " << s.code << ": " << res->body);
      }
    }
  }
  CHECK(seen > 0);
  return wrong;
}

/// What the ledger file holds besides the journal: the month sends, no old send, no event without its send.
struct file_facts {
  std::string integrity;
  std::int64_t month_sends = 0;  ///< month sends stored as registered (excluded, 10006)
  std::int64_t old_sends = 0;    ///< sends older than retention left
  std::int64_t orphans = 0;      ///< events whose send is gone
  std::vector<std::string> leftovers; ///< files in the daemon's TMPDIR
};

file_facts facts_of(const crash_loop& loop) {
  file_facts f;
  f.integrity = integrity_of(loop.d->ledger_path());
  SQLite::Database db{loop.d->ledger_path().string(), SQLite::OPEN_READONLY};
  f.month_sends = db.execAndGet("SELECT count(*) FROM sends WHERE send_id LIKE 'month-%' AND status = 'excluded' "
                                "AND code = '10006'").getInt64();
  f.orphans = db.execAndGet("SELECT count(*) FROM events WHERE send IS NOT NULL "
                            "AND send NOT IN (SELECT id FROM sends)").getInt64();
  f.old_sends = sends_before(loop.d->ledger_path(), loop.old_before);
  f.leftovers = files_in(loop.tmp.path());
  return f;
}

/// The last, clean life: the purge completes, acknowledged sends are there as posted (re-posting them is a
/// duplicate: the same values, nothing half-written), a sample through the API, whole exports; then SIGTERM.
/// Returns what the exports were.
std::string check_last_life(crash_loop& loop) {
  loop.d->start();
  wait_for_purge(loop);
  auto ops = loop.d->ops_client();
  auto acked = acknowledged_items(loop.journal);
  for (const auto& item : loop.month_items)
    acked.push_back(item);
  const auto again = post_in_chunks(*ops, acked);
  CHECK(again.duplicates == acked.size());
  CHECK(again.accepted + again.updated + again.rejected == 0);
  CHECK(sample_through_api(loop, *ops) == 0);
  const auto exports = check_exports(loop, *ops, acked);
  CHECK(loop.d->terminate() == 0);
  CHECK(loop.d->log().find("ledger purged:") != std::string::npos); // some life saw the purge to its end
  return exports;
}

/// Acknowledged items (the journal's sends and reports, and the month sends) and those stored as they should be.
struct totals {
  std::size_t acknowledged = 0;
  std::size_t stored = 0;
};

totals totals_of(const crash_loop& loop, const journal_tally& t, const file_facts& f) {
  return {t.acked_sends + t.acked_reports + loop.settings.month_sends,
          t.stored_sends + t.stored_reports + static_cast<std::size_t>(f.month_sends)};
}

/// The closing lines of a run.
std::string summary_of(const crash_loop& loop, const journal_tally& t, const file_facts& f,
                       const std::string& exports) {
  std::size_t acked_requests = 0;
  for (const auto& r : loop.journal.requests)
    acked_requests += r.outcome == answer::acked ? 1 : 0;
  const auto n = totals_of(loop, t, f);
  std::ostringstream out;
  const auto& name = loop.name;
  out << name << ": " << loop.journal.requests.size() << " requests: " << acked_requests << " answered 2xx, "
      << t.refused << " refused (" << t.wrong_answers << " answered otherwise than they should), " << t.unanswered
      << " without an answer (" << t.in_flight << " of them cut in flight; " << t.whole << " stored whole, "
      << t.partial << " in part)\n"
      << name << ": refused requests left " << t.refused_traces << " traces; unacknowledged items in an "
      << "unexplained state: " << t.unexplained << "; requests dropped while the daemon was up: "
      << loop.journal.dropped_while_up << "\n"
      << name << ": purge: " << loop.old_seeded << " old sends, " << loop.old_left_at_kill
      << " left when killed, " << f.old_sends << " after; events without their send: " << f.orphans << "\n"
      << name << ": exports after the loop: " << exports << "; files left in TMPDIR: " << f.leftovers.size()
      << "\n"
      << name << ": integrity_check " << f.integrity << "\n"
      << name << ": acknowledged " << n.acknowledged << ", stored " << n.stored << ", lost "
      << n.acknowledged - std::min(n.stored, n.acknowledged) << " (sends " << t.stored_sends + f.month_sends << "/"
      << t.acked_sends + loop.settings.month_sends << ", reports " << t.stored_reports << "/" << t.acked_reports
      << ")";
  return out.str();
}

/// After the loop: the last life, then the ledger file against the journal; prints the summary.
void verify_after_loop(crash_loop& loop) {
  const auto log_from = loop.d->log().size();
  const auto exports = check_last_life(loop);
  const auto facts = facts_of(loop);
  const auto t = check_journal(loop.d->ledger_path(), loop.journal);
  const auto summary = summary_of(loop, t, facts, exports);
  std::cout << summary << std::endl;
  std::string problems;
  for (const auto& p : t.problems)
    problems += "\n  " + p;
  for (const auto& file : facts.leftovers)
    problems += "\n  left in TMPDIR: " + file;
  INFO(summary << problems << "\nlog of the last life:\n" << loop.log_since(log_from));
  const auto n = totals_of(loop, t, facts);
  CHECK(facts.integrity == "ok");
  CHECK(n.acknowledged == n.stored);
  CHECK(t.partial == 0);
  CHECK(t.refused_traces == 0);
  CHECK(t.unexplained == 0);
  CHECK(t.wrong_answers == 0);
  CHECK(loop.journal.dropped_while_up == 0);
  CHECK(t.in_flight > 0); // the kills did cut requests in flight: the loop tested what it claims
  CHECK(facts.old_sends == 0);
  CHECK(facts.orphans == 0);
  CHECK(facts.leftovers.empty());
}


/// The whole loop: seed, the lives, the checks.
void run_loop(crash_loop& loop) {
  loop.settings = crash_settings_from_env();
  loop.rng.seed(loop.settings.seed);
  std::cout << loop.name << ": seed " << loop.settings.seed << ", " << loop.settings.kills
            << (loop.power ? " power cuts, " : " kills, ") << loop.settings.old_sends
            << " old sends (replay with DELIVERYD_CRASH_SEED=" << loop.settings.seed
            << " DELIVERYD_CRASH_KILLS=" << loop.settings.kills << ")" << std::endl;
  const auto started = steady::now();
  seed(loop);
  for (int i = 0; i < loop.settings.kills; ++i)
    one_life(loop, i, kind_of(i, loop.settings.kills));
  verify_after_loop(loop);
  std::cout << loop.name << ": done in "
            << std::chrono::duration_cast<std::chrono::seconds>(steady::now() - started).count() << " s" << std::endl;
}

} // namespace

TEST_CASE("crash loop: SIGKILL under mixed load, during the purge and during exports loses nothing acknowledged",
          "[integration][crash][sqlite]") {
  crash_loop loop;
  run_loop(loop);
}

TEST_CASE("power-cut loop: power cuts under mixed load, during the purge and during exports lose nothing "
          "acknowledged",
          "[integration][crash][power][sqlite]") {
  crash_loop loop;
  loop.name = "power-cut loop";
  loop.power = std::make_unique<powered_disk>();
  run_loop(loop);
  const auto seen = loop.power->disk.counters();
  namespace faultfs = deliveryd::testing::faultfs;
  std::cout << "power-cut loop: the layer saw " << seen[faultfs::counter::write_calls] << " writes, "
            << seen[faultfs::counter::fdatasync_calls] << " fdatasyncs, " << seen[faultfs::counter::synced_pages]
            << " pages synced; the cuts threw away " << loop.lost_pages << " unsynced pages" << std::endl;
  CHECK(seen[faultfs::counter::untracked_opens] == 0);
  CHECK(seen[faultfs::counter::fdatasync_calls] > 0);
  CHECK(loop.lost_pages > 0); // the cuts did throw writes away: the loop tested what it claims
}
