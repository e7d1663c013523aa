/// Twilio status callbacks: signature vectors (docs/vendors.md#twilio-signature), form decoding, parsing and
/// mapping.

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "adapters/twilio/twilio.hpp"
#include "core/codes.hpp"

namespace ad = deliveryd::adapters;
namespace tw = deliveryd::adapters::twilio;
namespace core = deliveryd::core;

namespace {

const std::string fixture_url = "https://hooks.example.com/twilio/status?tenant=acme";
const std::string fixture_token = "12345";
const std::string fixture_sid = "SM0123456789abcdef0123456789abcdef";
const std::string fixture_signature = "B5/lrWc89cS/c4hXxrp8sa1ZbQk=";
const core::timestamp received_at = core::from_millis(1'764'236'400'000);

/// The project's fixture as Twilio would post it (not in name order).
ad::form_params fixture_params() {
  return {{"ErrorCode", "30003"},       {"SmsSid", fixture_sid},      {"SmsStatus", "undelivered"},
          {"MessageStatus", "undelivered"}, {"To", "+821012345678"}, {"RawDlrDoneDate", "2611270932"},
          {"MessageSid", fixture_sid},   {"AccountSid", "AC" + std::string(32, '0')},
          {"From", "+15005550006"},      {"ApiVersion", "2010-04-01"}};
}

/// The fixture as a form body: '+' is sent as %2B.
const std::string fixture_body =
  "ErrorCode=30003&SmsSid=SM0123456789abcdef0123456789abcdef&SmsStatus=undelivered&MessageStatus=undelivered"
  "&To=%2B821012345678&RawDlrDoneDate=2611270932&MessageSid=SM0123456789abcdef0123456789abcdef"
  "&AccountSid=AC00000000000000000000000000000000&From=%2B15005550006&ApiVersion=2010-04-01";

/// A file of tests/data/twilio, byte for byte.
std::string read_data(const std::string& name) {
  std::ifstream in{std::string{DELIVERYD_TEST_DATA} + "/twilio/" + name, std::ios::binary};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// A parsed callback with the given status words (and ErrorCode, if not empty).
tw::status_callback callback(const std::string& status, const std::string& error_code = "") {
  ad::form_params params{{"MessageSid", fixture_sid}, {"MessageStatus", status}};
  if (!error_code.empty())
    params.emplace_back("ErrorCode", error_code);
  auto parsed = tw::parse_callback(params);
  REQUIRE(std::holds_alternative<tw::status_callback>(parsed));
  return std::get<tw::status_callback>(parsed);
}

} // namespace

TEST_CASE("Twilio's published signature vector verifies", "[twilio][signature]") {
  const ad::form_params params{{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
                               {"From", "+12349013030"}, {"To", "+18005551212"}};
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  CHECK(tw::signing_string(url, params) ==
        url + "CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212");
  CHECK(tw::compute_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  CHECK(tw::verify_signature("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
}

TEST_CASE("the project fixture signs as documented", "[twilio][signature]") {
  const auto params = fixture_params();
  CHECK(tw::signing_string(fixture_url, params) ==
        fixture_url + "AccountSidAC00000000000000000000000000000000ApiVersion2010-04-01ErrorCode30003"
                      "From+15005550006MessageSid" + fixture_sid + "MessageStatusundelivered"
                      "RawDlrDoneDate2611270932SmsSid" + fixture_sid + "SmsStatusundeliveredTo+821012345678");
  CHECK(tw::compute_signature(fixture_token, fixture_url, params) == fixture_signature);
  CHECK(tw::verify_signature(fixture_token, fixture_url, params, fixture_signature));
  // Webhooks Rule: same string, HMAC-SHA256 with the shared key (recomputed with python's hmac).
  CHECK(tw::compute_signature_sha256("demo-shared-key", fixture_url, params) ==
        "EcPXDeq43Nq9qWaPShgaBv57J14wWOd/BBjl4HIFZxQ=");
}

TEST_CASE("the fixture posted as a form body decodes and verifies", "[twilio][signature][form]") {
  auto params = ad::parse_form(fixture_body);
  REQUIRE(params);
  CHECK(*params == fixture_params());
  CHECK(tw::verify_signature(fixture_token, fixture_url, *params, fixture_signature));

  SECTION("and so do the sample payloads in tests/data/twilio") {
    for (const char* name : {"undelivered_30003", "delivered", "sent", "failed_no_error_code"}) {
      INFO(name);
      auto sample = ad::parse_form(read_data(std::string{name} + ".form"));
      REQUIRE(sample);
      CHECK(tw::verify_signature(fixture_token, fixture_url, *sample, read_data(std::string{name} + ".sig")));
      CHECK(std::holds_alternative<tw::status_callback>(tw::parse_callback(*sample)));
    }
    CHECK(read_data("undelivered_30003.form") == fixture_body);
  }
}

TEST_CASE("anything changed fails verification", "[twilio][signature]") {
  auto params = fixture_params();
  auto verify = [](const ad::form_params& p) {
    return tw::verify_signature(fixture_token, fixture_url, p, fixture_signature);
  };

  SECTION("a tampered value") {
    params[0].second = "30005";
    CHECK_FALSE(verify(params));
  }
  SECTION("a trimmed value") {
    params[4].second = "821012345678";
    CHECK_FALSE(verify(params));
  }
  SECTION("an extra parameter") {
    params.emplace_back("MessagingServiceSid", "MG0");
    CHECK_FALSE(verify(params));
  }
  SECTION("a missing parameter") {
    params.pop_back();
    CHECK_FALSE(verify(params));
  }
  SECTION("a repeated parameter") {
    params.emplace_back("ErrorCode", "30003");
    CHECK_FALSE(verify(params));
  }
  SECTION("the wrong token, e.g. the secondary one") {
    CHECK_FALSE(tw::verify_signature("54321", fixture_url, params, fixture_signature));
    CHECK_FALSE(tw::verify_signature("", fixture_url, params, fixture_signature));
  }
  SECTION("another URL: a proxy changed scheme, port, path or query") {
    for (const char* url : {"http://hooks.example.com/twilio/status?tenant=acme",
                            "https://hooks.example.com:443/twilio/status?tenant=acme",
                            "https://hooks.example.com/twilio/status/?tenant=acme",
                            "https://hooks.example.com/twilio/status",
                            "https://hooks.example.com/twilio/status?tenant=acme2"}) {
      INFO(url);
      CHECK_FALSE(tw::verify_signature(fixture_token, url, params, fixture_signature));
    }
  }
  SECTION("a damaged or missing header") {
    CHECK_FALSE(tw::verify_signature(fixture_token, fixture_url, params, ""));
    CHECK_FALSE(tw::verify_signature(fixture_token, fixture_url, params, "B5/lrWc89cS/c4hXxrp8sa1ZbQk"));
    CHECK_FALSE(tw::verify_signature(fixture_token, fixture_url, params, "B5/lrWc89cS/c4hXxrp8sa1ZbQK="));
    CHECK_FALSE(tw::verify_signature(fixture_token, fixture_url, params, fixture_signature + " "));
  }
}

TEST_CASE("unknown parameters are signed and kept", "[twilio][signature][parse]") {
  auto params = fixture_params();
  params.emplace_back("ChannelPrefix", "sms");
  const auto signature = tw::compute_signature(fixture_token, fixture_url, params);
  CHECK(signature != fixture_signature);
  CHECK(tw::verify_signature(fixture_token, fixture_url, params, signature));

  auto parsed = tw::parse_callback(params);
  REQUIRE(std::holds_alternative<tw::status_callback>(parsed));
  const auto& cb = std::get<tw::status_callback>(parsed);
  CHECK(cb.params == params);
  CHECK(cb.message_sid == fixture_sid);
  CHECK(cb.message_status == "undelivered");
  CHECK(cb.error_code == "30003");
  CHECK(cb.account_sid == "AC" + std::string(32, '0'));
  CHECK(cb.raw_dlr_done_date == "2611270932");
}

TEST_CASE("the signing string sorts names in byte order and the values of a repeated name", "[twilio][signature]") {
  const ad::form_params params{{"b", "2"}, {"a", "z"}, {"a", "y"}, {"a", "\xc3\xa9"}, {"A", "1"}};
  CHECK(tw::signing_string("https://x.example/cb", params) == "https://x.example/cbA1ayaza\xc3\xa9" "b2");
  CHECK(tw::signing_string("https://x.example/cb", {}) == "https://x.example/cb");
}

TEST_CASE("parse_callback takes the legacy names as fallbacks and refuses what it cannot use", "[twilio][parse]") {
  auto parse = [](const ad::form_params& p) { return tw::parse_callback(p); };
  auto error_of = [&](const ad::form_params& p) {
    auto r = parse(p);
    REQUIRE(std::holds_alternative<tw::parse_error>(r));
    return std::get<tw::parse_error>(r);
  };

  auto legacy = parse({{"SmsSid", "SM1"}, {"SmsStatus", "delivered"}});
  REQUIRE(std::holds_alternative<tw::status_callback>(legacy));
  CHECK(std::get<tw::status_callback>(legacy).message_sid == "SM1");
  CHECK(std::get<tw::status_callback>(legacy).message_status == "delivered");
  CHECK(std::get<tw::status_callback>(legacy).error_code.empty());

  auto both = parse(
    {{"SmsSid", "SMold"}, {"MessageSid", "SMnew"}, {"SmsStatus", "sent"}, {"MessageStatus", "delivered"}});
  REQUIRE(std::holds_alternative<tw::status_callback>(both));
  CHECK(std::get<tw::status_callback>(both).message_sid == "SMnew");
  CHECK(std::get<tw::status_callback>(both).message_status == "delivered");

  CHECK(error_of({{"MessageStatus", "delivered"}}) == tw::parse_error::missing_message_sid);
  CHECK(error_of({{"MessageSid", ""}, {"MessageStatus", "delivered"}}) == tw::parse_error::missing_message_sid);
  CHECK(error_of({{"MessageSid", "SM1"}}) == tw::parse_error::missing_message_status);
  CHECK(error_of({{"MessageSid", "SM1"}, {"MessageStatus", "bounced"}}) == tw::parse_error::unknown_status);
  CHECK(error_of({{"MessageSid", "SM1"}, {"MessageStatus", "Delivered"}}) == tw::parse_error::unknown_status);

  for (auto e : {tw::parse_error::missing_message_sid, tw::parse_error::missing_message_status,
                 tw::parse_error::unknown_status})
    CHECK_FALSE(tw::describe(e).empty());
}

TEST_CASE("every status word maps onto the contract", "[twilio][map]") {
  for (const char* word : {"accepted", "scheduled", "queued", "sending", "sent", "delivered", "read"}) {
    INFO(word);
    const auto [disp, e] = tw::map_callback(callback(word), received_at);
    CHECK(disp == tw::disposition::apply);
    const bool delivered = std::string_view{word} == "delivered" || std::string_view{word} == "read";
    CHECK(e.outcome == (delivered ? core::status::sent : core::status::pending));
    CHECK(e.code.empty());
    CHECK(e.reason.empty());
    CHECK(e.cat == core::category::none);
    CHECK(e.source == core::event_source::webhook);
    CHECK(e.vendor_time == core::timestamp{});
    CHECK(e.vendor_status == word);
    CHECK(e.dedupe_key == fixture_sid + "|" + word);
  }
  for (const char* word : {"receiving", "received"}) {
    INFO(word);
    CHECK(tw::map_callback(callback(word), received_at).first == tw::disposition::ignore);
  }
}

TEST_CASE("failures carry the Twilio code, its category and a reason", "[twilio][map]") {
  SECTION("the fixture: undelivered 30003") {
    auto parsed = tw::parse_callback(fixture_params());
    REQUIRE(std::holds_alternative<tw::status_callback>(parsed));
    const auto [disp, e] = tw::map_callback(std::get<tw::status_callback>(parsed), received_at);
    CHECK(disp == tw::disposition::apply);
    CHECK(e.outcome == core::status::failed);
    CHECK(e.code == "twilio:30003");
    CHECK(e.vendor_code == "30003");
    CHECK(e.vendor_status == "undelivered");
    CHECK(e.cat == core::category::unreachable);
    CHECK(e.reason == "Unreachable destination handset");
    CHECK(e.vendor_time == core::timestamp{});
    CHECK(e.dedupe_key == fixture_sid + "|undelivered");
  }
  SECTION("failed and undelivered without an ErrorCode") {
    for (const char* word : {"failed", "undelivered"}) {
      INFO(word);
      const auto e = tw::map_callback(callback(word), received_at).second;
      CHECK(e.outcome == core::status::failed);
      CHECK(e.code == std::string{"twilio:"} + word);
      CHECK(e.vendor_code.empty());
      CHECK(e.cat == core::category::unknown);
      CHECK(e.reason == core::describe(core::category::unknown));
      CHECK_FALSE(e.reason.empty());
    }
  }
  SECTION("an ErrorCode Twilio's short names do not cover") {
    const auto e = tw::map_callback(callback("failed", "63016"), received_at).second;
    CHECK(e.code == "twilio:63016");
    CHECK(e.cat == core::category::unknown);
    CHECK_FALSE(e.reason.empty());
  }
  SECTION("canceled is a failure of category unknown") {
    const auto e = tw::map_callback(callback("canceled"), received_at).second;
    CHECK(e.outcome == core::status::failed);
    CHECK(e.code == "twilio:canceled");
    CHECK(e.cat == core::category::unknown);
    CHECK(e.reason == "Message canceled");
    const auto with_code = tw::map_callback(callback("canceled", "30002"), received_at).second;
    CHECK(with_code.code == "twilio:30002");
    CHECK(with_code.cat == core::category::sender_config);
  }
  SECTION("partially_delivered is uncertain ME09") {
    const auto [disp, e] = tw::map_callback(callback("partially_delivered"), received_at);
    CHECK(disp == tw::disposition::apply);
    CHECK(e.outcome == core::status::uncertain);
    CHECK(e.code == "ME09");
    CHECK(e.reason == "Uncertain delivery status");
    CHECK(e.dedupe_key == fixture_sid + "|partially_delivered");
  }
  SECTION("21610 is an opted-out failure, not an exclusion") {
    const auto e = tw::map_callback(callback("failed", "21610"), received_at).second;
    CHECK(e.outcome == core::status::failed);
    CHECK(e.cat == core::category::opted_out);
    CHECK(e.reason == "Attempt to send to unsubscribed recipient");
  }
}

TEST_CASE("the dedupe key tells statuses of one message apart", "[twilio][map]") {
  const auto sent = tw::map_callback(callback("sent"), received_at).second;
  const auto delivered = tw::map_callback(callback("delivered"), received_at).second;
  CHECK(sent.dedupe_key != delivered.dedupe_key);
  CHECK(tw::map_callback(callback("delivered"), received_at + std::chrono::seconds{5}).second.dedupe_key ==
        delivered.dedupe_key);
}

TEST_CASE("Twilio error codes: category and short text", "[twilio][codes]") {
  using c = core::category;
  const std::vector<std::pair<std::string, c>> table{
    {"30001", c::vendor_error},      {"30002", c::sender_config},     {"30003", c::unreachable},
    {"30004", c::blocked},           {"30005", c::invalid_recipient}, {"30006", c::invalid_recipient},
    {"30007", c::content_rejected},  {"30008", c::unknown},           {"30009", c::vendor_error},
    {"30010", c::sender_config},     {"30034", c::sender_config},     {"21211", c::invalid_recipient},
    {"21610", c::opted_out},         {"21614", c::invalid_recipient}, {"21635", c::invalid_recipient}};
  for (const auto& [code, cat] : table) {
    INFO(code);
    CHECK(tw::category_of(code) == cat);
    CHECK_FALSE(tw::error_text(code).empty());
  }
  CHECK(tw::error_text("30005") == "Unknown destination handset");
  CHECK(tw::error_text("30006") == "Landline or unreachable carrier");
  CHECK(tw::error_text("30007") == "Message filtered");
  CHECK(tw::category_of("") == c::unknown);
  CHECK(tw::category_of("99999") == c::unknown);
  CHECK(tw::error_text("99999").empty());
  CHECK(tw::error_text("").empty());
}
