/// The read side: day views with their filters and pages, one send with its history, cursors, the pool, and
/// reading while the writer holds a transaction open.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <tuple>

#include "db/reader_pool.hpp"
#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using core::status;
using strings = std::vector<std::string>;

namespace {

/// The first instant of the day the reader tests look at (a whole day in ms).
const core::timestamp day_start = core::from_millis(1'790'035'200'000);
const core::timestamp day_end = day_start + 24h;

/// The send ids of a page, in its order.
strings ids_of(const db::day_page& page) {
  strings ids;
  for (const auto& r : page.rows)
    ids.push_back(r.send_id);
  return ids;
}

/// Every row of [day_start, day_end), page after page of `limit`, each cursor passed through its text.
std::vector<db::log_row> walk(db::ledger_reader& reader, std::size_t limit, std::size_t& pages) {
  std::vector<db::log_row> rows;
  std::optional<db::log_cursor> after;
  pages = 0;
  do {
    auto page = reader.day(day_start, day_end, {}, limit, after).value();
    ++pages;
    REQUIRE(page.rows.size() <= limit);
    if (page.next)
      REQUIRE(page.rows.size() == limit);
    rows.insert(rows.end(), page.rows.begin(), page.rows.end());
    after.reset();
    if (page.next) {
      auto decoded = db::decode_cursor(db::encode_cursor(*page.next));
      REQUIRE(decoded);
      after = decoded;
    }
    REQUIRE(pages < 1000);
  } while (after);
  return rows;
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

/// Day filters in a few words (designated initializers would warn about the fields left out).
db::log_filter campaign(std::string id) {
  db::log_filter f;
  f.campaign = std::move(id);
  return f;
}
db::log_filter one_time(std::string id) {
  db::log_filter f;
  f.one_time = std::move(id);
  return f;
}
db::log_filter with(core::status value) {
  db::log_filter f;
  f.status = value;
  return f;
}
db::log_filter with(core::medium value) {
  db::log_filter f;
  f.medium = value;
  return f;
}
db::log_filter contact(std::string value) {
  db::log_filter f;
  f.contact = std::move(value);
  return f;
}
/// Both filters' conditions.
db::log_filter operator&(db::log_filter a, const db::log_filter& b) {
  if (b.campaign) a.campaign = b.campaign;
  if (b.one_time) a.one_time = b.one_time;
  if (b.status) a.status = b.status;
  if (b.medium) a.medium = b.medium;
  if (b.contact) a.contact = b.contact;
  return a;
}

} // namespace

TEST_CASE("day() covers from (included) to (excluded) to the millisecond, newest first", "[db][reader]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("before", day_start - 1ms), make_send("first", day_start),
                                      make_send("last", day_end - 1ms), make_send("next", day_end),
                                      make_send("middle", day_start + 12h)})
            .accepted == 5);
  auto reader = open_reader(dir.ledger());
  auto page = reader->day(day_start, day_end, {}, 100, std::nullopt).value();
  CHECK(ids_of(page) == strings{"last", "middle", "first"});
  CHECK_FALSE(page.next);
  REQUIRE(page.rows.size() == 3);
  CHECK(page.rows[0].requested_at == day_end - 1ms);
  CHECK(page.rows[2].requested_at == day_start);
  CHECK(page.rows[0].status == "pending");
  CHECK(page.rows[0].medium == "sms");
  CHECK(page.rows[0].vendor == "twilio");
  CHECK(page.rows[0].type == "follow_up");
  CHECK(page.rows[0].contact == "+821012345678");

  CHECK(ids_of(reader->day(day_end, day_end + 24h, {}, 100, std::nullopt).value()) == strings{"next"});
  CHECK(reader->day(day_start + 1h, day_start + 2h, {}, 100, std::nullopt).value().rows.empty());
}

