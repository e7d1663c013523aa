/// The SENS message-result answer the Kakao poller parses (kakao::parse_poll_response), and the SENS times in it
/// (kakao::parse_local_time).
///
/// Input: the whole input is the answer body; it is also read as a time.

#include <cstdint>
#include <string>

#include <date/date.h>

#include "adapters/kakao/kakao.hpp"
#include "fuzz_support.hpp"

namespace kakao = deliveryd::adapters::kakao;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

/// A time that reads prints in Seoul as the same wall-clock minute it was written with (Seoul has had no DST
/// since 1988, SENS local times are 2000-2099), and reads back as the same instant.
void check_time(std::string_view text) {
  const auto at = kakao::parse_local_time(text, fz::seoul());
  if (!at)
    return;
  const auto year = static_cast<int>(date::year_month_day{date::floor<date::days>(*at)}.year());
  FUZZ_CHECK(year >= -1 && year <= 10000);
  if (year < 1 || year > 9998)
    return;
  const auto printed = fz::seoul().format(*at);
  FUZZ_CHECK(kakao::parse_local_time(printed, fz::seoul()) == at);
  if (!core::parse_rfc3339(text)) {
    FUZZ_CHECK(printed.substr(0, 10) == text.substr(0, 10) && printed.substr(11, 8) == text.substr(11, 8));
    FUZZ_CHECK(printed.ends_with("+09:00"));
  }
}

/// A usable answer names its message, keys the event by message and deciding code, and is final exactly when
/// sent or failed.
void check_answer(std::string_view body) {
  const auto parsed = kakao::parse_poll_response(body, fz::seoul(), fz::fixed_now());
  if (const auto* bad = std::get_if<kakao::bad_body>(&parsed)) {
    FUZZ_CHECK(!bad->detail.empty());
    return;
  }
  const auto& r = std::get<kakao::poll_result>(parsed);
  const auto& e = r.result.event;
  FUZZ_CHECK(!r.result.vendor_message_id.empty() && r.result.raw == body);
  FUZZ_CHECK(e.dedupe_key.starts_with("poll|" + r.result.vendor_message_id + "|"));
  FUZZ_CHECK(e.source == core::event_source::poll);
  FUZZ_CHECK(r.is_final == (e.outcome == core::status::sent || e.outcome == core::status::failed));
  fz::check_vendor_outcome(e, "kakao:");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fz::as_text(data, size);
  check_answer(text);
  check_time(text);
  return 0;
}
