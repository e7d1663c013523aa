/// Intake of the sending pipeline: body formats, per-item validation, contact normalisation.

#include <catch2/catch.hpp>
#include <cstdio>
#include <phonenumbers/phonenumberutil.h>
#include <set>
#include <random>

#include <string>

#include "adapters/intake/intake.hpp"

namespace intake = deliveryd::adapters::intake;
namespace core = deliveryd::core;

namespace {

/// 2026-11-27T10:00:00+09:00
const core::timestamp now = core::from_millis(1'795'741'200'000);

intake::intake_context context() {
  intake::intake_context ctx;
  ctx.default_region = "KR";
  ctx.now = now;
  ctx.retention_days = 365;
  ctx.enabled = {core::vendor::twilio, core::vendor::kakao, core::vendor::email};
  ctx.max_items = 10;
  return ctx;
}

/// A valid sms send as a JSON object, with `extra` members spliced in (", \"k\": v").
std::string sms(const std::string& id, const std::string& extra = "") {
  return R"({"send_id": ")" + id + R"(", "type": "follow_up", "medium": "sms", "vendor": "twilio", )"
         R"("contact": "010-1234-5678", "requested_at": "2026-11-27T09:00:00+09:00")" + extra + "}";
}

/// The batch of a body that must parse.
intake::parsed_batch batch(const std::string& body, bool ndjson = false,
                           const intake::intake_context& ctx = context()) {
  auto result = intake::parse_body(body, ndjson, ctx);
  if (auto error = std::get_if<intake::body_error>(&result))
    FAIL("body refused: " << error->error << ": " << error->detail);
  return std::get<intake::parsed_batch>(result);
}

/// The body error of a body that must not parse.
intake::body_error refused(const std::string& body, bool ndjson = false) {
  auto result = intake::parse_body(body, ndjson, context());
  if (std::holds_alternative<intake::parsed_batch>(result))
    FAIL("body accepted: " << body);
  return std::get<intake::body_error>(result);
}

/// The single rejection of a one-item array.
intake::rejection rejected(const std::string& item) {
  auto b = batch("[" + item + "]");
  REQUIRE(b.sends.empty());
  REQUIRE(b.rejected.size() == 1);
  return b.rejected.front();
}

/// The single send of a one-item array.
intake::send_request accepted(const std::string& item) {
  auto b = batch("[" + item + "]");
  if (!b.rejected.empty())
    FAIL(b.rejected.front().error << ": " << b.rejected.front().detail);
  REQUIRE(b.sends.size() == 1);
  return b.sends.front();
}

} // namespace

TEST_CASE("a JSON array of sends is normalised", "[intake]") {
  auto s = accepted(R"({"send_id": "s-1", "type": "campaign", "source_id": "c-7", "source_name": "Black Friday",
    "medium": "alimtalk", "vendor": "kakao", "contact": "010-1234-5678", "requested_at": "2026-11-27T10:00:00+09:00",
    "vendor_message_id": "m-1"})");
  CHECK(s.send_id == "s-1");
  CHECK(s.type == core::send_type::campaign);
  CHECK(s.source_id == "c-7");
  CHECK(s.source_name == "Black Friday");
  CHECK(s.medium == core::medium::alimtalk);
  CHECK(s.vendor == core::vendor::kakao);
  CHECK(s.contact == "+821012345678");
  CHECK(s.requested_at == now);
  CHECK(s.vendor_message_id == "m-1");
  CHECK_FALSE(s.excluded);
  CHECK_FALSE(s.fallback_of);
  CHECK(s.index == 0);
}

TEST_CASE("NDJSON: one send per non-empty line", "[intake]") {
  auto b = batch(sms("a") + "\n\n" + sms("b") + "\r\n  \n" + sms("c"), true);
  REQUIRE(b.sends.size() == 3);
  CHECK(b.sends[0].send_id == "a");
  CHECK(b.sends[2].send_id == "c");
  CHECK(b.sends[2].index == 2);
  CHECK(batch("", true).sends.empty());

  auto bad = refused(sms("a") + "\n{not json}\n", true);
  CHECK(bad.http_status == 400);
  CHECK(bad.error == "malformed");
  CHECK_THAT(bad.detail, Catch::Contains("line 2"));
}