TEST_CASE("day() filters: campaign, one_time, status, medium, contact, and failover legs are not rows",
          "[db][reader]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  using core::medium;
  using core::send_type;
  const std::string a = "+821011112222";
  const std::string b = "+821033334444";
  auto c1b = filtered("c1b", send_type::campaign, "c1", medium::lms, b, day_start + 2h);
  c1b.vendor_message_id = "SM-c1b";
  auto mail = filtered("mail", send_type::follow_up, "", medium::email, "kim@example.com", day_start + 5h);
  mail.vendor = core::vendor::email;
  auto kakao = filtered("ak", send_type::workflow, "", medium::alimtalk, a, day_start + 7h);
  kakao.vendor = core::vendor::kakao;
  auto leg = filtered("leg", send_type::workflow, "", medium::sms, a, day_start + 6h);
  leg.fallback_of = "ak";
  REQUIRE(register_committed(*store, {
                                       filtered("c1a", send_type::campaign, "c1", medium::sms, a, day_start + 1h),
                                       c1b,
                                       filtered("c2", send_type::campaign, "c2", medium::sms, a, day_start + 3h),
                                       filtered("o1", send_type::one_time, "c1", medium::sms, a, day_start + 4h),
                                       mail,
                                       leg,
                                       kakao,
                                     })
            .accepted == 7);
  REQUIRE(apply_committed(*store, {make_event("SM-c1b", status::failed, day_start + 3h, "f", "twilio:30003",
                                              core::category::unreachable)})
            .applied == 1);
  auto reader = open_reader(dir.ledger());
  auto day = [&](const db::log_filter& f) { return ids_of(reader->day(day_start, day_end, f, 100, std::nullopt).value()); };

  CHECK(day({}) == strings{"ak", "mail", "o1", "c2", "c1b", "c1a"});
  CHECK(day(campaign("c1")) == strings{"c1b", "c1a"});
  CHECK(day(campaign("c2")) == strings{"c2"});
  CHECK(day(one_time("c1")) == strings{"o1"});
  CHECK(day(one_time("c2")).empty());
  CHECK(day(with(status::failed)) == strings{"c1b"});
  CHECK(day(with(status::pending)) == strings{"ak", "mail", "o1", "c2", "c1a"});
  CHECK(day(with(status::sent)).empty());
  CHECK(day(with(medium::lms)) == strings{"c1b"});
  CHECK(day(with(medium::sms)) == strings{"o1", "c2", "c1a"}); // the sms leg is not a row
  CHECK(day(with(medium::alimtalk)) == strings{"ak"});
  CHECK(day(contact(a)) == strings{"ak", "o1", "c2", "c1a"});
  CHECK(day(contact("kim@example.com")) == strings{"mail"});
  CHECK(day(campaign("c1") & with(medium::sms)) == strings{"c1a"});
  CHECK(day(campaign("c1") & with(status::failed) & contact(b)) == strings{"c1b"});

  auto failed = reader->day(day_start, day_end, with(status::failed), 100, std::nullopt).value();
  REQUIRE(failed.rows.size() == 1);
  CHECK(failed.rows[0].code == "twilio:30003");
  CHECK(failed.rows[0].category == "unreachable");
  CHECK_FALSE(failed.rows[0].reason.empty());
  CHECK(failed.rows[0].source_id == "c1");

  // The leg is still a send of its own for find().
  auto detail = reader->find("leg").value();
  REQUIRE(detail);
  CHECK(detail->fallback_of == "ak");
}

