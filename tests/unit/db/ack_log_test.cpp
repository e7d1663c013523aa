/// The ack log (db/ack_log.hpp): records survive a reopen from the ledger's position, a torn or stale tail ends the
/// log, segments roll over and are reused once applied and synced, and the backlog bound refuses appends.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <thread>

#include "ack_log_fixture.hpp"
#include "db/ack_log.hpp"
#include "ledger_fixture.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;

namespace {

constexpr std::uint64_t small_segment = 64 << 10;

db::ack_log_options options_in(const temp_dir& dir, std::uint64_t segment = small_segment,
                               std::uint64_t backlog = 64 << 20) {
  db::ack_log_options o;
  o.dir = dir.path() / "ledger.db.acklog";
  o.segment_bytes = segment;
  o.backlog_bytes = backlog;
  return o;
}

/// The options of a log in `dir` that belongs to ledger `id`.
db::ack_log_options owned_by(const temp_dir& dir, const std::string& id) {
  auto o = options_in(dir);
  o.ledger_id = id;
  return o;
}

std::unique_ptr<db::ack_log> open_log(db::ack_log_options o, std::uint64_t applied = 0) {
  auto log = db::ack_log::open(std::move(o), applied);
  REQUIRE(log);
  return std::move(*log);
}

/// The event of webhook `i`, with a body of `raw_bytes` bytes.
db::vendor_event event_of(int i, std::size_t raw_bytes = 100) {
  auto e = make_event("SM" + std::to_string(i), core::status::failed, t0 + std::chrono::seconds{i},
                      "dk-" + std::to_string(i), "twilio:30003", core::category::unreachable);
  e.event.reason = "the handset is off";
  e.event.vendor_code = "30003";
  e.raw = std::string(raw_bytes, static_cast<char>('a' + i % 26));
  return e;
}

/// Every event acknowledged from `from` on, read in steps of at most `step` events.
std::vector<db::vendor_event> read_all(db::ack_log& log, std::uint64_t from, std::size_t step = 1000) {
  std::vector<db::vendor_event> out;
  for (;;) {
    auto got = log.read(from, step);
    INFO((got ? std::string{} : got.error().message));
    REQUIRE(got);
    if (got->end == from)
      return out;
    for (auto& e : got->events)
      out.push_back(std::move(e));
    from = got->end;
  }
}

bool same_event(const db::vendor_event& a, const db::vendor_event& b) {
  return a.vendor == b.vendor && a.vendor_message_id == b.vendor_message_id && a.received_at == b.received_at
         && a.raw == b.raw && a.event.source == b.event.source && a.event.outcome == b.event.outcome
         && a.event.code == b.event.code && a.event.reason == b.event.reason && a.event.cat == b.event.cat
         && a.event.vendor_time == b.event.vendor_time && a.event.vendor_status == b.event.vendor_status
         && a.event.vendor_code == b.event.vendor_code && a.event.dedupe_key == b.event.dedupe_key;
}

std::vector<std::filesystem::path> segments_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator{dir})
    out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("ack log: a record's events come back field for field", "[ack_log][sqlite]") {
  std::vector<db::vendor_event> events{event_of(1), event_of(2, 0)};
  events[1].vendor = core::vendor::email;
  events[1].event.source = core::event_source::poll;
  events[1].event.outcome = core::status::uncertain;
  events[1].vendor_message_id = std::string("with\0nul", 8);
  auto decoded = db::decode_events(db::encode_events(events));
  REQUIRE(decoded);
  REQUIRE(decoded->size() == 2);
  CHECK(same_event((*decoded)[0], events[0]));
  CHECK(same_event((*decoded)[1], events[1]));

  SECTION("a payload cut short, with a byte too many, or with an unknown enum value is refused") {
    const auto payload = db::encode_events(events);
    CHECK_FALSE(db::decode_events(payload.substr(0, payload.size() - 1)));
    CHECK_FALSE(db::decode_events(payload + "x"));
    auto bad = payload;
    bad[5] = 9; // the first event's vendor
    CHECK_FALSE(db::decode_events(bad));
    CHECK_FALSE(db::decode_events(""));
  }
}

