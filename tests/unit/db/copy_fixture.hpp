#pragma once
/// Helpers of the copy-ledger tests: an SQLite ledger written through the real writer with every kind of send and
/// history over three months, PostgreSQL ledgers in the shared test cluster, and the comparison of what every query
/// answers on two ledgers (and of their tables, row for row).

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "core/month.hpp"
#include "core/text.hpp"
#include "core/utf8.hpp"
#include "db/copy_ledger.hpp"
#include "db/copy_rows.hpp"
#include "db/export.hpp"
#include "ledger_fixture.hpp"

namespace deliveryd::testing {

using strings = std::vector<std::string>;
using table_rows = std::vector<std::vector<std::string>>;

/// The zone of the test ledgers.
inline const core::zone& seoul() {
  static const auto z = *core::zone::locate("Asia/Seoul");
  return z;
}

/// The first and last instant the source ledger's sends are requested at: about t0 - 50 d .. t0 + 30 d, three
/// months (August to October 2026) once the purge has taken the oldest days.
inline const core::timestamp copy_first = t0 - std::chrono::hours{24 * 50};
inline const core::timestamp copy_last = t0 + std::chrono::hours{24 * 30};

/// The options of the SQLite ledger at `path`, whatever back end the other tests run on.
inline db::ledger_options sqlite_at(const std::string& path) {
  db::ledger_options options;
  options.path = path;
  options.sync = db::durability::none;
  options.deadlines = {{core::vendor::twilio, 1h}, {core::vendor::kakao, 1h}, {core::vendor::carrier, 2h},
                       {core::vendor::email, 1h}};
  options.polls[core::vendor::kakao] = {true, std::chrono::minutes{1}};
  options.polls[core::vendor::twilio] = {true, std::chrono::minutes{1}};
  return options;
}

/// The options of a PostgreSQL ledger of the shared test cluster, its database named after `key`.
inline db::ledger_options postgresql_at(const std::string& key) {
  auto options = sqlite_at(key);
  options.kind = db::backend::postgresql;
  options.postgresql.url = shared_cluster().connection_string(shared_database(key));
  options.postgresql.host_id = "copy-test";
  return options;
}

/// The copy of `from` into the PostgreSQL ledger `key`.
inline db::copy_options copy_of(const std::string& from, const std::string& key, std::size_t chunk = 7) {
  db::copy_options options;
  options.from = from;
  options.target = postgresql_at(key);
  options.chunk_sends = chunk;
  return options;
}

/// The rows `sql` gives on the SQLite file `path`, as text ("<null>" for NULL); texts as PostgreSQL can hold them.
inline table_rows storable_rows(const std::string& path, const std::string& sql) {
  auto rows = sqlite_rows(path, sql);
  for (auto& row : rows)
    for (auto& cell : row)
      cell = core::to_storable_utf8(cell);
  return rows;
}

/// The rows `sql` gives on the PostgreSQL ledger `key`.
inline table_rows pg_rows(const std::string& key, const std::string& sql) { return pg_query(shared_database(key), sql); }

/// "c1, c2, … FROM table" of each table a copy moves (db/copy_rows.hpp), and "1, 2, …", every column, to order
/// its rows by.
inline const std::vector<std::pair<std::string, std::string>>& copied_tables() {
  static const auto tables = [] {
    std::vector<db::copy_table> all{db::sends_table(), db::events_table()};
    all.insert(all.end(), db::count_tables().begin(), db::count_tables().end());
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& t : all) {
      std::string columns, order;
      for (std::size_t i = 0; i < t.columns.size(); ++i) {
        columns += (i ? ", " : "") + std::string{t.columns[i]};
        order += (i ? ", " : "") + std::to_string(i + 1);
      }
      out.emplace_back(columns + " FROM " + t.name, order);
    }
    return out;
  }();
  return tables;
}

// ---- the source ledger ----------------------------------------------------------------------------------------

/// A vendor event of `vendor` about `message_id`.
inline db::vendor_event vendor_event_of(core::vendor vendor, const std::string& message_id, core::status outcome,
                                        core::timestamp at, const std::string& key) {
  auto e = make_event(message_id, outcome, at, key);
  e.vendor = vendor;
  if (outcome == core::status::failed) {
    e.event.code = vendor == core::vendor::kakao ? "kakao:3018" : "twilio:30003";
    e.event.reason = "Unreachable\tdestination \"handset\" \\ 수신 불가";
    e.event.cat = core::category::unreachable;
    e.event.vendor_code = vendor == core::vendor::kakao ? "3018" : "30003";
  }
  // What a vendor may send: line breaks, quotes, backslashes, Hangul, and bytes that are not UTF-8 (SQLite keeps
  // them; PostgreSQL stores U+FFFD instead). The raw payload is not in any answer.
  e.raw = "{\"id\":\"" + message_id + "\",\n\t\"note\":\"a\\\\b 'q' \xED\x95\x9C \xFF\xFE\"}";
  return e;
}

