/// The contract's words: exact spellings both ways.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/words.hpp"

using namespace deliveryd::core;

namespace {

template <class Enum, class Parse>
void check_spellings(const std::vector<std::pair<Enum, std::string_view>>& expected, Parse parse) {
  for (const auto& [value, word] : expected) {
    INFO("word: " << word);
    CHECK(to_string(value) == word);
    const auto parsed = parse(word);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == value);
    // Spellings are exact: no case folding, no surrounding space.
    if (!word.empty()) {
      std::string upper{word};
      upper[0] = static_cast<char>(upper[0] - 'a' + 'A');
      CHECK_FALSE(parse(upper).has_value());
      CHECK_FALSE(parse(std::string{word} + " ").has_value());
    }
  }
  CHECK_FALSE(parse("bogus").has_value());
}

} // namespace

TEST_CASE("status words are the contract's", "[words]") {
  check_spellings<status>({{status::pending, "pending"},
                           {status::sent, "sent"},
                           {status::failed, "failed"},
                           {status::excluded, "excluded"},
                           {status::uncertain, "uncertain"}},
                          parse_status);
  CHECK_FALSE(parse_status("").has_value());
  CHECK_FALSE(parse_status("delivered").has_value());
}

TEST_CASE("medium words are the contract's", "[words]") {
  check_spellings<medium>(
    {{medium::sms, "sms"}, {medium::lms, "lms"}, {medium::email, "email"}, {medium::alimtalk, "alimtalk"}},
    parse_medium);
  CHECK_FALSE(parse_medium("kakao").has_value());
}

TEST_CASE("send type words are the contract's", "[words]") {
  check_spellings<send_type>({{send_type::campaign, "campaign"},
                              {send_type::one_time, "one_time"},
                              {send_type::follow_up, "follow_up"},
                              {send_type::workflow, "workflow"}},
                             parse_send_type);
  CHECK_FALSE(parse_send_type("one-time").has_value());
}

TEST_CASE("vendor words are the contract's", "[words]") {
  check_spellings<vendor>({{vendor::twilio, "twilio"},
                           {vendor::carrier, "carrier"},
                           {vendor::kakao, "kakao"},
                           {vendor::email, "email"}},
                          parse_vendor);
  CHECK_FALSE(parse_vendor("sendgrid").has_value());
}

TEST_CASE("category words are the contract's and none is empty", "[words]") {
  check_spellings<category>({{category::none, ""},
                             {category::invalid_recipient, "invalid_recipient"},
                             {category::unreachable, "unreachable"},
                             {category::blocked, "blocked"},
                             {category::content_rejected, "content_rejected"},
                             {category::opted_out, "opted_out"},
                             {category::sender_config, "sender_config"},
                             {category::vendor_error, "vendor_error"},
                             {category::unknown, "unknown"}},
                            parse_category);
  CHECK_FALSE(parse_category("none").has_value());
}

TEST_CASE("event source words are the contract's", "[words]") {
  check_spellings<event_source>({{event_source::intake, "intake"},
                                 {event_source::webhook, "webhook"},
                                 {event_source::poll, "poll"},
                                 {event_source::deadline, "deadline"}},
                                parse_event_source);
}

TEST_CASE("every category has its own one-sentence description", "[words]") {
  std::set<std::string_view> seen;
  for (int i = 0; i <= static_cast<int>(category::unknown); ++i) {
    const auto cat = static_cast<category>(i);
    const auto text = describe(cat);
    INFO("category: " << to_string(cat));
    REQUIRE(text.size() > 10);
    CHECK(text.front() >= 'A');
    CHECK(text.front() <= 'Z');
    CHECK(text.back() == '.');
    CHECK(seen.insert(text).second);
  }
}

TEST_CASE("only pending is not final", "[words]") {
  CHECK_FALSE(is_final(status::pending));
  CHECK(is_final(status::sent));
  CHECK(is_final(status::failed));
  CHECK(is_final(status::excluded));
  CHECK(is_final(status::uncertain));
}
