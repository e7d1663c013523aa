/// Twilio's REST message resource, which the poller parses: parse_message, and parse_rfc2822 for its dates.
///
/// Input: the whole input is the JSON answer; it is also read as an RFC 2822 date.

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

#include <date/date.h>

#include "adapters/twilio/poll.hpp"
#include "fuzz_support.hpp"

namespace tw = deliveryd::adapters::twilio;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

/// An instant as Twilio writes dates ("Fri, 27 Nov 2026 00:32:00 +0000"), without the weekday.
std::string rfc2822(core::timestamp t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss clock{date::floor<std::chrono::seconds>(t) - day};
  constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::array<char, 64> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%02u %s %04d %02d:%02d:%02d +0000", static_cast<unsigned>(ymd.day()),
                months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return buffer.data();
}

/// A date that reads is a whole second of a four-digit year, and reads back the same written in UTC.
void check_date(std::string_view text) {
  const auto at = tw::parse_rfc2822(text);
  if (!at)
    return;
  FUZZ_CHECK(core::to_millis(*at) % 1000 == 0);
  const auto year = static_cast<int>(date::year_month_day{date::floor<date::days>(*at)}.year());
  // Offsets move the instant by less than a day around years 0000-9999.
  FUZZ_CHECK(year >= -1 && year <= 10000);
  if (year >= 0 && year <= 9999)
    FUZZ_CHECK(tw::parse_rfc2822(rfc2822(*at)) == at);
}

/// A usable resource names its message, maps like a callback of its status, and keeps the answer as raw.
void check_message(std::string_view body) {
  const auto parsed = tw::parse_message(body, fz::fixed_now());
  if (const auto* bad = std::get_if<tw::bad_message>(&parsed)) {
    FUZZ_CHECK(!bad->detail.empty());
    return;
  }
  const auto& m = std::get<tw::message_result>(parsed);
  const auto& e = m.result.event;
  FUZZ_CHECK(!m.result.vendor_message_id.empty());
  FUZZ_CHECK(m.result.raw == body);
  FUZZ_CHECK(e.source == core::event_source::poll);
  FUZZ_CHECK(e.dedupe_key == m.result.vendor_message_id + "|" + e.vendor_status);
  FUZZ_CHECK(e.vendor_time == core::timestamp{});
  if (m.what == tw::disposition::apply)
    fz::check_vendor_outcome(e, "twilio:");
  else if (e.outcome == core::status::uncertain)
    FUZZ_CHECK(e.code == "ME09");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fz::as_text(data, size);
  check_message(text);
  check_date(text);
  return 0;
}
