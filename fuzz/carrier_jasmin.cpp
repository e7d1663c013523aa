/// Jasmin-style HTTP delivery reports: the form (or query string) decoded by adapters::parse_form, then
/// carrier::parse_jasmin.
///
/// Input: the whole input is the form body.

#include <cstdint>
#include <string>

#include "adapters/carrier/carrier.hpp"
#include "adapters/form.hpp"
#include "fuzz_support.hpp"

namespace carrier = deliveryd::adapters::carrier;
namespace ad = deliveryd::adapters;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

/// The first non-empty value of `name`, as the adapter reads it.
std::string first_value(const ad::form_params& params, std::string_view name) {
  for (const auto& [key, value] : params)
    if (key == name && !value.empty())
      return value;
  return {};
}

/// The `donedate` read as the adapter reads it: YYMMDDhhmm in the report's zone.
std::optional<core::timestamp> seoul_done(const ad::form_params& params) {
  const auto text = first_value(params, "donedate");
  return text.empty() ? std::nullopt : fz::seoul().parse_yymmddhhmm(text);
}

/// A usable report is addressed by its id, keyed by id, level and word, and maps to a status the word allows.
void check_report(const ad::form_params& params, std::string_view raw) {
  const auto result = carrier::parse_jasmin(params, raw, fz::seoul(), fz::fixed_now());
  if (const auto* why = std::get_if<std::string>(&result)) {
    FUZZ_CHECK(!why->empty());
    return;
  }
  const auto& m = std::get<deliveryd::adapters::mapped_event>(result);
  const auto& e = m.event;
  const auto id = first_value(params, "id");
  const auto level = first_value(params, "level");
  FUZZ_CHECK(!id.empty() && m.vendor_message_id == id && m.raw == raw);
  FUZZ_CHECK(level == "1" || level == "2" || level == "3");
  FUZZ_CHECK(e.dedupe_key.starts_with(id + "|" + level + "|"));
  FUZZ_CHECK(e.vendor_status == first_value(params, "message_status"));
  FUZZ_CHECK(e.vendor_code == first_value(params, "err"));
  // A done date that reads is the vendor time; anything else leaves it unknown.
  const auto done = seoul_done(params);
  FUZZ_CHECK(e.vendor_time == done.value_or(core::timestamp{}));
  fz::check_vendor_outcome(e, "carrier:");
  if (e.outcome == core::status::pending || e.outcome == core::status::sent)
    FUZZ_CHECK(e.reason.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fz::as_text(data, size);
  const auto params = ad::parse_form(body);
  if (params)
    check_report(*params, body);
  return 0;
}
