/// The reason-code table: the seed's rows, verbatim, and the exclusion-code range.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "core/codes.hpp"

using namespace deliveryd::core;

TEST_CASE("the table holds the seed's codes in the seed's order", "[codes]") {
  const std::vector<std::string_view> expected{"10000", "10001", "10002", "10003", "10004",
                                               "10005", "10006", "10007", "10008", "10999",
                                               "11000", "11001", "11002", "11999", "ME09"};
  const auto table = code_table();
  REQUIRE(table.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    CHECK(table[i].code == expected[i]);
}

TEST_CASE("rows carry the seed's texts and categories", "[codes]") {
  struct row {
    std::string_view code, reason, description;
    category cat;
  };
  const std::vector<row> expected{
    {"10000", "Invalid user or contact info", "Invalid user or contact info", category::invalid_recipient},
    {"10001", "Duplicate contact", "The message has already been sent to this contact.", category::blocked},
    {"10002", "Integration error", "Errors including disconnected external messengers or blocked services.",
     category::sender_config},
    {"10003", "Not on a paid plan",
     "The paid plan was suspended before the message was sent via Marketing or Workflow.",
     category::sender_config},
    {"10004", "Usage limit reached", "Reached the PU (SMS, Social Media) limit.", category::blocked},
    {"10005", "Usage limit reached", "Reached the marketing message limit (1,000) during the Free Trial.",
     category::blocked},
    {"10006", "Unsubscribed from marketing", "The recipient has opted out of promotional SMS/emails.",
     category::opted_out},
    {"10007", "Message restriction",
     "Alimtalk is not sent when a team member starts a conversation first via 'Open New Chat'.",
     category::blocked},
    {"10008", "Message restriction", "SMS is only supported in South Korea, Japan, and North America.",
     category::invalid_recipient},
    {"10999", "Other internal system error", "Other internal system error", category::unknown},
    {"11000", "Sender profile required",
     "North American recipients require a North American phone number to receive messages.",
     category::sender_config},
    {"11001", "Sender profile required",
     "Missing a marketing sender profile (Sender ID, North American phone number).", category::sender_config},
    {"11002", "Twilio usage limit reached", "Exceeded the daily usage limit for Twilio.", category::blocked},
    {"11999", "Other internal system filtering", "Other internal system filtering", category::unknown},
    {"ME09", "Uncertain delivery status",
     "Delivery status is uncertain due to the user\xE2\x80\x99s device environment at the time of sending.",
     category::unknown},
  };
  for (const auto& want : expected) {
    INFO("code: " << want.code);
    const auto* got = find_code(want.code);
    REQUIRE(got != nullptr);
    CHECK(got->code == want.code);
    CHECK(got->reason == want.reason);
    CHECK(got->description == want.description);
    CHECK(got->cat == want.cat);
    CHECK(got->implies == (want.code == "ME09" ? status::uncertain : status::excluded));
  }
}

TEST_CASE("no row is empty and codes are unique", "[codes]") {
  std::set<std::string_view> codes;
  for (const auto& row : code_table()) {
    INFO("code: " << row.code);
    CHECK_FALSE(row.reason.empty());
    CHECK_FALSE(row.description.empty());
    CHECK(row.cat != category::none);
    CHECK(codes.insert(row.code).second);
  }
  CHECK(uncertain_code == "ME09");
}

TEST_CASE("find_code is exact", "[codes]") {
  CHECK(find_code("10009") == nullptr);
  CHECK(find_code("me09") == nullptr);
  CHECK(find_code("10006 ") == nullptr);
  CHECK(find_code("") == nullptr);
  CHECK(find_code("twilio:30003") == nullptr);
  REQUIRE(find_code("ME09") != nullptr);
  CHECK(find_code("ME09")->implies == status::uncertain);
}

TEST_CASE("exclusion codes are 10000-11999 inclusive", "[codes]") {
  CHECK_FALSE(is_exclusion_code(9999));
  CHECK(is_exclusion_code(10000));
  CHECK(is_exclusion_code(10500)); // in range though the seed does not name it
  CHECK(is_exclusion_code(11999));
  CHECK_FALSE(is_exclusion_code(12000));
  CHECK_FALSE(is_exclusion_code(-10000));
}

TEST_CASE("parse_exclusion_code takes plain digits only", "[codes]") {
  CHECK(parse_exclusion_code("10006") == 10006);
  CHECK(parse_exclusion_code("10000") == 10000);
  CHECK(parse_exclusion_code("11999") == 11999);
  CHECK(parse_exclusion_code("10500") == 10500);
  for (const char* bad : {"", "9999", "12000", "99999", "+10006", "-10006", " 10006", "10006 ", "010006",
                          "1e4", "10006x", "ME09", "1000.0"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(parse_exclusion_code(bad).has_value());
  }
}
