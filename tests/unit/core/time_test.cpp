/// Time: RFC 3339, zones and calendar days, SMPP local times, durations.

#include <catch2/catch.hpp>

#include <string>

#include "core/time.hpp"

using namespace deliveryd::core;
using namespace std::chrono_literals;

namespace {

// The instant of a UTC civil time, computed independently of the code under test.
timestamp utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0, int ms = 0) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} / std::chrono::day{d}};
  return timestamp{day + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s} +
                   std::chrono::milliseconds{ms}};
}

zone must_locate(std::string_view name) {
  const auto z = zone::locate(name);
  REQUIRE(z.has_value());
  return *z;
}

} // namespace

TEST_CASE("parse_rfc3339 reads offsets, Z and fractions", "[time]") {
  CHECK(parse_rfc3339("2026-11-27T10:00:00+09:00") == utc(2026, 11, 27, 1));
  CHECK(parse_rfc3339("2026-11-27T01:00:00Z") == utc(2026, 11, 27, 1));
  CHECK(parse_rfc3339("2026-11-27t01:00:00z") == utc(2026, 11, 27, 1));
  CHECK(parse_rfc3339("2026-11-26T20:30:00-04:30") == utc(2026, 11, 27, 1));
  CHECK(parse_rfc3339("2026-11-27T01:00:00-00:00") == utc(2026, 11, 27, 1));
  CHECK(parse_rfc3339("2026-11-27T01:00:00.25Z") == utc(2026, 11, 27, 1, 0, 0, 250));
  CHECK(parse_rfc3339("2026-11-27T01:00:00.1Z") == utc(2026, 11, 27, 1, 0, 0, 100));
  // Digits past milliseconds are truncated, not rounded.
  CHECK(parse_rfc3339("2026-11-27T01:00:00.123999999Z") == utc(2026, 11, 27, 1, 0, 0, 123));
  CHECK(parse_rfc3339("2024-02-29T23:59:59Z") == utc(2024, 2, 29, 23, 59, 59));
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == from_millis(0));
  CHECK(parse_rfc3339("2026-01-01T00:30:00+09:00") == utc(2025, 12, 31, 15, 30));
}

