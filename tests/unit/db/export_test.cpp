/// Month exports on the read side: month bounds in the configured zone, the ascending keyset cursor over more rows
/// than a chunk (ties of requested_at broken by id), the day log's filters, and the XLSX writer (sheets, cells).

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <set>
#include <thread>
#include <tuple>

#include "core/month.hpp"
#include "db/export.hpp"
#include "db/xlsx_writer.hpp"
#include "ledger_fixture.hpp"
#include "../../support/shell_text.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using strings = std::vector<std::string>;

namespace {

const core::zone seoul = *core::zone::locate("Asia/Seoul");

core::timestamp utc(const char* rfc3339) { return *core::parse_rfc3339(rfc3339); }

/// Every row of [from, to) through a month cursor of `chunk` rows; `chunks` counts the non-empty ones.
std::vector<db::log_row> read_all(db::ledger_reader& reader, core::timestamp from, core::timestamp to,
                                  const db::log_filter& filter, std::size_t chunk, std::size_t& chunks) {
  db::month_cursor cursor{from, to, filter, chunk};
  std::vector<db::log_row> rows;
  chunks = 0;
  while (!cursor.done()) {
    auto part = cursor.next(reader).value();
    REQUIRE(part.size() <= chunk);
    if (!cursor.done())
      REQUIRE(part.size() == chunk);
    if (!part.empty())
      ++chunks;
    rows.insert(rows.end(), part.begin(), part.end());
    REQUIRE(chunks < 1000);
  }
  CHECK(cursor.next(reader).value().empty());
  return rows;
}

strings ids_of(const std::vector<db::log_row>& rows) {
  strings ids;
  for (const auto& r : rows)
    ids.push_back(r.send_id);
  return ids;
}

/// The ids of a month's export in Asia/Seoul, in one chunk.
strings month_ids(db::ledger_reader& reader, const char* month, const db::log_filter& filter = {}) {
  const auto span = core::month_bounds(seoul, *core::parse_month(month));
  std::size_t chunks = 0;
  return ids_of(read_all(reader, span.from, span.to, filter, 1000, chunks));
}

/// A send of the filter tests.
adapters::intake::send_request filtered(std::string id, core::send_type type, std::string source_id,
                                        core::medium medium, std::string contact, core::timestamp at) {
  auto s = make_send(std::move(id), at);
  s.type = type;
  s.source_id = std::move(source_id);
  s.medium = medium;
  s.contact = std::move(contact);
  return s;
}

} // namespace

TEST_CASE("export: months parse, print and step; bounds are the zone's midnights", "[db][export]") {
  CHECK(core::parse_month("2026-11") == 202611);
  CHECK(core::parse_month("1970-01") == 197001);
  for (std::string_view bad : {"", "2026-1", "2026-13", "2026-00", "2026/11", "202611", "2026-11-01", "1969-12",
                               "2026-1a", " 2026-11", "+026-11"}) {
    CAPTURE(bad);
    CHECK_FALSE(core::parse_month(bad));
  }
  CHECK(core::format_month(202611) == "2026-11");
  CHECK(core::next_month(202611) == 202612);
  CHECK(core::next_month(202612) == 202701);

  const auto nov = core::month_bounds(seoul, 202611);
  CHECK(nov.from == utc("2026-10-31T15:00:00Z"));
  CHECK(nov.to == utc("2026-11-30T15:00:00Z"));
  const auto dec = core::month_bounds(seoul, 202612);
  CHECK(dec.from == nov.to);
  CHECK(dec.to == utc("2026-12-31T15:00:00Z"));
  const auto feb = core::month_bounds(seoul, 202802); // a leap year
  CHECK(feb.to - feb.from == std::chrono::days{29});
}

TEST_CASE("export: a send at 2026-11-30T16:30:00Z is December's in Asia/Seoul, not November's", "[db][export]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("nov-first", utc("2026-10-31T15:00:00Z")),
                                      make_send("nov-last", utc("2026-11-30T14:59:59.999Z")),
                                      make_send("dec-first", utc("2026-11-30T15:00:00Z")),
                                      make_send("dec-1-0130", utc("2026-11-30T16:30:00Z")),
                                      make_send("oct-last", utc("2026-10-31T14:59:59.999Z"))})
            .accepted == 5);
  auto reader = open_reader(dir.ledger());
  CHECK(month_ids(*reader, "2026-11") == strings{"nov-first", "nov-last"});
  CHECK(month_ids(*reader, "2026-12") == strings{"dec-first", "dec-1-0130"});
  CHECK(month_ids(*reader, "2026-10") == strings{"oct-last"});
  CHECK(month_ids(*reader, "2027-01").empty());
}