TEST_CASE("bodies that do not parse are refused whole", "[intake]") {
  CHECK(refused("garbage").http_status == 400);
  CHECK(refused("").http_status == 400);
  CHECK(refused("[" + sms("a") + ",").http_status == 400);
  auto object = refused(sms("a"));
  CHECK(object.http_status == 400);
  CHECK(object.error == "malformed");
  CHECK(refused("\"text\"").http_status == 400);
  // Invalid UTF-8 inside a string: the JSON parser refuses it.
  CHECK(refused("[" + sms("a\xff") + "]").http_status == 400);
}

TEST_CASE("more than max_items is 413", "[intake]") {
  std::string array = "[";
  std::string lines;
  for (int i = 0; i < 11; ++i) {
    array += (i ? "," : "") + sms("s" + std::to_string(i));
    lines += sms("s" + std::to_string(i)) + "\n";
  }
  auto too_many = refused(array + "]");
  CHECK(too_many.http_status == 413);
  CHECK(too_many.error == "too_many_items");
  CHECK(refused(lines, true).http_status == 413);
  CHECK(batch("[]").sends.empty());
}

TEST_CASE("one bad item rejects only that item", "[intake]") {
  auto b = batch("[" + sms("a") + ", 42, " + sms("c", R"(, "contact": "not a number")") + ", " + sms("d") + "]");
  REQUIRE(b.sends.size() == 2);
  CHECK(b.sends[0].index == 0);
  CHECK(b.sends[1].index == 3);
  REQUIRE(b.rejected.size() == 2);
  CHECK(b.rejected[0].index == 1);
  CHECK(b.rejected[0].error == "invalid");
  CHECK(b.rejected[0].send_id.empty());
  CHECK(b.rejected[1].index == 2);
  CHECK(b.rejected[1].send_id == "c");
  CHECK(b.rejected[1].error == "bad_contact");
}

TEST_CASE("required fields", "[intake]") {
  auto r = rejected(R"({"type": "follow_up", "medium": "sms", "vendor": "twilio", "contact": "01012345678",
    "requested_at": "2026-11-27T09:00:00+09:00"})");
  CHECK(r.error == "missing_field");
  CHECK_THAT(r.detail, Catch::Contains("send_id"));
  for (auto field : {"type", "medium", "vendor", "contact", "requested_at"}) {
    INFO(field);
    auto item = batch("[" + sms("x") + "]");  // sanity: the full item is fine
    REQUIRE(item.sends.size() == 1);
    auto without = sms("x", std::string{R"(, ")"} + field + R"(": null)");
    auto rej = rejected(without);
    CHECK(rej.error == "missing_field");
    CHECK(rej.send_id == "x");
    CHECK_THAT(rej.detail, Catch::Contains(field));
  }
}

TEST_CASE("source_id is required for campaign and one_time", "[intake]") {
  for (auto type : {"campaign", "one_time"}) {
    auto r = rejected(sms("x", std::string{R"(, "type": ")"} + type + "\""));
    CHECK(r.error == "missing_field");
    CHECK_THAT(r.detail, Catch::Contains("source_id"));
  }
  CHECK(accepted(sms("x", R"(, "type": "one_time", "source_id": "o-1")")).source_id == "o-1");
  CHECK(accepted(sms("x", R"(, "type": "workflow")")).source_id.empty());
  CHECK(rejected(sms("x", R"(, "type": "campaign", "source_id": 7)")).error == "invalid");
}

TEST_CASE("invalid values", "[intake]") {
  for (auto extra : {R"(, "send_id": "")", R"(, "send_id": 12)", R"(, "send_id": "a\u0000b")",
                     R"(, "send_id": "tab\there")", R"(, "type": "newsletter")", R"(, "medium": "fax")",
                     R"(, "vendor": "pigeon")", R"(, "requested_at": "2026-11-27T09:00:00")",
                     R"(, "requested_at": "yesterday")", R"(, "vendor_message_id": "")",
                     R"(, "vendor_message_id": 5)", R"(, "source_name": ["x"])", R"(, "contact": 1012345678)"}) {
    INFO(extra);
    CHECK(rejected(sms("x", extra)).error == "invalid");
  }
  CHECK(rejected(sms(std::string(129, 'a'))).error == "invalid");
  CHECK(accepted(sms(std::string(128, 'a'))).send_id.size() == 128);
  CHECK(rejected(sms("x", R"(, "vendor_message_id": ")" + std::string(257, 'm') + "\"")).error == "invalid");
  // 128 characters of three bytes each are still 128 characters.
  std::string hangul;
  for (int i = 0; i < 128; ++i)
    hangul += "\xea\xb0\x80";
  CHECK(accepted(sms(hangul)).send_id == hangul);
}

