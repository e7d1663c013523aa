/// The message keys in memory (db/sqlite/recent_keys.hpp): the table's rules, its warm-up from a real ledger, and
/// that a wrong hint never changes which send an event reaches.

#include <catch2/catch.hpp>

#include "db/sqlite/recent_keys.hpp"
#include "db/sqlite/schema.hpp"
#include "db/sqlite/store.hpp"
#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using db::sqlite::recent_keys;

namespace {

/// A key in set `set` of a table of 2^min_set_bits sets, told apart from others of that set by `fp`.
std::int64_t key_in(std::int64_t set, std::int64_t fp) { return fp << 24 | set; }

/// Opens the SQLite writer itself (these tests look at its table), or fails the test.
std::unique_ptr<db::sqlite::ledger_store> open_sqlite(const std::string& path) {
  auto opened = db::sqlite::ledger_store::open(ledger_at(path));
  if (auto* error = std::get_if<db::ledger_error>(&opened))
    FAIL("open failed: " << error->message);
  return std::move(std::get<std::unique_ptr<db::sqlite::ledger_store>>(opened));
}

} // namespace

TEST_CASE("the key table finds what was put, and nothing for a key it does not hold", "[db][sqlite][keys]") {
  recent_keys keys{recent_keys::min_set_bits};
  keys.put(key_in(5, 1), 100);
  CHECK(keys.find(key_in(5, 1)) == 100);
  CHECK(keys.find(key_in(5, 2)) == std::nullopt); // same set, another fingerprint
  CHECK(keys.find(key_in(6, 1)) == std::nullopt); // same fingerprint, another set
  keys.put(key_in(5, 1), 250);                     // the writer's put replaces
  CHECK(keys.find(key_in(5, 1)) == 250);
  // Neither a rowid of 0, nor one past 40 bits, nor a negative key can be held: the index serves those.
  keys.put(key_in(7, 1), 0);
  keys.put(key_in(7, 2), std::int64_t{1} << 40);
  keys.put(-1, 5);
  CHECK(keys.find(key_in(7, 1)) == std::nullopt);
  CHECK(keys.find(key_in(7, 2)) == std::nullopt);
  const auto stats = keys.counters();
  CHECK(stats.entries == 1);
  CHECK(stats.hits == 2);
  CHECK(stats.misses == 4);
  CHECK(stats.capacity == (std::uint64_t{1} << recent_keys::min_set_bits) * 8);
}

TEST_CASE("a full set of the key table gives up its oldest send", "[db][sqlite][keys]") {
  recent_keys keys{recent_keys::min_set_bits};
  for (std::int64_t fp = 1; fp <= 8; ++fp)
    keys.put(key_in(3, fp), 100 + fp * 10); // rowids 110 .. 180, fingerprint 1 holds the oldest
  keys.put(key_in(3, 9), 50);               // the writer's: it takes the oldest's place, however old itself
  CHECK(keys.find(key_in(3, 1)) == std::nullopt);
  CHECK(keys.find(key_in(3, 9)) == 50);
  // The warm-up's offer displaces only an older send, and never an entry of the same key.
  keys.offer(key_in(3, 10), 40);
  CHECK(keys.find(key_in(3, 10)) == std::nullopt);
  keys.offer(key_in(3, 11), 500);
  CHECK(keys.find(key_in(3, 11)) == 500);
  CHECK(keys.find(key_in(3, 9)) == std::nullopt); // 50 was the oldest
  keys.offer(key_in(3, 11), 900);
  CHECK(keys.find(key_in(3, 11)) == 500);
  for (std::int64_t fp = 2; fp <= 8; ++fp)
    CHECK(keys.find(key_in(3, fp)) == 100 + fp * 10);
}

TEST_CASE("the key table is sized from the ledger, within its bounds", "[db][sqlite][keys]") {
  CHECK(recent_keys::set_bits_for(0) == 18);           // room for a million new sends: 16 MiB, resident as used
  CHECK(recent_keys::set_bits_for(5'000'000) == 20);   // 8.4M entries for 6M keys: 64 MiB
  CHECK(recent_keys::set_bits_for(50'000'000) == 20);  // the bound: the newest sends stay
  CHECK(recent_keys::set_bits_for(-3) == 18);
}

