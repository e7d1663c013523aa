/// Opening the ledger: creation, schema version, reopening, and refusing files that are not ours.

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>

#include "../../support/schema_history.hpp"
#include "db/sqlite/schema.hpp"
#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

/// Every byte of a file.
std::string bytes_of(const std::filesystem::path& file) {
  std::ifstream in{file, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// The offset of the first byte where two files' contents differ, -1 when they are equal (a failed check then
/// prints a number, not kilobytes of binary).
long first_difference(const std::string& a, const std::string& b) {
  const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  return ia == a.end() && ib == b.end() ? -1 : static_cast<long>(ia - a.begin());
}

/// The names of the files in a folder.
std::vector<std::string> files_in(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator{folder})
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// The error of an open that must fail.
std::string refusal(const std::string& path) {
  auto opened = db::open_writer(ledger_at(path, {}));
  REQUIRE_FALSE(opened);
  return opened.error().message;
}

} // namespace

TEST_CASE("open creates the folder and the file at the latest schema", "[db][sqlite][open]") {
  temp_dir dir;
  const auto path = (dir.path() / "state" / "nested" / "ledger.db").string();
  REQUIRE_FALSE(std::filesystem::exists(dir.path() / "state"));
  {
    auto store = open_store(path);
    CHECK(store->probe());
  }
  CHECK(std::filesystem::is_regular_file(path));
  CHECK(db::sqlite::latest_schema_version() == 7);
  CHECK(peek_int(path, "PRAGMA user_version") == db::sqlite::latest_schema_version());
  CHECK(peek_int(path, "PRAGMA application_id") == db::sqlite::application_id);
  CHECK(peek_text(path, "PRAGMA journal_mode") == "wal");
  CHECK(peek_int(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('sends', 'events')")
        == 2);
}

TEST_CASE("reopening a ledger keeps its data and its version", "[db][sqlite][open]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    CHECK(register_committed(*store, {make_send("a")}).accepted == 1);
  }
  {
    auto store = open_store(dir.ledger());
    CHECK(peek_int(dir.ledger(), "PRAGMA user_version") == db::sqlite::latest_schema_version());
    // Still registered: a re-post is a duplicate, not a second send.
    auto out = register_committed(*store, {make_send("a")});
    CHECK(out.accepted == 0);
    CHECK(out.duplicates == 1);
  }
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends") == 1);
}

TEST_CASE("a version 3 ledger moves to per-send event dedupe and keeps its duplicates", "[db][sqlite][open]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    auto sent = make_send("a");
    sent.vendor_message_id = "SM1";
    REQUIRE(register_committed(*store, {sent}).accepted == 1);
    REQUIRE(apply_committed(*store, {make_event("SM1", core::status::sent, t0 + 1s, "SM1|sent"),
                                     make_event("SM9", core::status::sent, t0 + 1s, "SM9|sent")})
              .held == 1);
  }
  { // Back to version 3's indexes, as a ledger written by the previous release has them.
    SQLite::Database raw{dir.ledger(), SQLite::OPEN_READWRITE};
    revert_to_v4(raw);
    raw.exec("DROP INDEX events_dedupe; DROP INDEX events_held;"
             "CREATE UNIQUE INDEX events_by_dedupe ON events(vendor, dedupe_key) WHERE dedupe_key IS NOT NULL;"
             "CREATE INDEX events_held ON events(vendor, vendor_message_id) WHERE send IS NULL;"
             "PRAGMA user_version = 3;");
  }
  auto store = open_store(dir.ledger());
  CHECK(peek_int(dir.ledger(), "PRAGMA user_version") == db::sqlite::latest_schema_version());
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sqlite_schema WHERE name = 'events_by_dedupe'") == 0);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sqlite_schema WHERE name IN ('events_by_send', 'events_held')")
        == 2);
  // Stored and held events are still duplicates when they come again; a new one is applied.
  auto again = apply_committed(*store, {make_event("SM1", core::status::sent, t0 + 1s, "SM1|sent"),
                                        make_event("SM9", core::status::sent, t0 + 1s, "SM9|sent"),
                                        make_event("SM1", core::status::failed, t0 + 2s, "SM1|undelivered")});
  CHECK(again.duplicates == 2);
  CHECK(again.applied == 1);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM events") == 4); // intake, sent, held SM9, undelivered
}