TEST_CASE("export: chunks walk every row once, oldest first, ties of requested_at broken by id", "[db][export]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  const auto from = core::from_millis(1'790'035'200'000);
  const auto to = from + std::chrono::days{30};
  // 53 sends over 5 instants (one on each bound), registered out of time order so that ids and times disagree.
  const std::array<core::timestamp, 5> times{from + 3h, from, to - 1ms, from + 3h + 1ms, to};
  std::vector<adapters::intake::send_request> sends;
  for (int i = 0; i < 53; ++i)
    sends.push_back(make_send("s" + std::to_string(i), times[static_cast<std::size_t>(i) % times.size()]));
  REQUIRE(register_committed(*store, sends).accepted == 53);
  auto reader = open_reader(dir.ledger());

  std::size_t one_chunk = 0;
  const auto all = read_all(*reader, from, to, {}, 1000, one_chunk);
  CHECK(one_chunk == 1);
  REQUIRE(all.size() == 53 - 10); // the ten at `to` belong to the next range
  for (std::size_t i = 1; i < all.size(); ++i)
    CHECK(std::tie(all[i - 1].requested_at, all[i - 1].id) < std::tie(all[i].requested_at, all[i].id));
  CHECK(all.front().requested_at == from);
  CHECK(all.back().requested_at == to - 1ms);

  const auto chunk = GENERATE(as<std::size_t>{}, 1, 2, 3, 7, 10, 11, 42, 43, 44);
  CAPTURE(chunk);
  std::size_t chunks = 0;
  const auto walked = read_all(*reader, from, to, {}, chunk, chunks);
  CHECK(chunks == (43 + chunk - 1) / chunk);
  CHECK(ids_of(walked) == ids_of(all));
  std::set<std::int64_t> unique;
  for (const auto& r : walked)
    unique.insert(r.id);
  CHECK(unique.size() == 43);
}

TEST_CASE("export: the day log's filters, and failover legs ride on their logical send", "[db][export]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  using core::medium;
  using core::send_type;
  const auto base = utc("2026-11-10T00:00:00Z");
  const std::string a = "+821011112222";
  auto c1b = filtered("c1b", send_type::campaign, "c1", medium::lms, a, base + 2h);
  c1b.vendor_message_id = "SM-c1b";
  c1b.contact = "+821033334444";
  auto ak = filtered("ak", send_type::workflow, "", medium::alimtalk, a, base + 48h);
  ak.vendor = core::vendor::kakao;
  auto leg = filtered("ak-leg", send_type::workflow, "", medium::sms, a, base + 49h);
  leg.fallback_of = "ak";
  REQUIRE(register_committed(*store, {filtered("c1a", send_type::campaign, "c1", medium::sms, a, base + 1h), c1b,
                                      filtered("o1", send_type::one_time, "c1", medium::sms, a, base + 24h), ak,
                                      leg})
            .accepted == 5);
  REQUIRE(apply_committed(*store, {make_event("SM-c1b", core::status::failed, base + 3h, "f", "twilio:30003",
                                              core::category::unreachable)})
            .applied == 1);
  auto reader = open_reader(dir.ledger());
  auto with = [](auto set) {
    db::log_filter f;
    set(f);
    return f;
  };

  CHECK(month_ids(*reader, "2026-11") == strings{"c1a", "c1b", "o1", "ak"}); // the leg is no row of its own
  CHECK(month_ids(*reader, "2026-11", with([](auto& f) { f.campaign = "c1"; })) == strings{"c1a", "c1b"});
  CHECK(month_ids(*reader, "2026-11", with([](auto& f) { f.one_time = "c1"; })) == strings{"o1"});
  CHECK(month_ids(*reader, "2026-11", with([](auto& f) { f.status = core::status::failed; })) == strings{"c1b"});
  CHECK(month_ids(*reader, "2026-11", with([](auto& f) { f.medium = core::medium::sms; })) == strings{"c1a", "o1"});
  CHECK(month_ids(*reader, "2026-11", with([](auto& f) { f.medium = core::medium::alimtalk; })) == strings{"ak"});
  CHECK(month_ids(*reader, "2026-11", with([](auto& f) { f.contact = "+821033334444"; })) == strings{"c1b"});
  CHECK(month_ids(*reader, "2026-11", with([](auto& f) {
          f.campaign = "c1";
          f.medium = core::medium::sms;
        })) == strings{"c1a"});

  const auto span = core::month_bounds(seoul, 202611);
  std::size_t chunks = 0;
  const auto rows = read_all(*reader, span.from, span.to, {}, 1, chunks);
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].code == "twilio:30003");
  CHECK(rows[1].category == "unreachable");
  CHECK_FALSE(rows[1].reason.empty());
  const auto& logical = rows[3];
  REQUIRE(logical.legs.size() == 2);
  CHECK(logical.legs[0].send_id == "ak");
  CHECK(logical.legs[0].medium == "alimtalk");
  CHECK(logical.legs[1].send_id == "ak-leg");
  CHECK(logical.legs[1].medium == "sms");
  // The same rows as the day log shows, day by day.
  auto day = reader->day(base + 48h - 9h, base + 72h - 9h, {}, 100, std::nullopt).value();
  REQUIRE(day.rows.size() == 1);
  CHECK(day.rows[0].legs.size() == logical.legs.size());
  CHECK(day.rows[0].status == logical.status);
}

