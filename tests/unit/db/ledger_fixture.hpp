#pragma once
/// Helpers of the ledger tests: a fresh temporary folder per test, sends and vendor events in a few words, and
/// peeks at the database through a connection of the test's own.
///
/// The same tests run on both back ends. With DELIVERYD_TEST_BACKEND=postgresql (ctest's "db_tests on
/// postgresql") a ledger "path" names a database of its own in one throwaway PostgreSQL cluster that the test
/// program starts (tests/support/postgres_cluster.hpp); tests tagged [sqlite] check SQLite's own files and are
/// left out there.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "../../support/ledger_sql.hpp"
#include "../../support/postgres_cluster.hpp"

#include "db/ledger.hpp"

namespace deliveryd::testing {

using namespace std::chrono_literals;

/// An instant in late 2026, the time the tests live in.
inline const core::timestamp t0 = core::from_millis(1'790'000'000'000);

/// Twilio sends become uncertain this long after requested_at in these tests.
inline constexpr std::chrono::milliseconds twilio_after = 1h;

/// A folder of its own, removed with everything in it at the end of the test.
class temp_dir {
public:
  temp_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "deliveryd-db-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      FAIL("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// The folder.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// The default ledger file inside it.
  std::string ledger() const { return (path_ / "ledger.db").string(); }

private:
  std::filesystem::path path_;
};

/// A Twilio SMS follow-up send requested at `at`.
inline adapters::intake::send_request make_send(std::string send_id, core::timestamp at = t0,
                                                std::size_t index = 0) {
  adapters::intake::send_request s;
  s.send_id = std::move(send_id);
  s.type = core::send_type::follow_up;
  s.medium = core::medium::sms;
  s.vendor = core::vendor::twilio;
  s.contact = "+821012345678";
  s.requested_at = at;
  s.index = index;
  return s;
}

/// A Twilio send of `make_send` that the vendor already knows as `message_id`.
inline adapters::intake::send_request send_with_id(std::string send_id, std::string message_id) {
  auto s = make_send(std::move(send_id));
  s.vendor_message_id = std::move(message_id);
  return s;
}

/// A Twilio event about `message_id`; `dedupe_key` "" means the event has no identity of its own.
inline db::vendor_event make_event(std::string message_id, core::status outcome, core::timestamp at,
                                   std::string dedupe_key, std::string code = {},
                                   core::category cat = core::category::none) {
  db::vendor_event v;
  v.vendor = core::vendor::twilio;
  v.vendor_message_id = std::move(message_id);
  v.event.source = core::event_source::webhook;
  v.event.outcome = outcome;
  v.event.code = std::move(code);
  v.event.cat = cat;
  v.event.vendor_time = at;
  v.event.vendor_status = std::string{core::to_string(outcome)};
  v.event.dedupe_key = std::move(dedupe_key);
  v.received_at = at;
  v.raw = "raw";
  return v;
}

/// The database of the ledger "at" `path` on PostgreSQL, created at its first use.
inline std::string database_for(const std::string& path) { return shared_database(path); }

/// The options of the test ledger at `path`.
inline db::ledger_options ledger_at(const std::string& path,
                                    db::deadline_table deadlines = {{core::vendor::twilio, twilio_after}},
                                    db::durability sync = db::durability::none) {
  db::ledger_options options;
  options.path = path;
  options.deadlines = std::move(deadlines);
  options.sync = sync;
  if (on_postgresql()) {
    options.kind = db::backend::postgresql;
    options.postgresql.url = shared_cluster().connection_string(database_for(path));
    options.postgresql.host_id = "test";
  }
  return options;
}

/// Opens the writer of `options` or fails the test with the open error's sentence.
inline std::unique_ptr<db::ledger_writer> open_store(const db::ledger_options& options) {
  auto opened = db::open_writer(options);
  if (!opened)
    FAIL("open failed: " << opened.error().message);
  return std::move(*opened);
}

/// Opens the writer or fails the test with the open error's sentence.
inline std::unique_ptr<db::ledger_writer> open_store(const std::string& path,
                                                     db::deadline_table deadlines = {{core::vendor::twilio,
                                                                                      twilio_after}},
                                                     db::durability sync = db::durability::none) {
  return open_store(ledger_at(path, std::move(deadlines), sync));
}

/// Opens a read connection or fails the test.
inline std::unique_ptr<db::ledger_reader> open_reader(const std::string& path) {
  auto opened = db::open_reader(ledger_at(path));
  if (!opened)
    FAIL("reader open failed: " << opened.error().message);
  return std::move(*opened);
}

/// Registers sends in one committed transaction.
inline db::intake_outcome register_committed(db::ledger_writer& store,
                                             const std::vector<adapters::intake::send_request>& sends,
                                             std::vector<adapters::intake::rejection> rejected = {},
                                             core::timestamp now = t0) {
  store.begin().value();
  auto out = store.register_sends(sends, std::move(rejected), now).value();
  store.commit().value();
  return out;
}

/// Applies events in one committed transaction.
inline db::events_outcome apply_committed(db::ledger_writer& store, const std::vector<db::vendor_event>& events,
                                          core::timestamp now = t0) {
  store.begin().value();
  auto out = store.apply_events(events, now).value();
  store.commit().value();
  return out;
}

/// Fires deadlines in one committed transaction.
inline std::size_t fire_committed(db::ledger_writer& store, core::timestamp now, std::size_t limit = 1000) {
  store.begin().value();
  auto fired = store.fire_deadlines(now, limit).value().fired;
  store.commit().value();
  return fired;
}

/// A send as the read interface gives it, through a connection of its own; nullopt when none has that id.
inline std::optional<db::send_detail> find_send(const std::string& path, const std::string& send_id) {
  return open_reader(path)->find(send_id).value();
}

/// A send that must be registered, as the read interface gives it.
inline db::send_detail send_of(const std::string& path, const std::string& send_id) {
  auto found = find_send(path, send_id);
  if (!found)
    FAIL("no send " << send_id);
  return std::move(*found);
}

/// Every registered send's id, failover legs included, in the exports' order (requested_at, then registration).
inline std::vector<std::string> all_sends(const std::string& path) {
  auto reader = open_reader(path);
  std::vector<std::string> ids;
  std::optional<db::log_cursor> after;
  do {
    auto page = reader->ascending(core::from_millis(0), core::from_millis(4'102'444'800'000), {}, 1000, after).value();
    for (const auto& row : page.rows) {
      ids.push_back(row.send_id);
      for (std::size_t i = 1; i < row.legs.size(); ++i) // the first is the Alimtalk send itself
        ids.push_back(row.legs[i].send_id);
    }
    after = page.next;
  } while (after);
  return ids;
}

/// The rows a query gives, as text ("<null>" for NULL; booleans as 1 or 0 on both back ends when the query says
/// `CASE WHEN … THEN 1 ELSE 0 END`), read through a connection of the test's own.
inline std::vector<std::vector<std::string>> peek_rows(const std::string& path, const std::string& sql) {
  return ledger_query(path, sql);
}

/// The single text a query gives ("<null>" for NULL), read through a connection of the test's own.
inline std::string peek_text(const std::string& path, const std::string& sql) {
  auto rows = peek_rows(path, sql);
  if (rows.empty() || rows.front().empty())
    FAIL("no value: " << sql);
  return rows.front().front();
}

/// The single integer a query gives, read through a connection of the test's own.
inline std::int64_t peek_int(const std::string& path, const std::string& sql) {
  return std::stoll(peek_text(path, sql));
}

/// Runs `sql` on the ledger through a connection of the test's own, as damage from outside would.
inline void damage(const std::string& path, const std::string& sql) { ledger_command(path, sql); }

/// The statuses of a send's history, oldest first (`status/source/code` per entry).
inline std::vector<std::string> history_of(db::ledger_reader& reader, const std::string& send_id) {
  std::vector<std::string> out;
  auto detail = reader.find(send_id).value();
  if (!detail)
    return out;
  for (const auto& h : detail->history)
    out.push_back(h.source + "/" + h.status + "/" + h.code);
  return out;
}

} // namespace deliveryd::testing