TEST_CASE("ack log: acknowledged records are read back, and again after a reopen from any record",
          "[ack_log][sqlite]") {
  temp_dir dir;
  std::vector<db::vendor_event> sent;
  std::uint64_t middle = 0;
  {
    auto log = open_log(options_in(dir));
    for (int i = 0; i < 40; ++i) {
      std::vector<db::vendor_event> record{event_of(2 * i), event_of(2 * i + 1)};
      REQUIRE(append_wait(*log, record).empty());
      sent.insert(sent.end(), record.begin(), record.end());
      if (i == 19)
        middle = log->acknowledged();
    }
    const auto back = read_all(*log, 0, 7);
    REQUIRE(back.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i)
      CHECK(same_event(back[i], sent[i]));
    CHECK(log->counters().records == 40);
  }
  auto reopened = open_log(options_in(dir));
  CHECK(read_all(*reopened, 0).size() == sent.size());
  auto from_middle = open_log(options_in(dir), middle);
  const auto rest = read_all(*from_middle, middle);
  REQUIRE(rest.size() == 40);
  CHECK(same_event(rest.front(), sent[40]));
  CHECK(from_middle->backlog() == from_middle->acknowledged() - middle);
}

TEST_CASE("ack log: the log ends at a torn record, and the next append writes over it", "[ack_log][sqlite]") {
  temp_dir dir;
  std::uint64_t before_last = 0;
  {
    auto log = open_log(options_in(dir));
    for (int i = 0; i < 10; ++i) {
      before_last = log->acknowledged();
      REQUIRE(append_wait(*log, {event_of(i)}).empty());
    }
  }
  // A byte of the last record's body, as a power cut in the middle of its write would leave it.
  const auto segment = segments_in(dir.path() / "ledger.db.acklog").front();
  const int fd = ::open(segment.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, "#", 1, static_cast<off_t>(before_last + 40)) == 1);
  ::close(fd);

  auto log = open_log(options_in(dir));
  CHECK(log->acknowledged() == before_last);
  CHECK(read_all(*log, 0).size() == 9);
  REQUIRE(append_wait(*log, {event_of(99)}).empty());
  const auto back = read_all(*log, 0);
  REQUIRE(back.size() == 10);
  CHECK(same_event(back.back(), event_of(99)));
}

TEST_CASE("ack log: segments roll over, are reused once applied and synced, and their old records are not read",
          "[ack_log][sqlite]") {
  temp_dir dir;
  const auto folder = dir.path() / "ledger.db.acklog";
  auto log = open_log(options_in(dir));
  int next = 0;
  // About 9 records of 7 KiB per 64 KiB segment: 40 records span five segments.
  for (; next < 40; ++next)
    REQUIRE(append_wait(*log, {event_of(next, 7000)}).empty());
  CHECK(segments_in(folder).size() == 5);
  CHECK(read_all(*log, 0).size() == 40);
  CHECK(log->counters().segments_created == 5);

  // The ledger applied and synced everything: the writer's own segment stays, the others become spares.
  const auto applied = log->acknowledged();
  log->applied(applied, applied);
  // Ten more: five fill the writer's segment, five go to the start of a reused one, whose old records follow.
  for (; next < 50; ++next)
    REQUIRE(append_wait(*log, {event_of(next, 7000)}).empty());
  CHECK(log->counters().segments_reused == 1);
  CHECK(log->counters().segments_created == 5);
  CHECK(segments_in(folder).size() == 3); // of the four applied: two removed, one reused, one kept spare
  const auto rest = read_all(*log, applied);
  REQUIRE(rest.size() == 10);
  CHECK(same_event(rest.front(), event_of(40, 7000)));
  CHECK(same_event(rest.back(), event_of(49, 7000)));
  const auto end = log->acknowledged();
  log.reset();

  // A reused segment still holds records of its first use past the new ones: they are not this position's.
  auto again = open_log(options_in(dir), applied);
  CHECK(again->acknowledged() == end);
  CHECK(read_all(*again, applied).size() == 10);
}

TEST_CASE("ack log: a full backlog refuses appends until the ledger applies", "[ack_log][sqlite]") {
  temp_dir dir;
  auto log = open_log(options_in(dir, small_segment, 8 << 10));
  int appended = 0;
  std::string last;
  while ((last = append_wait(*log, {event_of(appended, 1000)})).empty())
    ++appended;
  CHECK(last == "full");
  CHECK(appended >= 6);
  CHECK(appended <= 9);
  CHECK(log->backlog() >= log->backlog_limit());
  log->applied(log->acknowledged(), 0);
  CHECK(log->backlog() == 0);
  CHECK(append_wait(*log, {event_of(100, 1000)}).empty());
}