TEST_CASE("export: the XLSX writer starts a new sheet with its header at the row limit", "[db][export]") {
  temp_dir dir;
  const auto path = (dir.path() / "out.xlsx").string();
  auto opened = db::xlsx_writer::open({path, dir.path().string(), "2026-11", {"id", "when", "cost"}, {10, 20, 8}, 4});
  REQUIRE(std::holds_alternative<std::unique_ptr<db::xlsx_writer>>(opened));
  auto& book = *std::get<std::unique_ptr<db::xlsx_writer>>(opened);
  const std::string bad_utf8 = "a\xff<b>&";
  for (int i = 0; i < 7; ++i) {
    const auto id = "row-" + std::to_string(i);
    const std::array<db::xlsx_cell, 3> cells{std::string_view{i == 6 ? bad_utf8 : id},
                                             db::xlsx_datetime{1'790'035'200'000 + i * 1000},
                                             i == 5 ? db::xlsx_cell{} : db::xlsx_cell{12.5 * i}};
    REQUIRE_FALSE(book.add_row(cells));
  }
  REQUIRE_FALSE(book.close());
  CHECK(book.sheets() == 3); // 3 + 3 + 1 rows under a header each
  CHECK(book.add_row({}).has_value());

  const auto workbook = run("unzip -p '" + path + "' xl/workbook.xml");
  CHECK_THAT(workbook, Catch::Contains("name=\"2026-11\"") && Catch::Contains("name=\"2026-11 (2)\"")
                         && Catch::Contains("name=\"2026-11 (3)\""));
  const auto first = run("unzip -p '" + path + "' xl/worksheets/sheet1.xml");
  const auto third = run("unzip -p '" + path + "' xl/worksheets/sheet3.xml");
  CHECK(count_of(first, "<row ") == 4);
  CHECK(count_of(run("unzip -p '" + path + "' xl/worksheets/sheet2.xml"), "<row ") == 4);
  CHECK(count_of(third, "<row ") == 2);
  CHECK_THAT(first, Catch::Contains("<t>id</t>") && Catch::Contains("<t>row-0</t>") && Catch::Contains("<v>25</v>"));
  // 2026-09-22T00:00:00 local (1,790,035,200,000 ms read as local time) is Excel day 46287.
  CHECK_THAT(first, Catch::Contains("<v>46287</v>"));
  CHECK_THAT(third, Catch::Contains("<t>id</t>") && Catch::Contains("a\xEF\xBF\xBD&lt;b&gt;&amp;"));
  // A blank cell is not written at all: row 6 (sheet 2, third data row) has no C cell.
  CHECK_THAT(run("unzip -p '" + path + "' xl/worksheets/sheet2.xml"), !Catch::Contains("r=\"C4\""));
  // Every part is deflated at the fastest level ("Defl:S" in unzip's listing), and its CRC checks out.
  const auto listing = run("unzip -v '" + path + "'");
  CHECK(count_of(listing, "Defl:S") == 11); // 3 sheets + 8 package parts
  CHECK(count_of(listing, "Defl:N") == 0);
  CHECK_THAT(run("unzip -tq '" + path + "'"), Catch::Contains("No errors detected"));
}