TEST_CASE("the warm-up reads every send's key from the index", "[db][sqlite][keys]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    std::vector<adapters::intake::send_request> sends;
    for (int i = 0; i < 10; ++i)
      sends.push_back(send_with_id("s" + std::to_string(i), "SM" + std::to_string(i)));
    sends.push_back(make_send("no-id")); // no vendor id yet: no key
    REQUIRE(register_committed(*store, sends).accepted == 11);
  }
  const auto rows = peek_rows(dir.ledger(), "SELECT message_key, id FROM sends WHERE message_key IS NOT NULL");
  REQUIRE(rows.size() == 10);
  recent_keys keys{recent_keys::min_set_bits};
  SQLite::Database db{dir.ledger(), SQLite::OPEN_READONLY};
  CHECK(db::sqlite::warm_up(db, keys) == 10);
  CHECK(keys.counters().entries == 10);
  for (const auto& row : rows)
    CHECK(keys.find(std::stoll(row[0])) == std::stoll(row[1]));
}

TEST_CASE("a key held for another send is checked against the row and the index decides", "[db][sqlite][keys]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    REQUIRE(register_committed(*store, {send_with_id("x", "SMX"), send_with_id("b", "SM2")}).accepted == 2);
  }
  // A collision of the key's 48 bits cannot be found on purpose: give x SM2's key. x comes first in the index,
  // so the warm-up holds x for that key, and b's offer (same key) does not replace it.
  damage(dir.ledger(), "UPDATE sends SET message_key = "
                         + std::to_string(db::sqlite::vendor_message_key("twilio", "SM2")) + " WHERE send_id = 'x'");
  auto store = open_sqlite(dir.ledger());
  const auto before = store->key_table();

  store->begin();
  auto out = store->apply_events({make_event("SM2", core::status::failed, t0 + 1s, "SM2|failed", "30003",
                                             core::category::unreachable)},
                                 t0 + 2s);
  store->commit();
  CHECK(out.applied == 1);
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends WHERE send_id = 'b'") == "failed");
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends WHERE send_id = 'x'") == "pending");
  CHECK(store->key_table().hits == before.hits + 1); // the table answered x, and x's row said no

  // The index's answer is put: the next event of b is found by rowid.
  store->begin();
  out = store->apply_events({make_event("SM2", core::status::failed, t0 + 3s, "SM2|failed-again", "30003",
                                        core::category::unreachable)},
                            t0 + 4s);
  store->commit();
  CHECK(out.applied == 1);
  CHECK(store->key_table().hits == before.hits + 2);
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM events WHERE send = (SELECT id FROM sends WHERE send_id = 'b') "
                               "AND source = 'webhook'") == 2);
  CHECK(peek_text(dir.ledger(), "SELECT status FROM sends WHERE send_id = 'x'") == "pending");
}

TEST_CASE("events find their sends through the table after a restart", "[db][sqlite][keys]") {
  temp_dir dir;
  {
    auto store = open_store(dir.ledger());
    REQUIRE(register_committed(*store, {send_with_id("a", "SM1"), send_with_id("b", "SM2")}).accepted == 2);
  }
  auto store = open_sqlite(dir.ledger());
  CHECK(store->key_table().entries == 2);
  store->begin();
  auto out = store->apply_events({make_event("SM1", core::status::sent, t0 + 1s, "SM1|sent"),
                                  make_event("SM2", core::status::sent, t0 + 1s, "SM2|sent"),
                                  make_event("SM9", core::status::sent, t0 + 1s, "SM9|sent")},
                                 t0 + 2s);
  store->commit();
  CHECK(out.applied == 2);
  CHECK(out.held == 1);
  const auto stats = store->key_table();
  CHECK(stats.hits == 2);
  CHECK(stats.misses == 1);
  CHECK(all_sends(dir.ledger()) == std::vector<std::string>{"a", "b"});
  CHECK(peek_int(dir.ledger(), "SELECT count(*) FROM sends WHERE status = 'sent'") == 2);
}