TEST_CASE("parse_rfc3339 refuses what is not RFC 3339 with an offset", "[time]") {
  for (const char* bad : {"", "2026-11-27", "2026-11-27T10:00:00", "2026-11-27 10:00:00Z",
                          "2026-11-27T10:00Z", "2026-11-27T10:00:00+0900", "2026-11-27T10:00:00+09",
                          "2026-11-27T10:00:00+09:00 ", " 2026-11-27T10:00:00Z", "2026-11-27T10:00:00Zx",
                          "2026-11-27T10:00:00.Z", "2026-11-27T10:00:00,5Z", "2026-02-29T10:00:00Z",
                          "2026-13-01T10:00:00Z", "2026-00-10T10:00:00Z", "2026-04-31T10:00:00Z",
                          "2026-11-27T24:00:00Z", "2026-11-27T10:60:00Z", "2026-11-27T10:00:60Z",
                          "2026-11-27T10:00:00+24:00", "2026-11-27T10:00:00+09:60", "26-11-27T10:00:00Z",
                          "2026-1-27T10:00:00Z", "2026-11-27T1:00:00Z", "+2026-11-27T10:00:00Z",
                          "2026-11-27T10:00:00+09:00:00", "2026/11/27T10:00:00Z"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
}

TEST_CASE("zone::locate finds IANA zones and refuses others", "[time]") {
  const auto seoul = must_locate("Asia/Seoul");
  CHECK(seoul.name() == "Asia/Seoul");
  CHECK_FALSE(zone::locate("Asia/Nowhere").has_value());
  CHECK_FALSE(zone::locate("").has_value());
}

TEST_CASE("Asia/Seoul formats with +09:00 and days turn at 15:00 UTC", "[time]") {
  const auto seoul = must_locate("Asia/Seoul");
  CHECK(seoul.format(utc(2026, 11, 27, 1)) == "2026-11-27T10:00:00+09:00");
  CHECK(seoul.format(utc(2026, 11, 27, 1, 0, 0, 250)) == "2026-11-27T10:00:00.250+09:00");
  CHECK(seoul.format(utc(2026, 11, 27, 1, 0, 0, 7)) == "2026-11-27T10:00:00.007+09:00");
  CHECK(seoul.day_of(utc(2026, 11, 30, 16, 30)) == 20261201);
  CHECK(seoul.day_of(utc(2026, 11, 30, 14, 59, 59, 999)) == 20261130);
  CHECK(seoul.day_of(utc(2026, 11, 30, 15)) == 20261201);
  CHECK(seoul.start_of_day(20261201) == utc(2026, 11, 30, 15));
  CHECK(seoul.start_of_day(20270101) == utc(2026, 12, 31, 15));
  // The round trip of format and parse is exact.
  const auto t = utc(2026, 3, 1, 23, 59, 59, 999);
  CHECK(parse_rfc3339(seoul.format(t)) == t);
}

TEST_CASE("the UTC zone prints +00:00", "[time]") {
  const auto z = must_locate("UTC");
  CHECK(z.format(utc(2026, 11, 27, 1, 2, 3)) == "2026-11-27T01:02:03+00:00");
  CHECK(z.day_of(utc(2026, 11, 27, 23, 59)) == 20261127);
  CHECK(z.start_of_day(20261127) == utc(2026, 11, 27));
}

TEST_CASE("a local mean time offset with seconds prints the instant it names", "[time]") {
  // Seoul before 1908 is +08:27:52; RFC 3339 has whole minutes only, so the clock goes with +08:27.
  const auto seoul = must_locate("Asia/Seoul");
  const auto at = utc(1900, 1, 1, 0, 0, 0, 50);
  CHECK(seoul.format(at) == "1900-01-01T08:27:00.050+08:27");
  CHECK(parse_rfc3339(seoul.format(at)) == at);
}

TEST_CASE("America/New_York across its DST transitions", "[time]") {
  const auto ny = must_locate("America/New_York");
  // 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00Z).
  CHECK(ny.format(utc(2026, 3, 8, 6, 59, 59)) == "2026-03-08T01:59:59-05:00");
  CHECK(ny.format(utc(2026, 3, 8, 7)) == "2026-03-08T03:00:00-04:00");
  CHECK(ny.start_of_day(20260308) == utc(2026, 3, 8, 5));
  CHECK(ny.start_of_day(20260309) == utc(2026, 3, 9, 4)); // a 23-hour day
  CHECK(ny.day_of(utc(2026, 3, 9, 3, 59)) == 20260308);
  CHECK(ny.day_of(utc(2026, 3, 9, 4)) == 20260309);
  // 02:30 on the spring-forward day does not exist.
  CHECK_FALSE(ny.parse_yymmddhhmm("2603080230").has_value());
  CHECK(ny.parse_yymmddhhmm("2603080159") == utc(2026, 3, 8, 6, 59));
  CHECK(ny.parse_yymmddhhmm("2603080300") == utc(2026, 3, 8, 7));
  // 2026-11-01 02:00 EDT falls back to 01:00 EST (06:00Z): 01:30 happens twice, the earlier one is taken.
  CHECK(ny.parse_yymmddhhmm("2611010130") == utc(2026, 11, 1, 5, 30));
  CHECK(ny.format(utc(2026, 11, 1, 5, 30)) == "2026-11-01T01:30:00-04:00");
  CHECK(ny.format(utc(2026, 11, 1, 6, 30)) == "2026-11-01T01:30:00-05:00");
  CHECK(ny.start_of_day(20261102) - ny.start_of_day(20261101) == 25h);
}

TEST_CASE("a zone whose midnight does not exist starts its day at the jump", "[time]") {
  // Asia/Gaza and America/Havana moved clocks at midnight; Havana 2026-03-08 00:00 -> 01:00 (05:00Z).
  const auto havana = must_locate("America/Havana");
  const auto start = havana.start_of_day(20260308);
  CHECK(start == utc(2026, 3, 8, 5));
  CHECK(havana.format(start) == "2026-03-08T01:00:00-04:00");
  CHECK(havana.day_of(start) == 20260308);
  CHECK(havana.day_of(start - 1ms) == 20260307);
}

TEST_CASE("parse_yymmddhhmm reads SMPP local times in the zone", "[time]") {
  const auto seoul = must_locate("Asia/Seoul");
  CHECK(seoul.parse_yymmddhhmm("2611270932") == utc(2026, 11, 27, 0, 32));
  CHECK(seoul.parse_yymmddhhmm("0001010000") == utc(1999, 12, 31, 15));
  CHECK(seoul.parse_yymmddhhmm("2402290000") == utc(2024, 2, 28, 15));
  for (const char* bad : {"", "261127093", "26112709320", "2602290000", "2613010000", "2611000000",
                          "2611272400", "2611270960", "26112709:2", "+611270932", "2611270932 "}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(seoul.parse_yymmddhhmm(bad).has_value());
  }
}

TEST_CASE("parse_day and format_day", "[time]") {
  CHECK(parse_day("2026-11-27") == 20261127);
  CHECK(parse_day("2024-02-29") == 20240229);
  CHECK(parse_day("2026-01-01") == 20260101);
  for (const char* bad : {"", "2026-11-2", "2026-11-270", "2026-02-29", "2026-13-01", "2026-00-01",
                          "2026-11-00", "2026-11-31", "2026/11/27", "20261127", " 2026-11-27", "2026-11-27T"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(parse_day(bad).has_value());
  }
  CHECK(format_day(20261127) == "2026-11-27");
  CHECK(format_day(20260105) == "2026-01-05");
  CHECK(format_day(*parse_day("2030-12-31")) == "2030-12-31");
}

TEST_CASE("parse_duration reads <integer><unit>", "[time]") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("2s") == 2s);
  CHECK(parse_duration("15m") == 15min);
  CHECK(parse_duration("72h") == 72h);
  CHECK(parse_duration("3d") == std::chrono::milliseconds{3LL * 24 * 3600 * 1000});
  CHECK(parse_duration("0s") == 0ms);
  CHECK(parse_duration("0ms") == 0ms);
  CHECK(parse_duration("9223372036854775807ms") == std::chrono::milliseconds::max());
  for (const char* bad : {"", "s", "5", "-5s", "+5s", " 5s", "5s ", "5 s", "5S", "5sec", "1.5h", "5us", "5mss",
                          "9223372036854775808ms", "9223372036854775807s", "106751991167301d",
                          "99999999999999999999999h"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(parse_duration(bad).has_value());
  }
  CHECK(parse_duration("106751991167d").has_value());
}
