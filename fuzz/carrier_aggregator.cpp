/// Korean aggregator JSON reports (carrier::parse_aggregator) and the carrier webhook's shared token
/// (adapters::secret_matches).
///
/// Input (FuzzedDataProvider): the configured token and the given token, each ended by a backslash and a newline
/// (a backslash inside is written twice), then the body.

#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include "adapters/carrier/carrier.hpp"
#include "adapters/crypto.hpp"
#include "batch_support.hpp"

namespace ad = deliveryd::adapters;
namespace carrier = deliveryd::adapters::carrier;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

/// True for exactly four ASCII digits.
bool four_digits(std::string_view code) {
  return code.size() == 4 && code.find_first_not_of("0123456789") == std::string_view::npos;
}

/// A token matches only itself, and an empty one nothing.
void check_token(const std::string& configured, const std::string& given) {
  FUZZ_CHECK(ad::secret_matches(configured, given) == (!configured.empty() && configured == given));
  FUZZ_CHECK(ad::secret_matches(configured, configured) == !configured.empty());
}

/// One mapped report: keyed by id and code, its outcome the code's meaning.
void check_event(const deliveryd::adapters::mapped_event& m) {
  const auto& e = m.event;
  FUZZ_CHECK(!m.vendor_message_id.empty() && four_digits(e.vendor_code) && e.vendor_status == e.vendor_code);
  FUZZ_CHECK(e.dedupe_key == m.vendor_message_id + "|" + e.vendor_code);
  FUZZ_CHECK(fz::valid_utf8(m.raw) && m.raw.front() == '{' && m.raw.back() == '}');
  const auto meaning = carrier::meaning_of(e.vendor_code);
  FUZZ_CHECK(meaning.has_value() && meaning->outcome == e.outcome);
  fz::check_vendor_outcome(e, "carrier:");
  FUZZ_CHECK(e.outcome != core::status::pending); // the table has none
  if (e.outcome == core::status::failed)
    FUZZ_CHECK(e.code == "carrier:" + e.vendor_code);
}

/// Every element is an event or an unusable item, in order; a body that is no array is refused whole.
void check_body(std::string_view body) {
  const auto result = carrier::parse_aggregator(body, fz::fixed_now());
  const auto document = nlohmann::json::parse(body, nullptr, false);
  if (const auto* why = std::get_if<std::string>(&result)) {
    FUZZ_CHECK(!why->empty());
    FUZZ_CHECK(fz::refusable_array(document, body));
    return;
  }
  const auto& batch = std::get<deliveryd::adapters::mapped_batch>(result);
  fz::check_accounted(batch, document);
  FUZZ_CHECK(batch.ignored == 0);
  for (const auto& event : batch.events)
    check_event(event);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input{data, size};
  const auto configured = input.ConsumeRandomLengthString(64);
  const auto given = input.ConsumeRandomLengthString(64);
  check_token(configured, given);
  check_body(input.ConsumeRemainingBytesAsString());
  return 0;
}