TEST_CASE("excluded: an internal code as integer or digit string", "[intake]") {
  auto as_int = accepted(sms("x", R"(, "vendor": null, "excluded": 10006)"));
  CHECK(as_int.excluded == 10006);
  CHECK_FALSE(as_int.vendor);
  auto as_string = accepted(sms("x", R"(, "excluded": "11999")"));
  CHECK(as_string.excluded == 11999);
  CHECK(as_string.vendor == core::vendor::twilio);
  // No vendor at all is fine for an excluded send.
  auto no_vendor = accepted(R"({"send_id": "e", "type": "follow_up", "medium": "email", "excluded": 10000,
    "contact": "a@b.co", "requested_at": "2026-11-27T09:00:00+09:00"})");
  CHECK_FALSE(no_vendor.vendor);
  CHECK(accepted(sms("x", R"(, "excluded": null)")).excluded == std::nullopt);
  for (auto bad : {"9999", "12000", "-10006", "10006.5", "\"1000a\"", "\"010006\"", "\" 10006\"", "true", "\"\""}) {
    INFO(bad);
    CHECK(rejected(sms("x", std::string{R"(, "excluded": )"} + bad)).error == "invalid");
  }
}

TEST_CASE("vendor must be enabled", "[intake]") {
  auto r = rejected(sms("x", R"(, "vendor": "carrier")"));
  CHECK(r.error == "vendor_disabled");
  CHECK(r.send_id == "x");
  CHECK_THAT(r.detail, Catch::Contains("carrier"));
}

TEST_CASE("sends older than retention are too_old", "[intake]") {
  auto r = rejected(sms("x", R"(, "requested_at": "2025-11-26T09:00:00+09:00")"));
  CHECK(r.error == "too_old");
  CHECK_THAT(r.detail, Catch::Contains("requested_at"));
  CHECK(accepted(sms("x", R"(, "requested_at": "2025-11-28T10:00:00+09:00")")).send_id == "x");
}

TEST_CASE("fallback_of is a leg of another send, sms or lms only", "[intake]") {
  CHECK(accepted(sms("leg", R"(, "fallback_of": "alim-1")")).fallback_of == "alim-1");
  CHECK(accepted(sms("leg", R"(, "medium": "lms", "fallback_of": "alim-1")")).fallback_of == "alim-1");
  CHECK(rejected(sms("leg", R"(, "fallback_of": "leg")")).error == "invalid");
  CHECK(rejected(sms("leg", R"(, "medium": "alimtalk", "vendor": "kakao", "fallback_of": "a")")).error == "invalid");
  CHECK(rejected(sms("leg", R"(, "fallback_of": 3)")).error == "invalid");
}

TEST_CASE("unknown fields are ignored and null means absent", "[intake]") {
  auto s = accepted(sms("x", R"(, "priority": "high", "meta": {"a": [1, 2]}, "source_name": null,
    "vendor_message_id": null, "fallback_of": null)"));
  CHECK(s.send_id == "x");
  CHECK(s.source_name.empty());
  CHECK_FALSE(s.vendor_message_id);
  CHECK_FALSE(s.fallback_of);
}

TEST_CASE("contacts", "[intake]") {
  CHECK(intake::normalize_phone("010-1234-5678", "KR") == "+821012345678");
  CHECK(intake::normalize_phone("+82 10-1234-5678", "KR") == "+821012345678");
  CHECK(intake::normalize_phone("+1 415 555 2671", "KR") == "+14155552671");
  CHECK(intake::normalize_phone("(415) 555-2671", "US") == "+14155552671");
  CHECK(intake::normalize_phone("+821012345678", "US") == "+821012345678");
  CHECK_FALSE(intake::normalize_phone("", "KR"));
  CHECK_FALSE(intake::normalize_phone("not a number", "KR"));
  CHECK_FALSE(intake::normalize_phone("0101234\n5678", "KR"));
  // A national prefix written more than once: libphonenumber drops one per parse; the stored text must normalise
  // to itself.
  CHECK(intake::normalize_phone("+82 0 0 2345 6788", "KR") == "+8223456788");
  CHECK(intake::normalize_phone("+1 1 1 201 555 0123", "KR") == "+12015550123");
  CHECK(intake::normalize_phone("0 000 000 1 1016", "DE") == "+4911016");

  CHECK(intake::normalize_email(" Jane.Doe@Example.COM ") == "Jane.Doe@example.com");
  CHECK_FALSE(intake::normalize_email("jane"));
  CHECK_FALSE(intake::normalize_email("@example.com"));
  CHECK_FALSE(intake::normalize_email("jane@localhost"));
  CHECK_FALSE(intake::normalize_email("jane@@example.com"));
  CHECK_FALSE(intake::normalize_email("ja ne@example.com"));
  CHECK_FALSE(intake::normalize_email("jane@example..com"));

  CHECK(intake::normalize_contact(core::medium::email, "A@B.Co", "KR") == "A@b.co");
  CHECK(intake::normalize_contact(core::medium::lms, "01012345678", "KR") == "+821012345678");

  auto email = accepted(R"({"send_id": "m", "type": "workflow", "medium": "email", "vendor": "email",
    "contact": "Jane@Example.COM", "requested_at": "2026-11-27T09:00:00Z"})");
  CHECK(email.contact == "Jane@example.com");
  auto bad = rejected(R"({"send_id": "m", "type": "workflow", "medium": "email", "vendor": "email",
    "contact": "010-1234-5678", "requested_at": "2026-11-27T09:00:00Z"})");
  CHECK(bad.error == "bad_contact");
  CHECK_THAT(bad.detail, Catch::Contains("contact"));
  CHECK(rejected(sms("x", R"(, "contact": "hello")")).error == "bad_contact");
}