TEST_CASE("pages walk every row once, ties of requested_at broken by id", "[db][reader]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  // 23 sends over 4 instants, registered out of time order so that ids and times disagree.
  std::vector<adapters::intake::send_request> sends;
  const std::array<core::timestamp, 4> times{day_start + 3h, day_start, day_start + 3h + 1ms, day_end - 1ms};
  for (int i = 0; i < 23; ++i)
    sends.push_back(make_send("s" + std::to_string(i), times[static_cast<std::size_t>(i) % times.size()]));
  REQUIRE(register_committed(*store, sends).accepted == 23);
  auto reader = open_reader(dir.ledger());

  auto all = reader->day(day_start, day_end, {}, 1000, std::nullopt).value();
  REQUIRE(all.rows.size() == 23);
  CHECK_FALSE(all.next);
  for (std::size_t i = 1; i < all.rows.size(); ++i) {
    const auto& prev = all.rows[i - 1];
    const auto& cur = all.rows[i];
    CHECK(std::tie(prev.requested_at, prev.id) > std::tie(cur.requested_at, cur.id));
  }

  const auto limit = GENERATE(as<std::size_t>{}, 1, 2, 3, 5, 6, 22, 23, 24);
  CAPTURE(limit);
  std::size_t pages = 0;
  auto walked = walk(*reader, limit, pages);
  CHECK(pages == (23 + limit - 1) / limit);
  std::vector<std::int64_t> walked_ids, all_ids;
  for (const auto& r : walked)
    walked_ids.push_back(r.id);
  for (const auto& r : all.rows)
    all_ids.push_back(r.id);
  CHECK(walked_ids == all_ids);
  CHECK(std::set<std::int64_t>(walked_ids.begin(), walked_ids.end()).size() == 23);
}

TEST_CASE("a page exactly as long as the rest has no next cursor", "[db][reader]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  std::vector<adapters::intake::send_request> sends;
  for (int i = 0; i < 10; ++i)
    sends.push_back(make_send("s" + std::to_string(i), day_start + std::chrono::minutes{i}));
  REQUIRE(register_committed(*store, sends).accepted == 10);
  auto reader = open_reader(dir.ledger());
  auto first = reader->day(day_start, day_end, {}, 5, std::nullopt).value();
  CHECK(ids_of(first) == strings{"s9", "s8", "s7", "s6", "s5"});
  REQUIRE(first.next);
  CHECK(first.next->requested_at == core::to_millis(day_start + 5min));
  auto second = reader->day(day_start, day_end, {}, 5, first.next).value();
  CHECK(ids_of(second) == strings{"s4", "s3", "s2", "s1", "s0"});
  CHECK_FALSE(second.next);
  CHECK_FALSE(reader->day(day_start, day_end, {}, 10, std::nullopt).value().next);
}

TEST_CASE("find() gives the row, its ids and its history, nullopt for an unknown send", "[db][reader]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  auto s = make_send("a", day_start + 1h);
  s.type = core::send_type::campaign;
  s.source_id = "c1";
  s.source_name = "Black Friday";
  s.vendor_message_id = "SM1";
  REQUIRE(register_committed(*store, {s}, {}, day_start + 1h).accepted == 1);
  auto undelivered = make_event("SM1", status::failed, day_start + 2h, "f", "twilio:30003",
                                core::category::unreachable);
  undelivered.event.vendor_status = "undelivered";
  undelivered.event.vendor_code = "30003";
  REQUIRE(apply_committed(*store, {undelivered}).applied == 1);
  REQUIRE(fire_committed(*store, day_start + 3h) == 0);

  auto reader = open_reader(dir.ledger());
  CHECK_FALSE(reader->find("nope").value());
  auto d = reader->find("a").value();
  REQUIRE(d);
  CHECK(d->row.send_id == "a");
  CHECK(d->row.requested_at == day_start + 1h);
  CHECK(d->row.type == "campaign");
  CHECK(d->row.source_id == "c1");
  CHECK(d->row.source_name == "Black Friday");
  CHECK(d->row.status == "failed");
  CHECK(d->row.code == "twilio:30003");
  CHECK(d->vendor_message_id == "SM1");
  CHECK(d->fallback_of.empty());
  CHECK(d->vendor_price.empty());
  REQUIRE(d->history.size() == 2);
  CHECK(d->history[0].at == day_start + 1h);
  CHECK(d->history[0].source == "intake");
  CHECK(d->history[0].status == "pending");
  CHECK(d->history[1].at == day_start + 2h);
  CHECK(d->history[1].source == "webhook");
  CHECK(d->history[1].status == "failed");
  CHECK(d->history[1].code == "twilio:30003");
  CHECK(d->history[1].vendor_status == "undelivered");
  CHECK(d->history[1].vendor_code == "30003");
}

