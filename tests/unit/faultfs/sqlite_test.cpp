/// Real SQLite (Debian's libsqlite3, WAL mode) under the fault layer: what a commit with synchronous=FULL made
/// durable survives a SIGKILL and a power cut; what synchronous=OFF never synced is gone, and the database is
/// whole either way.

#include <catch2/catch.hpp>

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include "faultfs_fixture.hpp"

using namespace faultfs_test;

namespace {

/// "<rows of table t> rows, <integrity check>" of a copy of the database and its WAL (so that this connection,
/// which is not under the layer, changes nothing of the files the layer tracks).
std::string look_at_copy(const fs::path& db, const fs::path& scratch) {
  fs::create_directories(scratch);
  for (const auto* suffix : {"", "-wal"})
    if (fs::exists(db.string() + suffix))
      fs::copy_file(db.string() + suffix, scratch.string() + "/copy.db" + suffix,
                    fs::copy_options::overwrite_existing);
  SQLite::Database copy{scratch / "copy.db", SQLite::OPEN_READWRITE};
  return std::to_string(copy.execAndGet("SELECT count(*) FROM t").getInt()) + " rows, " +
         copy.execAndGet("PRAGMA integrity_check").getString();
}

/// The same of the database itself, once no process under the layer runs any more.
std::string look_at(const fs::path& db) {
  SQLite::Database after{db, SQLite::OPEN_READWRITE};
  return std::to_string(after.execAndGet("SELECT count(*) FROM t").getInt()) + " rows, " +
         after.execAndGet("PRAGMA integrity_check").getString();
}

} // namespace

TEST_CASE("SQLite with synchronous=FULL under the layer keeps every commit through a power cut", "[faultfs][sqlite]") {
  layer_fixture t;
  const auto db = t.at("ledger.db");
  const auto out = t.run({"sqlite:" + db.string() + ":FULL:0:200", "pause"});
  CHECK(out == std::vector<std::string>{"committed 200"});
  const auto c = t.layer.counters();
  CHECK(c[counter::fdatasync_calls] + c[counter::fsync_calls] >= 200); // the WAL at every commit
  CHECK(c[counter::write_calls] >= 200);
  CHECK(c[counter::dir_syncs] >= 1); // the folder, when SQLite created the WAL
  t.layer.power_cut();
  CHECK(look_at(db) == "200 rows, ok");
}

TEST_CASE("SQLite with synchronous=OFF under the layer loses what it never synced and stays whole",
          "[faultfs][sqlite]") {
  layer_fixture t;
  const auto db = t.at("ledger.db");
  const auto out = t.run({"sqlite:" + db.string() + ":FULL:0:50", "sqlite:" + db.string() + ":OFF:50:30", "pause"});
  CHECK(out == std::vector<std::string>{"committed 50", "committed 30"});
  // The page cache has all 80 rows: a crash of the process alone would have lost none.
  CHECK(look_at_copy(db, t.outside("before-cut")) == "80 rows, ok");
  t.layer.power_cut();
  CHECK(look_at(db) == "50 rows, ok");
}

TEST_CASE("SQLite under the layer: a commit whose WAL sync failed is not acknowledged and its retry is durable",
          "[faultfs][sqlite]") {
  layer_fixture t;
  const auto db = t.at("ledger.db");
  CHECK(t.run({"sqlite:" + db.string() + ":FULL:0:10", "pause"}) == std::vector<std::string>{"committed 10"});
  t.layer.power_cut();
  t.layer.arm(op::fdatasync, EIO, 1, "-wal");
  const auto insert = "sqlite:" + db.string() + ":FULL:10:5";
  const auto out = t.run({insert, insert, "pause"});
  CHECK(out == std::vector<std::string>{"sqlite error " + std::to_string(SQLITE_IOERR_FSYNC) + " after 0",
                                        "committed 5"});
  const auto c = t.layer.counters();
  CHECK(c[counter::fdatasync_faults] == 1);
  CHECK(c[counter::lost_pages] >= 1);
  t.layer.power_cut();
  CHECK(look_at(db) == "15 rows, ok");
}
