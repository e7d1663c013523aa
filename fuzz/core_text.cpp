/// The core's text parsers: days, months, RFC 3339 instants, durations, zone-less SMPP times, exclusion codes,
/// vendor prices and the contract's words, each held to its printer or to a slow reference.
///
/// Input: byte 0 % 8 picks the parser ('0'-'7' in a seed): 0 day, 1 month, 2 RFC 3339, 3 duration,
/// 4 YYMMDDhhmm in Seoul, 5 exclusion code, 6 price, 7 words; the rest is the text.

#include <cstdint>
#include <limits>
#include <string>

#include <date/date.h>

#include "core/codes.hpp"
#include "core/money.hpp"
#include "core/month.hpp"
#include "core/words.hpp"
#include "fuzz_support.hpp"

namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

using namespace std::chrono_literals;

/// A day prints as it was written, and is one local day long.
void check_day(std::string_view text) {
  const auto day = core::parse_day(text);
  if (!day)
    return;
  FUZZ_CHECK(core::format_day(*day) == text);
  const auto start = fz::seoul().start_of_day(*day);
  FUZZ_CHECK(fz::seoul().day_of(start) == *day);
}

/// A month prints as it was written, and its bounds are in order.
void check_month(std::string_view text) {
  const auto month = core::parse_month(text);
  if (!month)
    return;
  FUZZ_CHECK(core::format_month(*month) == text);
  const auto span = core::month_bounds(fz::seoul(), *month);
  FUZZ_CHECK(span.from < span.to && span.to - span.from <= std::chrono::days{32});
}

/// An instant reads back from its own RFC 3339 text, in UTC and in Seoul.
void check_rfc3339(std::string_view text) {
  const auto at = core::parse_rfc3339(text);
  if (!at)
    return;
  const auto year = static_cast<int>(date::year_month_day{date::floor<date::days>(*at)}.year());
  FUZZ_CHECK(year >= -1 && year <= 10000);
  if (year < 1 || year > 9998)
    return; // the printers write four-digit years only
  FUZZ_CHECK(core::parse_rfc3339(fz::utc().format(*at)) == at);
  FUZZ_CHECK(core::parse_rfc3339(fz::seoul().format(*at)) == at);
}

/// A duration is the written number of units, never negative, never wrapped.
void check_duration(std::string_view text) {
  const auto d = core::parse_duration(text);
  if (!d)
    return;
  const auto digits = text.find_first_not_of("0123456789");
  const auto unit = text.substr(digits);
  const std::int64_t factor = unit == "ms" ? 1
                              : unit == "s" ? 1000
                              : unit == "m" ? 60'000
                              : unit == "h" ? 3'600'000
                                            : 86'400'000;
  FUZZ_CHECK(d->count() >= 0 && d->count() % factor == 0);
  auto written = text.substr(0, digits);
  while (written.size() > 1 && written.front() == '0')
    written.remove_prefix(1);
  FUZZ_CHECK(std::to_string(d->count() / factor) == written);
}

/// A zone-less SMPP time prints, in its zone, as the minute it names (Seoul: no DST since 1988).
void check_yymmddhhmm(std::string_view text) {
  const auto at = fz::seoul().parse_yymmddhhmm(text);
  if (!at)
    return;
  const auto printed = fz::seoul().format(*at);
  const std::string expected = "20" + std::string{text.substr(0, 2)} + "-" + std::string{text.substr(2, 2)} + "-" +
                               std::string{text.substr(4, 2)} + "T" + std::string{text.substr(6, 2)} + ":" +
                               std::string{text.substr(8, 2)} + ":00+09:00";
  FUZZ_CHECK(printed == expected);
}

/// An exclusion code is five digits of 10000-11999.
void check_exclusion(std::string_view text) {
  const auto code = core::parse_exclusion_code(text);
  if (!code)
    return;
  FUZZ_CHECK(*code >= 10000 && *code <= 11999 && std::to_string(*code) == text);
}

/// A price in millionths equals a 128-bit reference: [-+]digits[.digits], the seventh decimal rounding half up.
void check_price(std::string_view text) {
  const auto micros = core::abs_micros(text);
  auto rest = text;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+'))
    rest.remove_prefix(1);
  const auto dot = rest.find('.');
  const auto whole = rest.substr(0, dot);
  const auto fraction = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
  const bool well_formed = (!whole.empty() || !fraction.empty()) &&
                           (dot == std::string_view::npos || !fraction.empty()) &&
                           whole.find_first_not_of("0123456789") == std::string_view::npos &&
                           fraction.find_first_not_of("0123456789") == std::string_view::npos;
  if (!well_formed) {
    FUZZ_CHECK(!micros);
    return;
  }
  __int128 reference = 0;
  constexpr __int128 cap = static_cast<__int128>(1) << 100; // far past int64, never near overflow of int128
  for (const char c : whole)
    reference = reference > cap ? reference : reference * 10 + (c - '0');
  reference *= 1'000'000;
  __int128 scale = 100'000;
  for (std::size_t i = 0; i < fraction.size() && i < 6; ++i, scale /= 10)
    reference += (fraction[i] - '0') * scale;
  if (fraction.size() > 6 && fraction[6] >= '5')
    reference += 1;
  if (micros)
    FUZZ_CHECK(*micros == reference);
  else
    FUZZ_CHECK(reference > std::numeric_limits<std::int64_t>::max() / 10); // refused only when very large
}

/// A word reads back from its own spelling.
void check_words(std::string_view text) {
  if (const auto s = core::parse_status(text))
    FUZZ_CHECK(core::to_string(*s) == text);
  if (const auto m = core::parse_medium(text))
    FUZZ_CHECK(core::to_string(*m) == text);
  if (const auto t = core::parse_send_type(text))
    FUZZ_CHECK(core::to_string(*t) == text);
  if (const auto v = core::parse_vendor(text))
    FUZZ_CHECK(core::to_string(*v) == text);
  if (const auto c = core::parse_category(text))
    FUZZ_CHECK(core::to_string(*c) == text && !core::describe(*c).empty());
  if (const auto e = core::parse_event_source(text))
    FUZZ_CHECK(core::to_string(*e) == text);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const auto text = fz::as_text(data + 1, size - 1);
  switch (data[0] % 8) {
    case 0: check_day(text); break;
    case 1: check_month(text); break;
    case 2: check_rfc3339(text); break;
    case 3: check_duration(text); break;
    case 4: check_yymmddhhmm(text); break;
    case 5: check_exclusion(text); break;
    case 6: check_price(text); break;
    default: check_words(text); break;
  }
  return 0;
}