TEST_CASE("ack log: a query waits for what was acknowledged before it, not for later appends",
          "[ack_log][sqlite]") {
  temp_dir dir;
  auto log = open_log(options_in(dir));
  using barrier = db::ack_log::barrier;
  // nothing acknowledged: nothing to wait for
  CHECK(log->wait_applied(std::chrono::milliseconds{1}) == barrier::applied);
  REQUIRE(append_wait(*log, {event_of(1)}).empty());
  const auto first = log->acknowledged();
  CHECK(log->wait_applied(std::chrono::milliseconds{50}) == barrier::timed_out);
  auto waiter = std::async(std::launch::async, [&] { return log->wait_applied(std::chrono::seconds{10}); });
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  REQUIRE(append_wait(*log, {event_of(2)}).empty()); // after the query arrived: not waited for
  log->applied(first, 0);
  CHECK(waiter.get() == barrier::applied);
}

TEST_CASE("ack log: while the ledger cannot commit, appends are refused and queries do not wait",
          "[ack_log][sqlite]") {
  temp_dir dir;
  auto log = open_log(options_in(dir));
  using barrier = db::ack_log::barrier;
  REQUIRE(append_wait(*log, {event_of(1)}).empty());
  const auto first = log->acknowledged();
  // A query already waiting goes on as soon as the ledger is found failing, long before its 10 s.
  const auto asked = std::chrono::steady_clock::now();
  auto waiter = std::async(std::launch::async, [&] { return log->wait_applied(std::chrono::seconds{10}); });
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  log->ledger_failing("the disk is full");
  CHECK(waiter.get() == barrier::ledger_failing);
  CHECK(std::chrono::steady_clock::now() - asked < std::chrono::seconds{5});
  CHECK(log->ledger_failing() == "the disk is full");
  CHECK(log->wait_applied(std::chrono::seconds{10}) == barrier::ledger_failing);
  // Nothing more is acknowledged: the refused record is not in the log.
  CHECK(append_wait(*log, {event_of(2)}) == "ledger failing");
  CHECK(log->acknowledged() == first);
  CHECK(log->failing().empty());
  // The ledger commits again: appends are taken, queries wait for the ledger again.
  log->ledger_failing("");
  REQUIRE(append_wait(*log, {event_of(3)}).empty());
  CHECK(log->wait_applied(std::chrono::milliseconds{50}) == barrier::timed_out);
  log->applied(log->acknowledged(), 0);
  CHECK(log->wait_applied(std::chrono::milliseconds{1}) == barrier::applied);
  const auto back = read_all(*log, 0);
  REQUIRE(back.size() == 2);
  CHECK(same_event(back[0], event_of(1)));
  CHECK(same_event(back[1], event_of(3)));
}

TEST_CASE("ack log: once stopped it takes nothing more, and reading goes on", "[ack_log][sqlite]") {
  temp_dir dir;
  auto log = open_log(options_in(dir));
  REQUIRE(append_wait(*log, {event_of(1)}).empty());
  log->stop();
  CHECK(append_wait(*log, {event_of(2)}) == "failing");
  CHECK(log->failing().empty());
  CHECK(read_all(*log, 0).size() == 1);
}

TEST_CASE("ack log: a segment of another size is refused", "[ack_log][sqlite]") {
  temp_dir dir;
  {
    auto log = open_log(options_in(dir, 128 << 10));
    REQUIRE(append_wait(*log, {event_of(1)}).empty());
  }
  auto refused = db::ack_log::open(options_in(dir, small_segment), 0);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().cause == db::fault::corrupt);
  CHECK_THAT(refused.error().message, Catch::Contains("larger than this deliveryd's segments"));
}

TEST_CASE("ack log: what a stopped log holds past a position is read without changing anything",
          "[ack_log][sqlite]") {
  temp_dir dir;
  const auto folder = dir.path() / "ledger.db.acklog";
  CHECK(db::ack_log::unapplied(folder, 0, small_segment).value() == 0); // no log at all
  std::uint64_t end = 0, middle = 0;
  {
    auto log = open_log(options_in(dir));
    for (int i = 0; i < 20; ++i) {
      REQUIRE(append_wait(*log, {event_of(i, 7000)}).empty());
      if (i == 9)
        middle = log->acknowledged();
    }
    end = log->acknowledged();
  }
  std::ofstream{folder / "0000000000000009.log.tmp"} << "left by a crash";
  CHECK(db::ack_log::unapplied(folder, 0, small_segment).value() == end);
  CHECK(db::ack_log::unapplied(folder, middle, small_segment).value() == end - middle);
  CHECK(db::ack_log::unapplied(folder, end, small_segment).value() == 0);
  CHECK(std::filesystem::exists(folder / "0000000000000009.log.tmp"));
}

