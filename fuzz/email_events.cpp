/// SendGrid Event Webhook bodies: parse_events and what it maps each element onto.
///
/// Input: the whole input is the request body.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/email/sendgrid.hpp"
#include "batch_support.hpp"

namespace sg = deliveryd::adapters::email;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

/// One mapped event: addressed by the id before the first '.', keyed by sg_event_id, text that JSON can carry.
void check_event(const deliveryd::adapters::mapped_event& m) {
  const auto& e = m.event;
  FUZZ_CHECK(!m.vendor_message_id.empty() && m.vendor_message_id.find('.') == std::string::npos);
  FUZZ_CHECK(!e.dedupe_key.empty() && !e.vendor_status.empty());
  FUZZ_CHECK(fz::valid_utf8(m.raw) && m.raw.front() == '{' && m.raw.back() == '}');
  FUZZ_CHECK(e.source == core::event_source::webhook);
  fz::check_vendor_outcome(e, "email:");
  FUZZ_CHECK(e.outcome != core::status::uncertain); // SendGrid has no word for it
  if (e.outcome == core::status::failed)
    FUZZ_CHECK(e.code == "email:bounce" || e.code == "email:blocked" || e.code == "email:dropped");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto body = fz::as_text(data, size);
  const auto parsed = sg::parse_events(body, fz::fixed_now());
  const auto document = nlohmann::json::parse(body, nullptr, false);
  if (const auto* error = std::get_if<sg::parse_error>(&parsed)) {
    FUZZ_CHECK(error->http_status == 400 && error->error == "malformed" && !error->detail.empty());
    FUZZ_CHECK(fz::refusable_array(document, body));
    return 0;
  }
  // Every element is accounted for exactly once: an event, an unusable item (in order), or ignored.
  const auto& batch = std::get<deliveryd::adapters::mapped_batch>(parsed);
  fz::check_accounted(batch, document);
  for (const auto& event : batch.events)
    check_event(event);
  return 0;
}
