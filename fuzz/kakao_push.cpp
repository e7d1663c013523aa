/// The pushed Kakao results of POST /webhooks/kakao (kakao::parse_push).
///
/// Input: the whole input is the request body.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/kakao/kakao.hpp"
#include "batch_support.hpp"

namespace kakao = deliveryd::adapters::kakao;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

/// One pushed result: keyed by message and code, mapped as the code says.
void check_event(const deliveryd::adapters::mapped_event& m) {
  const auto& e = m.event;
  FUZZ_CHECK(!m.vendor_message_id.empty() && !e.vendor_code.empty());
  FUZZ_CHECK(e.dedupe_key == "push|" + m.vendor_message_id + "|" + e.vendor_code);
  FUZZ_CHECK(e.source == core::event_source::webhook);
  FUZZ_CHECK(fz::valid_utf8(m.raw) && m.raw.front() == '{' && m.raw.back() == '}');
  switch (kakao::kind_of(e.vendor_code)) {
    case kakao::code_kind::delivered:
      FUZZ_CHECK(e.outcome == core::status::sent && e.code.empty());
      break;
    case kakao::code_kind::uncertain:
      FUZZ_CHECK(e.outcome == core::status::uncertain && e.code == "ME09");
      break;
    case kakao::code_kind::failed:
      FUZZ_CHECK(e.outcome == core::status::failed && e.code == "kakao:" + e.vendor_code);
      FUZZ_CHECK(e.cat == kakao::category_of(e.vendor_code) && e.cat != core::category::none);
      break;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fz::as_text(data, size);
  const auto parsed = kakao::parse_push(body, fz::seoul(), fz::fixed_now());
  const auto document = nlohmann::json::parse(body, nullptr, false);
  if (const auto* bad = std::get_if<kakao::bad_body>(&parsed)) {
    FUZZ_CHECK(!bad->detail.empty());
    FUZZ_CHECK(fz::refusable_array(document, body));
    return 0;
  }
  // Every element is an event or an unusable item, in order.
  const auto& batch = std::get<deliveryd::adapters::mapped_batch>(parsed);
  fz::check_accounted(batch, document);
  FUZZ_CHECK(batch.ignored == 0);
  for (const auto& event : batch.events)
    check_event(event);
  return 0;
}
