// Copying an SQLite ledger into PostgreSQL (db/copy_ledger.hpp, deliveryctl copy-ledger): afterwards every query
// answers as it did on SQLite; a copy stopped anywhere and run again ends as one uninterrupted copy; a finished
// copy is not done twice; what must not be copied is refused with nothing written. The source is an SQLite file
// and the target a database of the shared test cluster whatever back end the other tests run on. Tagged
// [.][postgresql]: they run in ctest's "db_tests on postgresql" entry, or by their tag.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "copy_fixture.hpp"
#include "ack_log_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

std::string bytes_of(const std::string& file) {
  std::ifstream in{file, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// A run of `options` that must succeed.
db::copy_outcome copied(const db::copy_options& options) {
  auto out = db::copy_ledger(options);
  if (!out)
    FAIL("copy failed: " << out.error().message);
  return *out;
}

/// A run of `options` that must be refused; its sentence.
std::string refused(const db::copy_options& options) {
  auto out = db::copy_ledger(options);
  REQUIRE_FALSE(out);
  return out.error().message;
}

std::unique_ptr<db::ledger_reader> reader_of(const db::ledger_options& options) {
  auto opened = db::open_reader(options);
  if (!opened)
    FAIL("reader open failed: " << opened.error().message);
  return std::move(*opened);
}

/// Every table of the PostgreSQL ledger `key` the copy writes, with the identity sequences and the copy's marks.
strings dump(const std::string& key) {
  strings out;
  for (const auto& [table, order] : copied_tables())
    for (const auto& row : pg_rows(key, "SELECT " + table + " ORDER BY " + order)) {
      std::string line;
      for (const auto& v : row)
        line += v + "|";
      out.push_back(line);
    }
  for (const auto& row : pg_rows(key, "SELECT last_value, is_called FROM sends_id_seq UNION ALL "
                                      "SELECT last_value, is_called FROM events_id_seq"))
    out.push_back("seq " + row[0] + " " + row[1]);
  for (const auto& row : pg_rows(key, "SELECT key, value FROM deliveryd_meta WHERE key LIKE 'copy_%' "
                                      "AND key <> 'copy_source' ORDER BY key"))
    out.push_back(row[0] + "=" + row[1]);
  return out;
}

} // namespace

TEST_CASE("copy-ledger: every query answers on PostgreSQL as it did on SQLite, and the source is left as it was",
          "[.][postgresql][copy-ledger]") {
  temp_dir dir;
  const auto source = (dir.path() / "source.db").string();
  const auto ids = build_source(source);
  REQUIRE(ids.size() > 100);
  // Every kind of send and history is there to be copied.
  CHECK(storable_rows(source, "SELECT DISTINCT status FROM sends ORDER BY 1")
        == table_rows{{"excluded"}, {"failed"}, {"pending"}, {"sent"}, {"uncertain"}});
  CHECK(storable_rows(source, "SELECT DISTINCT source FROM events ORDER BY 1")
        == table_rows{{"deadline"}, {"intake"}, {"poll"}, {"webhook"}});
  const auto shape = storable_rows(source, "SELECT count(DISTINCT day / 100), count(DISTINCT day), count(fallback_of), "
                                         "count(logical_status), count(vendor_price), count(DISTINCT excluded_code), "
                                         "min(id) FROM sends")[0];
  CHECK(shape[0] == "3");          // months
  CHECK(std::stoi(shape[1]) > 15); // days
  CHECK(std::stoi(shape[2]) > 10); // failover legs
  CHECK(std::stoi(shape[3]) > 5);  // the logical states of their groups
  CHECK(std::stoi(shape[4]) > 5);  // vendor prices
  CHECK(shape[5] == "2");          // exclusions 10006 and 11002
  CHECK(std::stoi(shape[6]) > 1);  // the purge took the first ids
  const auto before = bytes_of(source);
  const auto key = (dir.path() / "target").string();
  std::vector<db::copy_progress> told;
  auto options = copy_of(source, key);
  options.on_progress = [&](const db::copy_progress& p) { told.push_back(p); };
  const auto out = copied(options);
  CHECK(out.finished);
  CHECK_FALSE(out.resumed);
  CHECK_FALSE(out.already_done);
  const auto counts = storable_rows(source, "SELECT (SELECT count(*) FROM sends), (SELECT count(*) FROM events), "
                                          "(SELECT count(*) FROM events WHERE send IS NULL)")[0];
  CHECK(std::to_string(out.sends) == counts[0]);
  CHECK(std::to_string(out.events) == counts[1]);
  CHECK(std::to_string(out.held) == counts[2]);
  CHECK(out.held >= 5); // never registered, and not purged
  CHECK(out.zone == "Asia/Seoul");
  REQUIRE(told.size() >= ids.size() / 7);
  CHECK(told.front().sends == 0);
  CHECK(told.back().sends == out.sends);
  CHECK(told.back().events == out.events);
  CHECK(told.back().sends_total == out.sends);

  CHECK(bytes_of(source) == before);
  check_same_tables(source, key);
  auto on_sqlite = reader_of(sqlite_at(source));
  auto on_postgresql = reader_of(postgresql_at(key));
  check_same_answers(*on_sqlite, *on_postgresql, ids);

  // The daemons take over: the ledger opens, and what they write next gets ids of its own.
  auto writer = open_store(postgresql_at(key));
  auto next = make_send("after-copy", copy_last);
  next.vendor_message_id = "SMafter";
  register_committed(*writer, {next}, {}, copy_last);
  const auto last = storable_rows(source, "SELECT max(id) FROM sends")[0][0];
  CHECK(pg_rows(key, "SELECT id FROM sends WHERE send_id = 'after-copy'")[0][0] == std::to_string(std::stoll(last) + 1));
  CHECK(std::stoll(pg_rows(key, "SELECT min(e.id) FROM events AS e JOIN sends AS s ON s.id = e.send "
                                "WHERE s.send_id = 'after-copy'")[0][0])
        > std::stoll(storable_rows(source, "SELECT max(id) FROM events")[0][0]));
}

TEST_CASE("copy-ledger: a copy stopped anywhere and run again is the uninterrupted copy; a finished one is not "
          "done twice",
          "[.][postgresql][copy-ledger]") {
  temp_dir dir;
  const auto source = (dir.path() / "source.db").string();
  const auto ids = build_source(source);
  const auto whole = (dir.path() / "whole").string();
  REQUIRE(copied(copy_of(source, whole)).finished);
  const auto send_chunks = (ids.size() + 6) / 7;
  // Stopped among the sends, at the last chunk of sends, and among the held events.
  const auto stop = GENERATE_COPY(values<std::size_t>({1, 3, send_chunks, send_chunks + 1}));
  CAPTURE(stop);
  const auto key = (dir.path() / ("stopped-" + std::to_string(stop))).string();
  auto first = copy_of(source, key);
  first.max_chunks = stop;
  const auto part = copied(first);
  CHECK_FALSE(part.finished);
  CHECK(std::to_string(part.sends) == pg_rows(key, "SELECT count(*) FROM sends")[0][0]);
  // Half a copy is not a ledger yet: a daemon refuses it.
  auto daemon = db::open_writer(postgresql_at(key));
  REQUIRE_FALSE(daemon);
  CHECK_THAT(daemon.error().message, Catch::Contains("a copy of the SQLite ledger " + source)
                                       && Catch::Contains("has not finished")
                                       && Catch::Contains("copy-ledger --from " + source));
  const auto rest = copied(copy_of(source, key));
  CHECK(rest.finished);
  CHECK(rest.resumed);
  CHECK(dump(key) == dump(whole));
  check_same_tables(source, key);

  // Again, after it finished: nothing to do, and nothing written.
  const auto again = copied(copy_of(source, key));
  CHECK(again.already_done);
  CHECK(again.finished);
  CHECK(again.sends == rest.sends);
  CHECK(dump(key) == dump(whole));
  auto on_sqlite = reader_of(sqlite_at(source));
  auto on_postgresql = reader_of(postgresql_at(key));
  check_same_answers(*on_sqlite, *on_postgresql, ids);
}

TEST_CASE("copy-ledger: a ledger that daemons write to is refused, and left as it was", "[.][postgresql][copy-ledger]") {
  temp_dir dir;
  const auto source = (dir.path() / "source.db").string();
  build_source(source, 3);
  const auto key = (dir.path() / "live").string();
  register_committed(*open_store(postgresql_at(key)), {make_send("written-by-a-daemon")});
  const auto before = dump(key);
  const auto why = refused(copy_of(source, key));
  CHECK_THAT(why, Catch::Contains("holds 1 sends and 1 events that did not come from a copy")
                    && Catch::Contains("new, empty ledger only"));
  CHECK(dump(key) == before);
  CHECK(pg_rows(key, "SELECT count(*) FROM deliveryd_meta WHERE key LIKE 'copy_%'")[0][0] == "0");
}

TEST_CASE("copy-ledger: another source while a copy is unfinished, or a source changed since, is refused",
          "[.][postgresql][copy-ledger]") {
  temp_dir dir;
  const auto source = (dir.path() / "source.db").string();
  const auto other = (dir.path() / "other.db").string();
  build_source(source, 4);
  build_source(other, 3);
  const auto key = (dir.path() / "target").string();
  auto first = copy_of(source, key);
  first.max_chunks = 2;
  REQUIRE_FALSE(copied(first).finished);
  const auto before = dump(key);
  CHECK_THAT(refused(copy_of(other, key)), Catch::Contains("a copy of " + source + " into it has not finished")
                                               && Catch::Contains("run copy-ledger --from " + source));
  CHECK(dump(key) == before);
  // A daemon started on the source meanwhile: its copy cannot go on.
  register_committed(*open_store(sqlite_at(source)), {make_send("written-meanwhile")});
  CHECK_THAT(refused(copy_of(source, key)), Catch::Contains(source + " changed since its copy began"));
  CHECK(dump(key) == before);
}

TEST_CASE("copy-ledger: webhooks acknowledged in the source's ack log and not applied are refused; another "
          "ledger's log is not the source's", "[.][postgresql][copy-ledger]") {
  temp_dir dir;
  const auto source = (dir.path() / "source.db").string();
  build_source(source, 2);
  const auto own_id = sqlite_rows(source, "SELECT value FROM meta WHERE key = 'ledger_id'").at(0).at(0);
  REQUIRE_FALSE(own_id.empty());
  const auto folder = std::filesystem::path{source + ".acklog"};
  {
    // A daemon killed after it acknowledged a webhook, before its ledger applied it.
    db::ack_log_options o;
    o.dir = folder;
    o.ledger_id = own_id;
    auto log = db::ack_log::open(o, 0);
    REQUIRE(log);
    REQUIRE(append_wait(**log, {make_event("SM-unapplied", core::status::sent, t0, "dk-unapplied")}).empty());
  }
  const auto before = bytes_of(source);
  const auto key = (dir.path() / "target").string();
  CHECK_THAT(refused(copy_of(source, key)), Catch::Contains("bytes of acknowledged webhooks that " + source +
                                                            " does not have yet"));
  CHECK(pg_rows(key, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0] == "0");
  CHECK(bytes_of(source) == before);
  // The same folder naming another ledger: its records are that ledger's, never this one's to lack.
  { std::ofstream{folder / "ledger-id", std::ios::trunc} << "0123456789abcdef0123456789abcdef\n"; }
  CHECK(copied(copy_of(source, key)).finished);
  CHECK(bytes_of(source) == before);
}

TEST_CASE("copy-ledger: a source that is not a ledger of this version is refused", "[.][postgresql][copy-ledger]") {
  temp_dir dir;
  const auto key = (dir.path() / "target").string();
  const auto source = (dir.path() / "source.db").string();
  build_source(source, 2);
  SECTION("an older schema: deliveryd upgrades it first") {
    { SQLite::Database{source, SQLite::OPEN_READWRITE}.exec("PRAGMA user_version = 6"); }
    CHECK_THAT(refused(copy_of(source, key)), Catch::Contains("has schema version 6, older than")
                                                && Catch::Contains("start deliveryd of this version once on it"));
  }
  SECTION("not a deliveryd ledger") {
    { SQLite::Database{source, SQLite::OPEN_READWRITE}.exec("PRAGMA application_id = 7"); }
    CHECK_THAT(refused(copy_of(source, key)), Catch::Contains("is not a deliveryd ledger"));
  }
  SECTION("no file") {
    CHECK_THAT(refused(copy_of(source + ".absent", key)), Catch::Contains("no such SQLite ledger"));
  }
  SECTION("a target that is not PostgreSQL") {
    auto options = copy_of(source, key);
    options.target.kind = db::backend::sqlite;
    CHECK_THAT(refused(options), Catch::Contains("copies into a PostgreSQL ledger only"));
  }
  // Nothing was made on the target.
  CHECK(pg_rows(key, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0] == "0");
}

TEST_CASE("copy-ledger: the copy moves every column both schemas have", "[.][postgresql][copy-ledger]") {
  temp_dir dir;
  const auto source = (dir.path() / "source.db").string();
  build_source(source, 1);
  const auto key = (dir.path() / "target").string();
  REQUIRE(copied(copy_of(source, key)).finished);
  // Back-end-only columns: SQLite's message key index; PostgreSQL's poll claims. The write probes differ and stay.
  const std::set<std::string> sqlite_only{"sends.message_key"};
  const std::set<std::string> postgresql_only{"sends.poll_claimed_until", "sends.poll_claimed_by"};
  std::set<std::string> copied_columns, in_sqlite, in_postgresql;
  for (const auto& [table, order] : copied_tables()) {
    const auto from = table.rfind(" FROM ");
    const auto name = table.substr(from + 6);
    std::istringstream columns{table.substr(0, from)};
    for (std::string c; std::getline(columns, c, ',');)
      copied_columns.insert(name + "." + std::string{core::trim(c)});
    for (const auto& row : storable_rows(source, "SELECT name FROM pragma_table_info('" + name + "')"))
      if (!sqlite_only.count(name + "." + row[0]))
        in_sqlite.insert(name + "." + row[0]);
    for (const auto& row : pg_rows(key, "SELECT column_name FROM information_schema.columns WHERE table_name = '"
                                          + name + "'"))
      if (!postgresql_only.count(name + "." + row[0]))
        in_postgresql.insert(name + "." + row[0]);
  }
  CHECK(copied_columns == in_sqlite);
  CHECK(copied_columns == in_postgresql);
  // And every table the readers read is among them.
  const auto tables = storable_rows(source, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  CHECK(tables == table_rows{{"events"}, {"meta"}, {"pending_sends"}, {"price_rollups"}, {"rollups"}, {"sends"},
                             {"sources"}, {"write_probe"}});
}
