/// Intake bodies (POST /v1/sends): adapters::intake::parse_body as a JSON array or as NDJSON.
///
/// Input: byte 0 chooses the format (odd: NDJSON, even: JSON array; '1' and '0' read well in a seed), the rest
/// is the body.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/intake/intake.hpp"
#include "fuzz_support.hpp"

namespace intake = deliveryd::adapters::intake;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

/// The daemon's context with every vendor enabled and a small item limit, so that 413 is reachable.
const intake::intake_context& context() {
  static const intake::intake_context ctx{
    "KR", fz::fixed_now(), 365, {core::vendor::twilio, core::vendor::carrier, core::vendor::kakao, core::vendor::email},
    64};
  return ctx;
}

/// Characters of valid UTF-8 text.
std::size_t characters(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); i += core::utf8_sequence(text, i))
    ++count;
  return count;
}

/// An accepted send holds only what intake promises: ids within limits, a normalised contact, a vendor or an
/// exclusion code, a time inside retention.
void check_send(const intake::send_request& s) {
  FUZZ_CHECK(fz::valid_utf8(s.send_id) && !s.send_id.empty() && characters(s.send_id) <= 128);
  FUZZ_CHECK(fz::valid_utf8(s.source_id) && fz::valid_utf8(s.source_name));
  if (s.type == core::send_type::campaign || s.type == core::send_type::one_time)
    FUZZ_CHECK(!s.source_id.empty());
  if (s.medium == core::medium::email)
    FUZZ_CHECK(intake::normalize_email(s.contact) == s.contact);
  else
    FUZZ_CHECK(fz::plus_digits(s.contact));
  FUZZ_CHECK(s.vendor.has_value() || s.excluded.has_value());
  if (s.excluded)
    FUZZ_CHECK(*s.excluded >= 10000 && *s.excluded <= 11999);
  FUZZ_CHECK(s.requested_at >= context().now - std::chrono::days{context().retention_days});
  if (s.vendor_message_id)
    FUZZ_CHECK(fz::valid_utf8(*s.vendor_message_id) && characters(*s.vendor_message_id) <= 256);
  if (s.fallback_of) {
    FUZZ_CHECK(s.medium == core::medium::sms || s.medium == core::medium::lms);
    FUZZ_CHECK(*s.fallback_of != s.send_id && characters(*s.fallback_of) <= 128);
  }
}

/// A rejection names a known error word and says why.
void check_rejection(const intake::rejection& r) {
  static const std::vector<std::string> words{"invalid",        "missing_field", "bad_contact",
                                              "too_old",        "vendor_disabled", "conflict"};
  FUZZ_CHECK(std::find(words.begin(), words.end(), r.error) != words.end() && !r.detail.empty());
  FUZZ_CHECK(fz::valid_utf8(r.detail));
}

/// Every item of the body is either a send or a rejection, exactly once, each list in body order.
void check_batch(const intake::parsed_batch& batch) {
  const auto total = batch.sends.size() + batch.rejected.size();
  FUZZ_CHECK(total <= context().max_items);
  std::vector<bool> seen(total, false);
  auto mark = [&](std::size_t index, std::size_t& previous, bool first) {
    FUZZ_CHECK(index < total && !seen[index] && (first || previous < index));
    seen[index] = true;
    previous = index;
  };
  std::size_t previous = 0;
  for (std::size_t i = 0; i < batch.sends.size(); ++i) {
    mark(batch.sends[i].index, previous, i == 0);
    check_send(batch.sends[i]);
  }
  for (std::size_t i = 0; i < batch.rejected.size(); ++i) {
    mark(batch.rejected[i].index, previous, i == 0);
    check_rejection(batch.rejected[i]);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const bool ndjson = (data[0] & 1) != 0;
  const auto result = intake::parse_body(fz::as_text(data + 1, size - 1), ndjson, context());
  if (const auto* error = std::get_if<intake::body_error>(&result)) {
    FUZZ_CHECK((error->http_status == 400 && error->error == "malformed") ||
               (error->http_status == 413 && error->error == "too_many_items"));
    FUZZ_CHECK(!error->detail.empty());
    return 0;
  }
  check_batch(std::get<intake::parsed_batch>(result));
  return 0;
}