TEST_CASE("export: text cells are valid UTF-8 and at most the given bytes", "[db][export]") {
  std::string out;
  db::clean_text("plain Ünïcödé 한글", out, 100);
  CHECK(out == "plain Ünïcödé 한글");
  db::clean_text("a\xC3", out, 100); // a cut sequence
  CHECK(out == "a\xEF\xBF\xBD");
  db::clean_text("\xED\xA0\x80x", out, 100); // a UTF-16 surrogate
  CHECK(out == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
  db::clean_text("ab한", out, 4); // never half a character
  CHECK(out == "ab");
  db::clean_text("abcdef", out, 4);
  CHECK(out == "abcd");
}

TEST_CASE("export: the prefetching cursor gives the same chunks, stops early, and passes errors on", "[db][export]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  const auto from = core::from_millis(1'790'035'200'000);
  std::vector<adapters::intake::send_request> sends;
  for (int i = 0; i < 25; ++i)
    sends.push_back(make_send("p" + std::to_string(i), from + std::chrono::minutes{i}));
  REQUIRE(register_committed(*store, sends).accepted == 25);
  auto reader = open_reader(dir.ledger());

  {
    db::prefetching_cursor rows{*reader, db::month_cursor{from, from + 24h, {}, 10}};
    std::vector<std::size_t> sizes;
    strings ids;
    for (auto chunk = rows.next().value(); !chunk.empty(); chunk = rows.next().value()) {
      sizes.push_back(chunk.size());
      for (const auto& r : chunk)
        ids.push_back(r.send_id);
    }
    CHECK(sizes == std::vector<std::size_t>{10, 10, 5});
    REQUIRE(ids.size() == 25);
    CHECK(ids.front() == "p0");
    CHECK(ids.back() == "p24");
    CHECK(rows.next().value().empty()); // and again: the end stays the end
  }
  {
    // Dropped after one chunk of many: the reading thread stops instead of reading on.
    db::prefetching_cursor rows{*reader, db::month_cursor{from, from + 24h, {}, 1}};
    CHECK(rows.next().value().size() == 1);
  }
  {
    // The connection is free again: the table goes away, and reading fails on the thread.
    store.reset();
    damage(dir.ledger(), "ALTER TABLE sends RENAME TO sends_gone");
    db::prefetching_cursor rows{*reader, db::month_cursor{from, from + 24h, {}, 10}};
    auto failed = rows.next();
    REQUIRE_FALSE(failed);
    CHECK_THAT(failed.error().message, Catch::Contains("sends"));
  }
}

TEST_CASE("export: with a creation time the same rows make the same XLSX bytes", "[db][export]") {
  temp_dir dir;
  const auto write = [&](const std::string& name, std::int64_t created) {
    const auto path = (dir.path() / name).string();
    auto opened = db::xlsx_writer::open({path, dir.path().string(), "2026-11", {"id", "cost"}, {10, 8}, 100, created});
    REQUIRE(std::holds_alternative<std::unique_ptr<db::xlsx_writer>>(opened));
    auto& book = *std::get<std::unique_ptr<db::xlsx_writer>>(opened);
    for (int i = 0; i < 3; ++i) {
      const auto id = "row-" + std::to_string(i);
      const std::array<db::xlsx_cell, 2> cells{std::string_view{id}, db::xlsx_cell{1.5 * i}};
      REQUIRE_FALSE(book.add_row(cells));
    }
    REQUIRE_FALSE(book.close());
    return run("od -An -tx1 -v '" + path + "'");
  };
  const std::int64_t november = 1'793'458'800; // 2026-11-01T00:00:00+09:00
  const auto first = write("a.xlsx", november);
  std::this_thread::sleep_for(std::chrono::milliseconds{2100}); // zip entries carry times to 2 s
  CHECK(write("b.xlsx", november) == first);
  CHECK(write("c.xlsx", november + 86'400) != first); // the time is in the workbook
  CHECK_THAT(run("unzip -p '" + (dir.path() / "a.xlsx").string() + "' docProps/core.xml"),
             Catch::Contains("2026-10-31T15:00:00Z"));
}