TEST_CASE("the message key is the first 48 bits of SHA-256 over vendor, a zero byte and the id", "[db][sqlite][open]") {
  // Stored in every ledger: these values are pinned (Python: int.from_bytes(sha256(b"twilio\0SM1")[:6], "big")).
  CHECK(db::sqlite::vendor_message_key("twilio", "SM1") == 30848323051211);
  CHECK(db::sqlite::vendor_message_key("twilio", "SM2") == 172946100365583);
  CHECK(db::sqlite::vendor_message_key("sendgrid", "SM1") != db::sqlite::vendor_message_key("twilio", "SM1"));
  CHECK(db::sqlite::vendor_message_key("twilio", "SM1") < (std::int64_t{1} << 48));
}

TEST_CASE("a version 4 ledger moves to message keys and still finds its sends by vendor id", "[db][sqlite][open]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    REQUIRE(register_committed(*store, {send_with_id("a", "SM1"), make_send("b"), make_send("c")}).accepted == 3);
    REQUIRE(register_committed(*store, {send_with_id("b", "SM2")}).updated == 1); // learnt later: the update path
  }
  {
    SQLite::Database raw{dir.ledger(), SQLite::OPEN_READWRITE};
    revert_to_v4(raw);
    raw.exec("PRAGMA user_version = 4;");
  }
  auto store = open_store(dir.ledger());
  CHECK(peek_int(dir.ledger(), "PRAGMA user_version") == db::sqlite::latest_schema_version());
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sqlite_schema WHERE name = 'sends_by_vendor_message'") == 0);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sqlite_schema WHERE name = 'sends_by_message_key'") == 1);
  CHECK(peek_int(dir.ledger(), "SELECT message_key FROM sends WHERE send_id = 'a'")
        == db::sqlite::vendor_message_key("twilio", "SM1"));
  CHECK(peek_int(dir.ledger(), "SELECT message_key FROM sends WHERE send_id = 'b'")
        == db::sqlite::vendor_message_key("twilio", "SM2"));
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends WHERE send_id = 'c' AND message_key IS NULL") == 1);
  // Webhooks find the sends; a vendor id already taken is still refused to another send.
  auto applied = apply_committed(*store, {make_event("SM1", core::status::sent, t0 + 1s, "SM1|sent"),
                                          make_event("SM2", core::status::sent, t0 + 1s, "SM2|sent")});
  CHECK(applied.applied == 2);
  CHECK(applied.held == 0);
  auto out = register_committed(*store, {send_with_id("d", "SM1")});
  CHECK(out.accepted == 0);
  REQUIRE(out.rejected.size() == 1);
  CHECK_THAT(out.rejected[0].detail, Catch::Contains("already belongs to another send"));
}

TEST_CASE("an upgrade to message keys that stopped half-way resumes, and says what it does", "[db][sqlite][open]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    REQUIRE(register_committed(*store, {send_with_id("a", "SM1"), send_with_id("b", "SM2")}).accepted == 2);
  }
  { // As a crash leaves it: the column added and one chunk keyed, the old index and version still there.
    SQLite::Database raw{dir.ledger(), SQLite::OPEN_READWRITE};
    revert_to_v4(raw);
    raw.exec("ALTER TABLE sends ADD COLUMN message_key INTEGER;"
             "UPDATE sends SET message_key = " + std::to_string(db::sqlite::vendor_message_key("twilio", "SM1"))
             + " WHERE send_id = 'a'; PRAGMA user_version = 4;");
  }
  std::vector<std::string> said;
  auto options = ledger_at(dir.ledger());
  options.on_progress = [&](const std::string& what) { said.push_back(what); };
  auto opened = open_store(options);
  CHECK(peek_int(dir.ledger(), "PRAGMA user_version") == db::sqlite::latest_schema_version());
  CHECK(peek_int(dir.ledger(), "SELECT message_key FROM sends WHERE send_id = 'a'")
        == db::sqlite::vendor_message_key("twilio", "SM1"));
  CHECK(peek_int(dir.ledger(), "SELECT message_key FROM sends WHERE send_id = 'b'")
        == db::sqlite::vendor_message_key("twilio", "SM2"));
  REQUIRE(said.size() >= 2);
  CHECK_THAT(said.front(), Catch::StartsWith("upgrading the ledger from schema version 4 to 7"));
  CHECK(std::any_of(said.begin(), said.end(), [](const std::string& s) {
    return s.starts_with("schema version 5: indexing the message keys");
  }));
  CHECK(std::any_of(said.begin(), said.end(), [](const std::string& s) {
    return s.starts_with("schema version 6: counting the pending sends");
  }));
  CHECK_THAT(said.back(), Catch::StartsWith("schema version 7: counting the campaigns and one-time messages"));
}