/// Writes the source ledger at `path` through the real SQLite writer: campaigns and one-time messages with names,
/// follow-ups and workflows; SMS, LMS, e-mail and Alimtalk with failover legs; sent, failed with a reason, excluded
/// (10006, 11002), uncertain ME09 by deadline and corrected later; events held for sends registered later and for
/// sends never registered; polls with prices; vendor ids added by a re-post; ties of requested_at; a purge.
/// Returns every send_id, failover legs included.
inline strings build_source(const std::string& path, int rounds = 20) {
  auto store = open_store(sqlite_at(path));
  std::mt19937 rng{20261127};
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  strings ids, alimtalk, late;
  std::vector<std::pair<core::vendor, std::string>> message_ids, polled;
  int next = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto base = copy_first + std::chrono::hours{24 * 4 * round + pick(20)};
    std::vector<adapters::intake::send_request> batch;
    for (int i = 0; i < 10; ++i) {
      auto s = make_send("c" + std::to_string(next), base + std::chrono::minutes{i < 3 ? 0 : pick(600)}, batch.size());
      const int type = pick(4);
      s.type = type == 0 ? core::send_type::campaign : type == 1 ? core::send_type::one_time
               : type == 2 ? core::send_type::follow_up : core::send_type::workflow;
      if (type == 0) {
        s.source_id = pick(2) == 0 ? "cmp-a" : "cmp-b";
        s.source_name = s.source_id == "cmp-a" ? "겨울 세일" : (round < 5 ? "" : "Spring");
      } else if (type == 1) {
        s.source_id = pick(2) == 0 ? "ot-1" : "ot-2";
        s.source_name = "One-time " + s.source_id;
      }
      s.contact = std::vector<std::string>{"+821012345678", "+821087654321", "+15005550006"}[pick(3)];
      const int shape = pick(10);
      if (shape < 2) {
        s.medium = core::medium::alimtalk;
        s.vendor = core::vendor::kakao;
        alimtalk.push_back(s.send_id);
      } else if (shape < 4 && !alimtalk.empty()) {
        s.medium = pick(2) == 0 ? core::medium::sms : core::medium::lms;
        s.vendor = s.medium == core::medium::sms ? core::vendor::twilio : core::vendor::carrier;
        s.fallback_of = alimtalk[static_cast<std::size_t>(pick(static_cast<int>(alimtalk.size())))];
      } else if (shape == 4) {
        s.vendor.reset();
        s.excluded = pick(2) == 0 ? 10006 : 11002;
      } else if (shape == 5) {
        s.medium = core::medium::email;
        s.vendor = core::vendor::email;
        s.contact = "user" + std::to_string(pick(3)) + "@example.com";
      } else if (shape == 6) {
        s.medium = core::medium::lms;
        s.vendor = core::vendor::carrier;
      }
      if (s.vendor && pick(6) != 0) {
        s.vendor_message_id = "m" + std::to_string(next);
        message_ids.emplace_back(*s.vendor, *s.vendor_message_id);
        if (s.vendor == core::vendor::kakao || s.vendor == core::vendor::twilio)
          polled.emplace_back(*s.vendor, *s.vendor_message_id);
      }
      ids.push_back(s.send_id);
      batch.push_back(std::move(s));
      ++next;
    }
    // A send whose events came first: registered a round later, it takes them over.
    if (!late.empty()) {
      auto s = make_send("late-" + late.back(), base, batch.size());
      s.vendor_message_id = late.back();
      ids.push_back(s.send_id);
      batch.push_back(std::move(s));
    }
    register_committed(*store, batch, {}, base);
    // A re-post that adds the vendor's id to a send registered without one.
    for (auto& s : batch)
      if (s.vendor && !s.vendor_message_id && !s.fallback_of && s.vendor != core::vendor::kakao) {
        s.vendor_message_id = "upd-" + s.send_id;
        s.index = 0;
        register_committed(*store, {s}, {}, base + std::chrono::minutes{30});
        message_ids.emplace_back(*s.vendor, *s.vendor_message_id);
        break;
      }
    std::vector<db::vendor_event> events;
    late.push_back("early" + std::to_string(round));
    events.push_back(vendor_event_of(core::vendor::twilio, late.back(), core::status::sent, base, "early|" + late.back()));
    events.push_back(vendor_event_of(core::vendor::twilio, "ghost" + std::to_string(round), core::status::failed,
                                     base, "ghost|" + std::to_string(round))); // never registered
    for (int i = 0; i < 12; ++i) {
      const auto& [vendor, id] = message_ids[static_cast<std::size_t>(pick(static_cast<int>(message_ids.size())))];
      const core::status outcomes[] = {core::status::sent, core::status::failed, core::status::pending};
      const auto outcome = outcomes[pick(3)];
      events.push_back(vendor_event_of(vendor, id, outcome, base + std::chrono::minutes{10 + i},
                                       id + "|" + std::to_string(pick(4))));
    }
    apply_committed(*store, events, base + std::chrono::hours{1});
    // Polls: Kakao's answer and price, Twilio's price, the next poll and the back-off.
    std::vector<db::poll_update> polls;
    for (int i = 0; i < 3 && !polled.empty(); ++i) {
      const auto& [vendor, id] = polled[static_cast<std::size_t>(pick(static_cast<int>(polled.size())))];
      db::poll_update u;
      u.vendor = vendor;
      u.vendor_message_id = id;
      if (vendor == core::vendor::kakao && pick(2) == 0) {
        u.event = vendor_event_of(vendor, id, pick(2) == 0 ? core::status::sent : core::status::failed, base,
                                  "poll|" + id).event;
        u.event->source = core::event_source::poll;
      }
      u.price = vendor == core::vendor::kakao ? "8" : (pick(2) == 0 ? "-0.00790" : "-0.0105");
      u.price_unit = vendor == core::vendor::kakao ? "KRW" : "USD";
      u.next_poll_at = pick(2) == 0 ? std::optional{base + std::chrono::hours{2}} : std::nullopt;
      u.attempts = pick(3);
      u.received_at = base + std::chrono::minutes{40};
      u.raw = "{\"price\":\"" + u.price + "\"}";
      polls.push_back(std::move(u));
    }
    store->begin().value();
    store->apply_polls(polls, base + std::chrono::minutes{40}).value();
    store->commit().value();
    if (round % 3 == 2)
      fire_committed(*store, base + std::chrono::hours{3});
  }
  // Some uncertain sends corrected later by a definitive result.
  std::vector<db::vendor_event> corrections;
  for (std::size_t i = 0; i < message_ids.size(); i += 9)
    corrections.push_back(vendor_event_of(message_ids[i].first, message_ids[i].second, core::status::sent, copy_last,
                                          "late|" + message_ids[i].second));
  apply_committed(*store, corrections, copy_last);
  // The purge of the oldest days leaves gaps in the ids, and days without roll-ups.
  store->begin().value();
  while (store->purge(copy_last + std::chrono::hours{24 * 2}, 70, 5).value().more) {
  }
  store->commit().value();
  store.reset(); // a stopped daemon's ledger: closed, its WAL checkpointed
  strings kept;
  for (const auto& row : storable_rows(path, "SELECT send_id FROM sends ORDER BY id"))
    kept.push_back(row[0]);
  return kept;
}