TEST_CASE("ack log: segments past a torn end are reused without taking a live segment's name",
          "[ack_log][sqlite]") {
  temp_dir dir;
  const auto folder = dir.path() / "ledger.db.acklog";
  {
    auto log = open_log(options_in(dir));
    for (int i = 0; i < 25; ++i) // three segments
      REQUIRE(append_wait(*log, {event_of(i, 7000)}).empty());
  }
  // The first record torn: nothing was acknowledged (as far as the log can tell), and segments 1 and 2 lie past
  // its end. They become spares, and the appends that follow take segments 0, 1, 2 and 3 again.
  const int fd = ::open((folder / "0000000000000000.log").c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, "#", 1, 40) == 1);
  ::close(fd);
  auto log = open_log(options_in(dir));
  CHECK(log->acknowledged() == 0);
  for (int i = 100; i < 135; ++i)
    REQUIRE(append_wait(*log, {event_of(i, 7000)}).empty());
  const auto back = read_all(*log, 0);
  REQUIRE(back.size() == 35);
  CHECK(same_event(back.back(), event_of(134, 7000)));
  log.reset();
  auto again = open_log(options_in(dir));
  CHECK(read_all(*again, 0).size() == 35);
}

TEST_CASE("ack log: a pad that fills its segment to the end is followed by the very next segment",
          "[ack_log][sqlite]") {
  // A record that leaves exactly a header's room (24 bytes) at its segment's end: the next record does not fit,
  // a pad fills those 24 bytes, and the record begins the next segment. (A bug once put it one segment further,
  // where neither the ledger nor the next start looked: acknowledged, then lost.)
  temp_dir dir;
  constexpr std::size_t header = 24;
  // A payload's size grows byte for byte with the raw payload (its lengths are fixed-width fields).
  const std::size_t raw = small_segment - 2 * header - db::encode_events({event_of(1, 0)}).size();
  REQUIRE(header + db::encode_events({event_of(1, raw)}).size() == small_segment - header);
  std::uint64_t end = 0;
  {
    auto log = open_log(options_in(dir));
    REQUIRE(append_wait(*log, {event_of(1, raw)}).empty());
    CHECK(log->acknowledged() == small_segment - header);
    REQUIRE(append_wait(*log, {event_of(2, 100)}).empty());
    REQUIRE(append_wait(*log, {event_of(3, 100)}).empty());
    const auto back = read_all(*log, 0);
    REQUIRE(back.size() == 3);
    CHECK(same_event(back[1], event_of(2, 100)));
    end = log->acknowledged();
    CHECK(end < 2 * small_segment); // the two small records are in segment 1
  }
  auto again = open_log(options_in(dir));
  CHECK(again->acknowledged() == end);
  CHECK(read_all(*again, 0).size() == 3);
}