TEST_CASE("a version 5 ledger counts its pending sends, and keeps refusing duplicate events with one index",
          "[db][sqlite][open]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger(), {{core::vendor::twilio, twilio_after}});
    auto carrier = make_send("c"); // a vendor without a deadline here: pending all the same
    carrier.vendor = core::vendor::carrier;
    auto excluded = make_send("x");
    excluded.vendor.reset();
    excluded.excluded = 10006;
    REQUIRE(register_committed(*store, {send_with_id("a", "SM1"), send_with_id("b", "SM2"), carrier, excluded})
              .accepted == 4);
    REQUIRE(apply_committed(*store, {make_event("SM1", core::status::sent, t0 + 1s, "SM1|delivered")}).applied == 1);
  }
  {
    SQLite::Database raw{dir.ledger(), SQLite::OPEN_READWRITE};
    revert_to_v5(raw);
    raw.exec("PRAGMA user_version = 5;");
  }
  auto store = open_store(dir.ledger(), {{core::vendor::twilio, twilio_after}});
  const auto& path = dir.ledger();
  CHECK(peek_int(path, "PRAGMA user_version") == db::sqlite::latest_schema_version());
  CHECK(peek_int(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('sends_pending', 'events_dedupe')") == 0);
  auto reader = open_reader(path);
  using counts = std::vector<std::pair<std::string, std::int64_t>>;
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}, {"twilio", 1}});

  // The stored event is still a duplicate; a new one applies, and the counts follow it.
  auto again = apply_committed(*store, {make_event("SM1", core::status::sent, t0 + 1s, "SM1|delivered"),
                                        make_event("SM2", core::status::failed, t0 + 2s, "SM2|failed")});
  CHECK(again.duplicates == 1);
  CHECK(again.applied == 1);
  CHECK(reader->pending_by_vendor().value() == counts{{"carrier", 1}});
  CHECK(history_of(*reader, "a") == std::vector<std::string>{"intake/pending/", "webhook/sent/"});
}

TEST_CASE("sends whose message keys collide are told apart by vendor and id", "[db][sqlite][open]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {send_with_id("x", "SMX"), send_with_id("y", "SMY"), send_with_id("b", "SM2")})
            .accepted == 3);
  { // A collision of SHA-256's first 48 bits cannot be found on purpose: give x SM2's key and y SM3's. Both come
    // before the send they collide with in the index (same key, lower row id).
    SQLite::Database raw{dir.ledger(), SQLite::OPEN_READWRITE};
    raw.exec("UPDATE sends SET message_key = " + std::to_string(db::sqlite::vendor_message_key("twilio", "SM2"))
             + " WHERE send_id = 'x'");
    raw.exec("UPDATE sends SET message_key = " + std::to_string(db::sqlite::vendor_message_key("twilio", "SM3"))
             + " WHERE send_id = 'y'");
  }
  auto failed = make_event("SM2", core::status::failed, t0 + 1s, "SM2|failed", "30003", core::category::unreachable);
  CHECK(apply_committed(*store, {failed}).applied == 1);
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends WHERE send_id = 'b'") == "failed");
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends WHERE send_id = 'x'") == "pending");
  // A vendor id stays one send's whatever shares its key, and a key shared with another id does not take it.
  auto taken = register_committed(*store, {send_with_id("c", "SM2")});
  CHECK(taken.accepted == 0);
  CHECK(taken.rejected.size() == 1);
  CHECK(register_committed(*store, {send_with_id("c", "SM3")}).accepted == 1);
  CHECK(apply_committed(*store, {make_event("SM3", core::status::sent, t0 + 1s, "SM3|sent")}).applied == 1);
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends WHERE send_id = 'c'") == "sent");
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends WHERE send_id = 'y'") == "pending");
}