// ---- what the queries answer ----------------------------------------------------------------------------------

inline std::string text_of(const db::log_row& r) {
  std::ostringstream out;
  out << r.id << '|' << r.send_id << '|' << core::to_millis(r.requested_at) << '|' << r.type << '|' << r.source_id
      << '|' << r.source_name << '|' << r.status << '|' << r.medium << '|' << r.vendor << '|' << r.contact << '|'
      << r.code << '|' << r.reason << '|' << r.category;
  for (const auto& l : r.legs)
    out << " [" << l.send_id << ' ' << l.medium << ' ' << l.vendor << ' ' << l.status << ' ' << l.code << ']';
  return out.str();
}

inline std::string text_of(const std::optional<db::send_detail>& d) {
  if (!d)
    return "none";
  std::ostringstream out;
  out << text_of(d->row) << " vid=" << d->vendor_message_id << " of=" << d->fallback_of << " price="
      << d->vendor_price << ' ' << d->vendor_price_unit;
  for (const auto& h : d->history)
    out << "\n  " << core::to_millis(h.at) << ' ' << h.source << ' ' << h.status << ' ' << h.code << ' '
        << h.vendor_status << ' ' << h.vendor_code;
  return out.str();
}

inline std::string text_of(const db::day_page& page) {
  std::string out;
  for (const auto& r : page.rows)
    out += text_of(r) + "\n";
  return out + "next " + (page.next ? db::encode_cursor(*page.next) : "none");
}