TEST_CASE("ack log: lives that each start at the ledger's position read every record back across reused segments",
          "[ack_log][sqlite]") {
  // As the daemon uses it: appends from several threads, the ledger reading behind them and reporting what it
  // committed and synced, a stop once it has applied everything, and the next life opened at that position.
  temp_dir dir;
  std::uint64_t position = 0;
  int next = 0;
  for (int life = 0; life < 4; ++life) {
    INFO("life " << life << ", opened at " << position);
    auto log = open_log(options_in(dir), position);
    REQUIRE(log->acknowledged() == position);
    std::atomic<int> appended{0};
    std::vector<std::thread> writers;
    const int first = next;
    constexpr int per_writer = 150;
    for (int w = 0; w < 3; ++w)
      writers.emplace_back([&, w] {
        for (int i = 0; i < per_writer; ++i) {
          const int n = first + w * per_writer + i;
          // 1 to 6 KiB: records end anywhere in a 64 KiB segment, and pads come at its end.
          if (append_wait(*log, {event_of(n, 1000 + (n * 2654435761u) % 5000)}).empty())
            ++appended;
        }
      });
    // The ledger: reads what is acknowledged, commits, then syncs one step behind (durable lags committed).
    std::uint64_t committed = position, durable = position;
    std::size_t read = 0;
    auto apply_some = [&] {
      auto got = log->read(committed, 40);
      INFO((got ? std::string{} : got.error().message));
      REQUIRE(got);
      read += got->events.size();
      durable = committed;
      committed = got->end;
      log->applied(committed, durable);
    };
    while (appended < 3 * per_writer) {
      apply_some();
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    for (auto& t : writers)
      t.join();
    while (committed < log->acknowledged())
      apply_some();
    log->applied(committed, committed);
    CHECK(read == static_cast<std::size_t>(3 * per_writer));
    next += 3 * per_writer;
    position = committed;
    log->stop();
  }
  CHECK(position > 8 * small_segment); // the lives went through many segments, reused ones among them
}

TEST_CASE("ack log: a folder that names another ledger is refused while it holds segments, and left as it was",
          "[ack_log][sqlite]") {
  temp_dir dir;
  const auto folder = dir.path() / "ledger.db.acklog";
  const auto mine = owned_by(dir, "ledger-a");
  {
    auto log = open_log(mine);
    REQUIRE(append_wait(*log, {event_of(1)}).empty());
  }
  CHECK(db::ack_log::ledger_id_in(folder).value() == "ledger-a");
  const auto before = segments_in(folder);
  const auto other = owned_by(dir, "ledger-b");
  auto refused = db::ack_log::open(other, 0);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().cause == db::fault::corrupt);
  CHECK_THAT(refused.error().message, Catch::Contains("belongs to another ledger (ledger id ledger-a, this "
                                                      "ledger's is ledger-b)"));
  CHECK(segments_in(folder) == before);
  CHECK(db::ack_log::ledger_id_in(folder).value() == "ledger-a");
  // Its own ledger still reads it.
  auto log = open_log(mine);
  REQUIRE(read_all(*log, 0).size() == 1);
}

TEST_CASE("ack log: a folder of another ledger with no segments left is taken over, without its spares",
          "[ack_log][sqlite]") {
  temp_dir dir;
  const auto folder = dir.path() / "ledger.db.acklog";
  const auto mine = owned_by(dir, "ledger-a");
  {
    auto log = open_log(mine);
    for (int i = 0; i < 30; ++i) // four segments, the first three applied and synced: spares or gone
      REQUIRE(append_wait(*log, {event_of(i, 7000)}).empty());
    log->applied(log->acknowledged(), log->acknowledged());
    REQUIRE(append_wait(*log, {event_of(99, 7000)}).empty()); // the writer recycles after a group
  }
  // Every segment of ledger a removed by hand; its spares stay. A spare taken back at the index it had would
  // bring ledger a's records to positions where ledger b's log looks for its own.
  bool spares = false;
  for (const auto& f : segments_in(folder)) {
    const auto name = f.filename().string();
    spares = spares || name.starts_with("spare-");
    if (name.ends_with(".log") && !name.starts_with("spare-"))
      std::filesystem::remove(f);
  }
  REQUIRE(spares);
  const auto other = owned_by(dir, "ledger-b");
  auto log = open_log(other);
  CHECK(db::ack_log::ledger_id_in(folder).value() == "ledger-b");
  for (const auto& f : segments_in(folder))
    CHECK_FALSE(f.filename().string().starts_with("spare-"));
  for (int i = 0; i < 12; ++i)
    REQUIRE(append_wait(*log, {event_of(200 + i, 7000)}).empty());
  log.reset();
  auto again = open_log(other);
  const auto back = read_all(*again, 0);
  REQUIRE(back.size() == 12);
  CHECK(same_event(back.front(), event_of(200, 7000)));
}

TEST_CASE("ack log: a folder written before logs named their ledger is named at open and keeps its records",
          "[ack_log][sqlite]") {
  temp_dir dir;
  const auto folder = dir.path() / "ledger.db.acklog";
  {
    auto log = open_log(options_in(dir)); // no ledger id: as a log of an earlier deliveryd
    REQUIRE(append_wait(*log, {event_of(1)}).empty());
    REQUIRE(append_wait(*log, {event_of(2)}).empty());
  }
  CHECK(db::ack_log::ledger_id_in(folder).value().empty());
  auto log = open_log(owned_by(dir, "ledger-a"));
  CHECK(db::ack_log::ledger_id_in(folder).value() == "ledger-a");
  CHECK(read_all(*log, 0).size() == 2);
}
