/// SendGrid's ECDSA signature: load_key on any text, and verify with the real key of tests/data/email on a
/// fuzzed signature, timestamp and body.
///
/// Input: byte 0 chooses: odd, the rest is a key text for load_key; even, byte 0 sets the clock
/// (((byte >> 1) - 32) * 10 s from the signed time, so '@' is "at once"), then the signature header and the
/// timestamp header, each ended by a backslash and a newline (FuzzedDataProvider), then the body.

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "adapters/email/sendgrid.hpp"
#include "fuzz_support.hpp"

namespace sg = deliveryd::adapters::email;
namespace core = deliveryd::core;
namespace fz = deliveryd::fuzz;

namespace {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds max_skew = 5min;

/// The key and the signed request of tests/data/email.
struct fixture {
  std::string key_text = fz::test_data("email/public_key.b64");
  std::string body = fz::test_data("email/batch.json");
  std::string timestamp = fz::test_data("email/batch.ts");
  std::string signature = fz::test_data("email/batch.sig");
  sg::verification_key key;

  fixture() {
    auto loaded = sg::load_key(key_text);
    FUZZ_CHECK(std::holds_alternative<sg::verification_key>(loaded));
    key = std::get<sg::verification_key>(loaded);
    // Without this the target would only ever exercise refusals.
    FUZZ_CHECK(sg::verify(key, signature, timestamp, body, signed_at(timestamp), max_skew) == sg::verdict::ok);
  }

  /// The instant of a timestamp header of digits, or the fixed clock.
  static core::timestamp signed_at(std::string_view header) {
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
    if (ec != std::errc{} || end != header.data() + header.size() || seconds < 0 || seconds > 253'402'300'799)
      return fz::fixed_now();
    return core::from_millis(seconds * 1000);
  }
};

const fixture& known() {
  static const fixture f;
  return f;
}

/// Any key text: one that loads is a usable key; the real text always loads.
void check_load(std::string_view text) {
  const auto loaded = sg::load_key(text);
  if (const auto* error = std::get_if<sg::key_error>(&loaded)) {
    FUZZ_CHECK(!sg::describe(*error).empty());
    FUZZ_CHECK(core::trim(text) != known().key_text);
    return;
  }
  const auto& key = std::get<sg::verification_key>(loaded);
  FUZZ_CHECK(key.loaded());
  const auto& f = known();
  FUZZ_CHECK(sg::verify(key, "", f.timestamp, f.body, fz::fixed_now(), max_skew) == sg::verdict::missing);
}

/// Only the signed timestamp and body verify; a timestamp outside the window never does.
void check_verify(int skew_step, const std::string& signature, const std::string& timestamp, std::string_view body) {
  const auto& f = known();
  const auto now = fixture::signed_at(timestamp) + std::chrono::seconds{skew_step * 10};
  const auto verdict = sg::verify(f.key, signature, timestamp, body, now, max_skew);
  FUZZ_CHECK(!sg::describe(verdict).empty());
  FUZZ_CHECK(verdict != sg::verdict::bad_key);
  if (signature.empty() || timestamp.empty())
    FUZZ_CHECK(verdict == sg::verdict::missing);
  if (verdict == sg::verdict::ok)
    FUZZ_CHECK(timestamp == f.timestamp && body == f.body && std::abs(skew_step * 10) <= 300);
  if (!signature.empty() && !timestamp.empty() && std::abs(skew_step * 10) > 300)
    FUZZ_CHECK(verdict == sg::verdict::stale_timestamp);
  FUZZ_CHECK(sg::verify(sg::verification_key{}, signature, timestamp, body, now, max_skew) == sg::verdict::bad_key);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  if ((data[0] & 1) != 0) {
    check_load(fz::as_text(data + 1, size - 1));
    return 0;
  }
  const int skew_step = (data[0] >> 1) - 32;
  FuzzedDataProvider input{data + 1, size - 1};
  const auto signature = input.ConsumeRandomLengthString(256);
  const auto timestamp = input.ConsumeRandomLengthString(32);
  const auto body = input.ConsumeRemainingBytesAsString();
  check_verify(skew_step, signature, timestamp, body);
  return 0;
}
