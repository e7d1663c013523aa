/// Contact normalisation at intake and in the contact= filter: normalize_phone (with its canonical_e164 fast
/// path held to libphonenumber) and normalize_email.
///
/// Input: byte 0 picks the default region (byte % 6 of KR, US, GB, JP, DE, BR: '0' is KR), the rest is the
/// contact.

#include <array>
#include <cstdint>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "adapters/intake/intake.hpp"
#include "fuzz_support.hpp"

namespace intake = deliveryd::adapters::intake;
namespace fz = deliveryd::fuzz;

namespace {

using i18n::phonenumbers::PhoneNumberUtil;

/// What libphonenumber alone makes of a number: its E.164 text, or nullopt when it does not parse.
std::optional<std::string> libphonenumber_e164(const std::string& text, const std::string& region) {
  const auto* util = PhoneNumberUtil::GetInstance();
  i18n::phonenumbers::PhoneNumber number;
  if (util->Parse(text, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  std::string formatted;
  util->Format(number, PhoneNumberUtil::E164, &formatted);
  return formatted;
}

/// The fast path only ever answers what libphonenumber would, and a normalised number is "+" and digits that
/// normalise to themselves (an answer's contact, pasted into contact=, finds the send).
void check_phone(const std::string& text, const std::string& region) {
  if (const auto canonical = intake::canonical_e164(text)) {
    FUZZ_CHECK(*canonical == text);
    FUZZ_CHECK(libphonenumber_e164(text, region) == canonical);
  }
  const auto phone = intake::normalize_phone(text, region);
  if (!phone)
    return;
  FUZZ_CHECK(fz::plus_digits(*phone));
  FUZZ_CHECK(intake::normalize_phone(*phone, region) == phone);
}

/// A normalised address has one '@', a dotted lower-case domain, and normalises to itself.
void check_email(const std::string& text) {
  const auto email = intake::normalize_email(text);
  if (!email)
    return;
  const auto at = email->find('@');
  FUZZ_CHECK(at != std::string::npos && at > 0 && email->find('@', at + 1) == std::string::npos);
  const auto domain = email->substr(at + 1);
  FUZZ_CHECK(domain.find('.') != std::string::npos);
  FUZZ_CHECK(domain.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
  FUZZ_CHECK(fz::valid_utf8(*email) && *email == deliveryd::core::trim(*email));
  FUZZ_CHECK(intake::normalize_email(*email) == email);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  static const std::array<std::string, 6> regions{"KR", "US", "GB", "JP", "DE", "BR"};
  const auto& region = regions[data[0] % regions.size()];
  const std::string text{fz::as_text(data + 1, size - 1)};
  check_phone(text, region);
  check_email(text);
  return 0;
}
