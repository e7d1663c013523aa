/// Twilio status callbacks: parse_form, both signature rules, parse_callback and map_callback.
///
/// Input (FuzzedDataProvider): the auth token, the full URL and the X-Twilio-Signature header, each ended by a
/// backslash and a newline (a backslash inside is written twice), then the form body.

#include <algorithm>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "adapters/crypto.hpp"
#include "adapters/form.hpp"
#include "adapters/twilio/twilio.hpp"
#include "fuzz_support.hpp"

namespace ad = deliveryd::adapters;
namespace tw = deliveryd::adapters::twilio;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

/// A name or value written back as a form component: every byte but ASCII letters and digits as %XX.
std::string encode_component(const std::string& text) {
  constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 0x0F]);
    }
  }
  return out;
}

/// Decoded parameters carry text only, and encoding them again reads back the same list.
void check_form(const ad::form_params& params) {
  std::string again;
  for (const auto& [name, value] : params) {
    FUZZ_CHECK(name.find('\0') == std::string::npos && value.find('\0') == std::string::npos);
    FUZZ_CHECK(fz::valid_utf8(name) && fz::valid_utf8(value));
    again += (again.empty() ? "" : "&") + encode_component(name) + "=" + encode_component(value);
  }
  const auto reread = ad::parse_form(again);
  FUZZ_CHECK(reread.has_value() && *reread == params);
}

/// Either rule accepts exactly its own signature of these parameters, whatever their order.
void check_signatures(const std::string& token, const std::string& url, const ad::form_params& params,
                      const std::string& header) {
  const auto expected = tw::compute_signature(token, url, params);
  FUZZ_CHECK(!expected.empty());
  FUZZ_CHECK(tw::verify_signature(token, url, params, header) == (!token.empty() && header == expected));
  FUZZ_CHECK(tw::verify_signature(token, url, params, expected) == !token.empty());

  ad::form_params reversed{params.rbegin(), params.rend()};
  FUZZ_CHECK(tw::signing_string(url, reversed) == tw::signing_string(url, params));

  // The Webhooks Rule variant, checked as the Twilio actor checks it.
  const auto rule = tw::compute_signature_sha256(token, url, params);
  FUZZ_CHECK(rule.size() == 44 && expected.size() == 28);
  FUZZ_CHECK(ad::constant_time_equal(rule, header) == (rule == header));
}

/// A parsed callback names its message and status, and maps onto an event that agrees with it.
void check_callback(ad::form_params params) {
  auto parsed = tw::parse_callback(std::move(params));
  if (const auto* error = std::get_if<tw::parse_error>(&parsed)) {
    FUZZ_CHECK(!tw::describe(*error).empty());
    return;
  }
  const auto& cb = std::get<tw::status_callback>(parsed);
  FUZZ_CHECK(!cb.message_sid.empty() && !cb.message_status.empty());
  const auto [what, e] = tw::map_callback(cb, fz::fixed_now());
  FUZZ_CHECK(e.dedupe_key == cb.message_sid + "|" + cb.message_status);
  FUZZ_CHECK(e.vendor_status == cb.message_status && e.vendor_code == cb.error_code);
  FUZZ_CHECK(e.vendor_time == core::timestamp{});
  if (what == tw::disposition::ignore)
    return;
  fz::check_vendor_outcome(e, "twilio:");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input{data, size};
  const auto token = input.ConsumeRandomLengthString(64);
  const auto url = input.ConsumeRandomLengthString(512);
  const auto header = input.ConsumeRandomLengthString(64);
  const auto body = input.ConsumeRemainingBytesAsString();

  auto params = ad::parse_form(body);
  if (!params)
    return 0;
  check_form(*params);
  check_signatures(token, url, *params, header);
  check_callback(std::move(*params));
  return 0;
}