TEST_CASE("a ledger of a newer schema is refused", "[db][sqlite][open]") {
  temp_dir dir;
  open_store(dir.ledger()).reset();
  {
    SQLite::Database raw{dir.ledger(), SQLite::OPEN_READWRITE};
    raw.exec("PRAGMA user_version = " + std::to_string(db::sqlite::latest_schema_version() + 1));
  }
  const auto message = refusal(dir.ledger());
  CHECK_THAT(message, Catch::Contains("run a newer deliveryd"));
  CHECK(peek_int(dir.ledger(), "PRAGMA user_version") == db::sqlite::latest_schema_version() + 1);
}

TEST_CASE("a foreign SQLite file is refused and left as it was", "[db][sqlite][open]") {
  temp_dir dir;
  const auto path = (dir.path() / "other.db").string();
  {
    SQLite::Database other{path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
    other.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
    other.exec("INSERT INTO customers (name) VALUES ('Kim'), ('Lee')");
  }
  const auto before = bytes_of(path);
  const auto files_before = files_in(dir.path());

  const auto message = refusal(path);
  CHECK_THAT(message, Catch::Contains("not a deliveryd ledger"));
  CHECK_THAT(message, Catch::Contains(path));

  CHECK(files_in(dir.path()) == files_before); // no -wal or -shm left behind
  CHECK(first_difference(bytes_of(path), before) == -1); // not a byte changed (not even the journal mode)
  CHECK(peek_int(path, "SELECT count(*) FROM customers") == 2);
  CHECK(peek_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'sends'") == 0);
}

TEST_CASE("a SQLite file with another application id is refused", "[db][sqlite][open]") {
  temp_dir dir;
  {
    SQLite::Database other{dir.ledger(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
    other.exec("PRAGMA application_id = 1234");
  }
  const auto before = bytes_of(dir.ledger());
  CHECK_THAT(refusal(dir.ledger()), Catch::Contains("not a deliveryd ledger"));
  CHECK(first_difference(bytes_of(dir.ledger()), before) == -1);
  CHECK(peek_int(dir.ledger(), "PRAGMA application_id") == 1234);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sqlite_schema") == 0);
}

TEST_CASE("a file that is not a database is refused and left as it was", "[db][sqlite][open]") {
  temp_dir dir;
  const auto path = (dir.path() / "noise.db").string();
  std::string noise(8192, '\0');
  std::mt19937 random{42};
  for (auto& c : noise)
    c = static_cast<char>(random() & 0xFF);
  {
    std::ofstream out{path, std::ios::binary};
    out << noise;
  }
  const auto message = refusal(path);
  CHECK_THAT(message, Catch::Contains(path));
  CHECK_THAT(message, Catch::Contains("not a database"));
  CHECK(first_difference(bytes_of(path), noise) == -1);
  CHECK(files_in(dir.path()) == std::vector<std::string>{"noise.db"});
}

TEST_CASE("an empty file is refused and left as it was, not made a new ledger", "[db][sqlite][open]") {
  temp_dir dir;
  std::ofstream{dir.ledger()}.close();
  const auto message = refusal(dir.ledger());
  CHECK_THAT(message, Catch::Contains(dir.ledger()));
  CHECK_THAT(message, Catch::Contains("the file is empty"));
  CHECK(std::filesystem::file_size(dir.ledger()) == 0);
  CHECK(files_in(dir.path()) == std::vector<std::string>{std::filesystem::path{dir.ledger()}.filename().string()});
}

TEST_CASE("a folder that cannot be created is an open error", "[db][sqlite][open]") {
  temp_dir dir;
  const auto blocker = dir.path() / "file";
  std::ofstream{blocker} << "x";
  const auto message = refusal((blocker / "sub" / "ledger.db").string());
  CHECK_THAT(message, Catch::Contains("cannot create the ledger's folder"));
}

TEST_CASE("a reader cannot open a ledger that does not exist", "[db][sqlite][open]") {
  temp_dir dir;
  auto opened = db::open_reader(ledger_at(dir.ledger()));
  REQUIRE_FALSE(opened);
  CHECK(opened.error().cause == db::fault::unavailable);
  CHECK_THAT(opened.error().message, Catch::Contains("cannot open the ledger for reading"));
  CHECK_FALSE(std::filesystem::exists(dir.ledger()));
}