/// A summary's text; its roll-up rows sorted (the readers leave their order to the database).
inline std::string text_of(const db::summary_data& s) {
  strings rows;
  for (const auto& r : s.rows)
    rows.push_back(std::to_string(r.day) + ' ' + r.medium + ' ' + r.status + ' ' + std::to_string(r.sends) + ' '
                   + std::to_string(r.logical));
  std::sort(rows.begin(), rows.end());
  std::string out;
  for (const auto& r : rows)
    out += r + "\n";
  for (const auto& [currency, micros] : s.price_micros)
    out += currency + " " + std::to_string(micros) + "\n";
  return out;
}

inline std::string text_of(const std::vector<db::source_total>& sources) {
  std::string out;
  for (const auto& s : sources)
    out += s.type + ' ' + s.source_id + ' ' + s.name + ' ' + std::to_string(s.total) + "\n";
  return out;
}

/// Every page of [from, to) with `filter`, `limit` rows each, its cursors followed to the end.
inline strings day_pages(db::ledger_reader& reader, core::timestamp from, core::timestamp to,
                         const db::log_filter& filter, std::size_t limit) {
  strings pages;
  std::optional<db::log_cursor> after;
  do {
    auto page = reader.day(from, to, filter, limit, after).value();
    pages.push_back(text_of(page));
    after = page.next;
  } while (after && pages.size() < 1000);
  return pages;
}

/// Every row of a month's export, read as the exports read it.
inline strings export_rows(db::ledger_reader& reader, core::month_number month) {
  const auto span = core::month_bounds(seoul(), month);
  db::month_cursor cursor{span.from, span.to, {}, 50};
  strings rows;
  while (!cursor.done())
    for (const auto& r : cursor.next(reader).value())
      rows.push_back(text_of(r));
  return rows;
}

/// Checks that every query answers the same on `a` and `b`: the summary of each scope and month, every day's
/// pages (with filters) and their cursors, each month's export rows and sources, every send with its history, and
/// the pending sends per vendor.
inline void check_same_answers(db::ledger_reader& a, db::ledger_reader& b, const strings& send_ids) {
  std::vector<db::log_filter> filters(4);
  filters[1].campaign = "cmp-a";
  filters[2].status = core::status::failed;
  filters[3].medium = core::medium::alimtalk;
  std::set<core::month_number> months;
  for (auto at = copy_first - std::chrono::hours{24}; at < copy_last + std::chrono::hours{48};
       at += std::chrono::hours{24}) {
    const auto day = seoul().day_of(at);
    months.insert(core::month_of(day));
    const auto from = seoul().start_of_day(day);
    const auto to = from + std::chrono::hours{24};
    CAPTURE(day);
    for (const auto& filter : filters)
      CHECK(day_pages(a, from, to, filter, 4) == day_pages(b, from, to, filter, 4));
  }
  CHECK(months.size() >= 3);
  const std::vector<std::pair<std::string, std::string>> scopes{
    {"all", ""}, {"campaign", "cmp-a"}, {"campaign", "cmp-b"}, {"one_time", "ot-1"}, {"one_time", "ot-2"}};
  for (auto month : months) {
    CAPTURE(month);
    for (const auto& [scope, id] : scopes)
      CHECK(text_of(a.summary(scope, id, core::first_day(month), month * 100 + 31).value())
            == text_of(b.summary(scope, id, core::first_day(month), month * 100 + 31).value()));
    CHECK(text_of(a.sources(month).value()) == text_of(b.sources(month).value()));
    CHECK(export_rows(a, month) == export_rows(b, month));
  }
  for (const auto& id : send_ids) {
    CAPTURE(id);
    CHECK(text_of(a.find(id).value()) == text_of(b.find(id).value()));
  }
  CHECK(a.pending_by_vendor().value() == b.pending_by_vendor().value());
}

/// Checks that the PostgreSQL ledger `key` holds the SQLite ledger `path`'s rows, column for column.
inline void check_same_tables(const std::string& path, const std::string& key) {
  for (const auto& [table, order] : copied_tables()) {
    CAPTURE(table);
    CHECK(storable_rows(path, "SELECT " + table + " ORDER BY " + order)
          == pg_rows(key, "SELECT " + table + " ORDER BY " + order));
  }
}

} // namespace deliveryd::testing