TEST_CASE("cursors survive their text and garbage is refused", "[db][reader]") {
  for (const db::log_cursor c : {db::log_cursor{0, 0}, db::log_cursor{1'790'035'200'000, 42},
                                 db::log_cursor{std::numeric_limits<std::int64_t>::max(),
                                                std::numeric_limits<std::int64_t>::max()}}) {
    const auto text = db::encode_cursor(c);
    CAPTURE(text);
    auto back = db::decode_cursor(text);
    REQUIRE(back);
    CHECK(back->requested_at == c.requested_at);
    CHECK(back->id == c.id);
  }
  CHECK(db::encode_cursor({35, 36}) == "z.10");
  for (std::string_view garbage : {"", ".", "1", "1.", ".1", "1.2.3", "-1.2", "1.-2", "+1.2", " 1.2", "1.2 ",
                                   "Z.1", "1.A", "1_2", "zzzzzzzzzzzzzz.1", "1.zzzzzzzzzzzzzz", "%%.%%",
                                   "0000000000000000000001.00000000000000000001", "-0.1", "1.-0", "01.2", "1.02"}) {
    CAPTURE(garbage);
    CHECK_FALSE(db::decode_cursor(garbage));
  }
}

TEST_CASE("the pool lends one connection per borrower and takes it back", "[db][reader]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("a", day_start)}).accepted == 1);
  db::reader_pool pool{ledger_at(dir.ledger())};
  const db::ledger_reader* first_address = nullptr;
  const db::ledger_reader* second_address = nullptr;
  {
    auto first = pool.acquire();
    auto second = pool.acquire();
    REQUIRE(first);
    REQUIRE(second);
    auto& l1 = *first;
    auto& l2 = *second;
    first_address = &*l1;
    second_address = &*l2;
    CHECK(&*l1 != &*l2);
    CHECK(l1->find("a").value().has_value());
    CHECK(l2->find("a").value().has_value());
  }
  auto again = pool.acquire();
  REQUIRE(again);
  auto& l3 = *again;
  // Both connections are idle in the pool: the next borrower gets one of them, not a new one.
  const bool reused = &*l3 == first_address || &*l3 == second_address;
  CHECK(reused);
  CHECK(l3->find("a").value().has_value());

  db::reader_pool missing{ledger_at((dir.path() / "missing.db").string())};
  auto refused = missing.acquire();
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains(on_postgresql() ? "holds no ledger" : "missing.db"));
}

TEST_CASE("a reader answers with the committed data while the writer holds a transaction open", "[db][reader]") {
  temp_dir dir;
  auto store = open_store(dir.ledger());
  REQUIRE(register_committed(*store, {make_send("old", day_start)}).accepted == 1);
  db::reader_pool pool{ledger_at(dir.ledger())};

  store->begin().value();
  std::vector<adapters::intake::send_request> many;
  for (int i = 0; i < 2000; ++i)
    many.push_back(make_send("new" + std::to_string(i), day_start + 1h));
  REQUIRE(store->register_sends(many, {}, day_start).value().accepted == 2000);
  // "old" (due at day_start + 1h) becomes uncertain, uncommitted; the new ones are due an hour later.
  REQUIRE(store->fire_deadlines(day_start + 90min, 10).value().fired == 1);

  const auto started = std::chrono::steady_clock::now();
  {
    auto lease = pool.acquire();
    REQUIRE(lease);
    auto& reader = *lease;
    auto page = reader->day(day_start, day_end, {}, 100, std::nullopt).value();
    CHECK(ids_of(page) == strings{"old"});
    CHECK(page.rows[0].status == "pending");
    CHECK_FALSE(reader->find("new0").value());
  }
  const auto waited = std::chrono::steady_clock::now() - started;
  CHECK(waited < 500ms); // the busy timeout is 5 s: a reader that waited for the writer would show it

  store->commit().value();
  auto lease = pool.acquire();
  auto& reader = *lease;
  auto page = reader->day(day_start, day_end, {}, 3000, std::nullopt).value();
  CHECK(page.rows.size() == 2001);
  CHECK(reader->find("old").value()->row.status == "uncertain");
}