TEST_CASE("canonical E.164 numbers skip libphonenumber and come out as it would give them", "[intake][property]") {
  using i18n::phonenumbers::PhoneNumberUtil;
  const auto* util = PhoneNumberUtil::GetInstance();
  auto slow = [&](const std::string& text) -> std::optional<std::string> {
    i18n::phonenumbers::PhoneNumber number;
    if (util->Parse(text, "KR", &number) != PhoneNumberUtil::NO_PARSING_ERROR)
      return std::nullopt;
    std::string out;
    util->Format(number, PhoneNumberUtil::E164, &out);
    return out;
  };
  // Every fast calling code, every three leading digits of the national number, national lengths 6 to 12: the
  // rewrites libphonenumber makes depend on leading digits, so a code that has one shows up here.
  std::size_t fast = 0, mismatched = 0;
  for (int code : intake::fast_path_calling_codes())
    for (std::size_t length : {6, 9, 12})
      for (int lead = 0; lead < 1000; ++lead) {
        char digits[4];
        std::snprintf(digits, sizeof digits, "%03d", lead);
        std::string text = "+" + std::to_string(code) + digits;
        while (text.size() < 1 + std::to_string(code).size() + length)
          text += static_cast<char>('0' + (text.size() * 7 + static_cast<std::size_t>(lead)) % 10);
        const auto quick = intake::canonical_e164(text);
        if (!quick)
          continue;
        ++fast;
        if (slow(text) != quick) {
          ++mismatched;
          UNSCOPED_INFO(text << " is " << slow(text).value_or("not a number") << " to libphonenumber");
        }
      }
  CHECK(mismatched == 0);
  CHECK(fast > intake::fast_path_calling_codes().size() * 2000);

  // Random numbers over every calling code libphonenumber knows: the fast path never disagrees with it.
  std::set<int> codes;
  util->GetSupportedCallingCodes(&codes);
  std::mt19937_64 rng{20261127};
  for (int round = 0; round < 20; ++round)
    for (int code : codes) {
      std::string text = "+" + std::to_string(code);
      const auto length = std::uniform_int_distribution<std::size_t>{4, 13}(rng);
      for (std::size_t i = 0; i < length; ++i)
        text += static_cast<char>('0' + std::uniform_int_distribution<int>{0, 9}(rng));
      if (const auto quick = intake::canonical_e164(text)) {
        INFO(text);
        CHECK(slow(text) == quick);
      }
    }

  CHECK(intake::canonical_e164("+821012345678") == "+821012345678");
  CHECK(intake::canonical_e164("+14155552671") == "+14155552671");
  CHECK_FALSE(intake::canonical_e164("+8201012345678")); // the national prefix: libphonenumber removes it
  CHECK(intake::normalize_phone("+8201012345678", "KR") == "+821012345678");
  CHECK_FALSE(intake::canonical_e164("+5212018529630")); // Mexico: libphonenumber rewrites it
  CHECK(intake::normalize_phone("+5212018529630", "KR") == "+522018529630");
  CHECK_FALSE(intake::canonical_e164("+82 10 1234 5678"));
  CHECK_FALSE(intake::canonical_e164("+0821012345678"));
  CHECK_FALSE(intake::canonical_e164("+99912345678")); // no such calling code
  CHECK_FALSE(intake::canonical_e164("+8210123456789012"));
}
