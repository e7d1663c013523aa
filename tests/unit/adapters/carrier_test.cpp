/// Carrier-side reports: Jasmin HTTP DLRs, aggregator result codes (docs/vendors.md#carrier-aggregator-result-codes),
/// and the token check.

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/carrier/carrier.hpp"
#include "core/codes.hpp"

namespace ca = deliveryd::adapters::carrier;
namespace ad = deliveryd::adapters;
namespace core = deliveryd::core;

namespace {

const std::string jasmin_id = "16fd2706-8baf-433b-82eb-8c7fada847da";
const core::timestamp received_at = core::from_millis(1'764'236'400'000);
/// The vendor time of an event that does not say when it happened: unknown, never the receipt time.
const core::timestamp unknown_time{};

/// The instant of a UTC civil time, computed independently of the code under test.
core::timestamp utc(int y, unsigned mo, unsigned d, int h, int mi) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} / std::chrono::day{d}};
  return core::timestamp{day + std::chrono::hours{h} + std::chrono::minutes{mi}};
}

core::zone seoul() {
  const auto z = core::zone::locate("Asia/Seoul");
  REQUIRE(z.has_value());
  return *z;
}

/// A file of tests/data/carrier, byte for byte.
std::string read_data(const std::string& name) {
  std::ifstream in{std::string{DELIVERYD_TEST_DATA} + "/carrier/" + name, std::ios::binary};
  REQUIRE(in);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// A terminal (level 2) DLR with the given status word, and more parameters if any.
ad::form_params dlr(const std::string& status, const std::string& level = "2", ad::form_params more = {}) {
  ad::form_params p{{"id", jasmin_id}, {"message_status", status}, {"level", level}};
  p.insert(p.end(), more.begin(), more.end());
  return p;
}

/// parse_jasmin that must succeed.
ad::mapped_event jasmin_ok(const ad::form_params& p, std::string_view raw = "raw") {
  auto r = ca::parse_jasmin(p, raw, seoul(), received_at);
  if (const auto* err = std::get_if<std::string>(&r))
    FAIL(*err);
  return std::get<ad::mapped_event>(r);
}

/// The error sentence of a parse_jasmin that must fail.
std::string jasmin_error(const ad::form_params& p) {
  auto r = ca::parse_jasmin(p, "", seoul(), received_at);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}

/// parse_aggregator that must accept the body.
ad::mapped_batch batch_ok(std::string_view body) {
  auto r = ca::parse_aggregator(body, received_at);
  if (const auto* err = std::get_if<std::string>(&r))
    FAIL(*err);
  return std::get<ad::mapped_batch>(r);
}

/// The one event of a one-element aggregator body.
core::event report(const std::string& code, const std::string& done_at = "2026-11-27T09:32:00+09:00") {
  const auto batch = batch_ok(R"([{"message_id":"m1","result_code":")" + code + R"(","done_at":")" + done_at +
                              R"("}])");
  REQUIRE(batch.events.size() == 1);
  REQUIRE(batch.unusable.empty());
  return batch.events[0].event;
}

} // namespace

TEST_CASE("the Jasmin samples map onto sent and failed", "[carrier][jasmin]") {
  const auto delivrd_body = read_data("jasmin_delivrd.form");
  const auto delivrd_params = ad::parse_form(delivrd_body);
  REQUIRE(delivrd_params);
  const auto sent = jasmin_ok(*delivrd_params, delivrd_body);
  CHECK(sent.vendor_message_id == jasmin_id);
  CHECK(sent.raw == delivrd_body);
  CHECK(sent.event.outcome == core::status::sent);
  CHECK(sent.event.code.empty());
  CHECK(sent.event.reason.empty());
  CHECK(sent.event.cat == core::category::none);
  CHECK(sent.event.source == core::event_source::webhook);
  CHECK(sent.event.vendor_status == "DELIVRD");
  CHECK(sent.event.vendor_code == "000");
  CHECK(sent.event.dedupe_key == jasmin_id + "|2|DELIVRD");
  // 2611270932 read in Asia/Seoul: 2026-11-27T09:32+09:00.
  CHECK(sent.event.vendor_time == utc(2026, 11, 27, 0, 32));
  CHECK(sent.event.vendor_time == core::parse_rfc3339("2026-11-27T09:32:00+09:00"));

  const auto undeliv_body = read_data("jasmin_undeliv.form");
  const auto undeliv_params = ad::parse_form(undeliv_body);
  REQUIRE(undeliv_params);
  const auto failed = jasmin_ok(*undeliv_params, undeliv_body);
  CHECK(failed.vendor_message_id == "5a9e3c1b-2f47-4d8e-9b61-0c7d2e4f8a13");
  CHECK(failed.event.outcome == core::status::failed);
  CHECK(failed.event.code == "carrier:UNDELIV");
  CHECK(failed.event.vendor_code == "001");
  CHECK(failed.event.cat == core::category::unreachable);
  CHECK(failed.event.reason == "Undeliverable");
  CHECK(failed.event.vendor_time == utc(2026, 11, 27, 0, 45));
  CHECK(failed.event.dedupe_key == "5a9e3c1b-2f47-4d8e-9b61-0c7d2e4f8a13|2|UNDELIV");
}

TEST_CASE("every SMPP stat word at levels 2 and 3, in any case", "[carrier][jasmin]") {
  struct expect {
    const char* word;
    core::status outcome;
    core::category cat;
  };
  const std::vector<expect> table{
    {"DELIVRD", core::status::sent, core::category::none},
    {"UNDELIV", core::status::failed, core::category::unreachable},
    {"REJECTD", core::status::failed, core::category::blocked},
    {"EXPIRED", core::status::failed, core::category::unreachable},
    {"DELETED", core::status::failed, core::category::vendor_error},
    {"ENROUTE", core::status::pending, core::category::none},
    {"ACCEPTD", core::status::pending, core::category::none},
    {"UNKNOWN", core::status::uncertain, core::category::unknown},
  };
  for (const auto& row : table) {
    const std::string upper = row.word;
    std::string lower = upper;
    for (auto& c : lower)
      c = static_cast<char>(c - 'A' + 'a');
    const std::string mixed = upper.substr(0, 1) + lower.substr(1);
    for (const std::string& spelled : {upper, lower, mixed}) {
      for (const char* level : {"2", "3"}) {
        INFO(spelled << " level " << level);
        const auto e = jasmin_ok(dlr(spelled, level, {{"err", "042"}, {"donedate", "2611270932"}})).event;
        CHECK(e.outcome == row.outcome);
        CHECK(e.cat == row.cat);
        CHECK(e.vendor_status == spelled);
        CHECK(e.vendor_code == "042");
        CHECK(e.dedupe_key == jasmin_id + "|" + level + "|" + upper);
        CHECK(e.vendor_time == utc(2026, 11, 27, 0, 32));
        switch (row.outcome) {
          case core::status::failed:
            CHECK(e.code == "carrier:" + upper);
            CHECK_FALSE(e.reason.empty());
            break;
          case core::status::uncertain:
            CHECK(e.code == "ME09");
            CHECK(e.reason == "Uncertain delivery status");
            break;
          default:
            CHECK(e.code.empty());
            CHECK(e.reason.empty());
        }
      }
    }
  }
}

TEST_CASE("level 1: the SMSC's answer to the submit", "[carrier][jasmin]") {
  SECTION("ESME_ROK is pending, in any case, with no vendor time") {
    for (const char* word : {"ESME_ROK", "esme_rok"}) {
      const auto m = jasmin_ok(dlr(word, "1"));
      CHECK(m.event.outcome == core::status::pending);
      CHECK(m.event.code.empty());
      CHECK(m.event.vendor_time == unknown_time);
      CHECK(m.event.vendor_status == word);
      CHECK(m.event.vendor_code.empty());
      CHECK(m.event.dedupe_key == jasmin_id + "|1|ESME_ROK");
    }
  }
  SECTION("a refused submit is a failure named by its command status") {
    const auto e = jasmin_ok(dlr("ESME_RINVNUMDESTS", "1")).event;
    CHECK(e.outcome == core::status::failed);
    CHECK(e.code == "carrier:ESME_RINVNUMDESTS");
    CHECK(e.cat == core::category::vendor_error);
    CHECK(e.reason == "Submit refused by the SMSC");
    CHECK(jasmin_ok(dlr("esme_rinvmsglen", "3")).event.code == "carrier:ESME_RINVMSGLEN");
  }
  SECTION("address errors name the wrong side") {
    for (const char* word : {"ESME_RINVDSTADR", "ESME_RINVDSTTON", "ESME_RINVDSTNPI"}) {
      INFO(word);
      const auto e = jasmin_ok(dlr(word, "1")).event;
      CHECK(e.outcome == core::status::failed);
      CHECK(e.cat == core::category::invalid_recipient);
      CHECK(e.reason == "Invalid destination address");
    }
    for (const char* word : {"ESME_RINVSRCADR", "ESME_RINVSRCTON", "ESME_RINVSRCNPI"}) {
      INFO(word);
      const auto e = jasmin_ok(dlr(word, "1")).event;
      CHECK(e.cat == core::category::sender_config);
      CHECK(e.reason == "Invalid source address");
    }
  }
  SECTION("errors Jasmin retries by default stay pending") {
    for (const char* word : {"ESME_RTHROTTLED", "ESME_RMSGQFUL", "ESME_RSYSERR", "ESME_RINVSCHED"}) {
      INFO(word);
      const auto e = jasmin_ok(dlr(word, "1")).event;
      CHECK(e.outcome == core::status::pending);
      CHECK(e.code.empty());
      CHECK(e.vendor_status == word);
      CHECK(e.dedupe_key == jasmin_id + "|1|" + word);
    }
  }
}

TEST_CASE("a DLR that cannot be used is an error sentence", "[carrier][jasmin]") {
  CHECK_FALSE(jasmin_error({{"message_status", "DELIVRD"}, {"level", "2"}}).empty());
  CHECK(jasmin_error({{"id", ""}, {"message_status", "DELIVRD"}, {"level", "2"}}) ==
        jasmin_error({{"message_status", "DELIVRD"}, {"level", "2"}}));
  CHECK_FALSE(jasmin_error({{"id", jasmin_id}, {"level", "2"}}).empty());
  CHECK_FALSE(jasmin_error({{"id", jasmin_id}, {"message_status", ""}, {"level", "2"}}).empty());
  CHECK_FALSE(jasmin_error({{"id", jasmin_id}, {"message_status", "DELIVRD"}}).empty());
  for (const char* level : {"0", "4", "12", " 2", "2 ", "two"}) {
    INFO(level);
    CHECK_FALSE(jasmin_error(dlr("DELIVRD", level)).empty());
  }
  for (const char* word : {"DELIVERED", "delivered", "SKIPPED", "OK", "ESME_R", "ESME_ROK!", "ESME-ROK",
                           "DELIVRD "}) {
    INFO(word);
    CHECK_FALSE(jasmin_error(dlr(word)).empty());
  }
}

TEST_CASE("Jasmin fields: donedate, err, repeats and unknown fields", "[carrier][jasmin]") {
  SECTION("a donedate that does not read leaves the vendor time unknown; raw keeps it") {
    for (const char* done : {"", "26112709", "2613270932", "2611272460", "26-11-2709", "20261127093200"}) {
      INFO(done);
      const auto m = jasmin_ok(dlr("DELIVRD", "2", {{"donedate", done}}), std::string{"donedate="} + done);
      CHECK(m.event.vendor_time == unknown_time);
      CHECK(m.raw == std::string{"donedate="} + done);
    }
  }
  SECTION("subdate is not the event time") {
    const auto e = jasmin_ok(dlr("DELIVRD", "2", {{"subdate", "2611270930"}})).event;
    CHECK(e.vendor_time == unknown_time);
  }
  SECTION("the first non-empty value of a repeated field counts; unknown fields are ignored") {
    const auto m = jasmin_ok({{"id", ""},
                              {"id", jasmin_id},
                              {"id", "other"},
                              {"message_status", "UNDELIV"},
                              {"level", "2"},
                              {"connector", "smppc-kt"},
                              {"err", "0x0B"}});
    CHECK(m.vendor_message_id == jasmin_id);
    CHECK(m.event.vendor_code == "0x0B");
    CHECK(m.event.code == "carrier:UNDELIV");
  }
}

TEST_CASE("Jasmin dedupe keys: id, level and status word", "[carrier][jasmin][dedupe]") {
  const auto ack = jasmin_ok(dlr("ESME_ROK", "1")).event.dedupe_key;
  const auto ack3 = jasmin_ok(dlr("ESME_ROK", "3")).event.dedupe_key;
  const auto delivered = jasmin_ok(dlr("DELIVRD", "2")).event.dedupe_key;
  const auto delivered3 = jasmin_ok(dlr("DELIVRD", "3")).event.dedupe_key;
  const auto enroute = jasmin_ok(dlr("ENROUTE", "2")).event.dedupe_key;
  const std::vector<std::string> keys{ack, ack3, delivered, delivered3, enroute};
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (std::size_t j = i + 1; j < keys.size(); ++j)
      CHECK(keys[i] != keys[j]);
  // A resend (Jasmin retries until it reads ACK/Jasmin) is the same event, whatever else changed.
  CHECK(jasmin_ok(dlr("delivrd", "2", {{"donedate", "2611270932"}})).event.dedupe_key == delivered);
  auto other = dlr("DELIVRD");
  other[0].second = "another-id";
  CHECK(jasmin_ok(other).event.dedupe_key == "another-id|2|DELIVRD");
}

TEST_CASE("aggregator result codes: every family", "[carrier][aggregator]") {
  using c = core::category;
  struct expect {
    std::vector<const char*> codes;
    core::status outcome;
    c cat;
    const char* text;
  };
  const std::vector<expect> table{
    {{"4100", "6600", "7000"}, core::status::sent, c::none, nullptr},
    {{"9023", "7305"}, core::status::uncertain, c::unknown, nullptr},
    {{"4400", "6603"}, core::status::failed, c::unreachable, "Shadow area (no coverage)"},
    {{"4401", "6604"}, core::status::failed, c::unreachable, "Handset off"},
    {{"4402", "6605"}, core::status::failed, c::unreachable, "Handset storage full"},
    {{"4410", "6606"}, core::status::failed, c::invalid_recipient, "Wrong number"},
    {{"4414", "6630"}, core::status::failed, c::invalid_recipient, "Non-subscriber or suspended number"},
    {{"4412", "4423", "6609"}, core::status::failed, c::blocked, "Receipt rejected"},
    {{"4421", "6601"}, core::status::failed, c::unreachable, "Timeout"},
    {{"4426"}, core::status::failed, c::unreachable, "Retry limit exceeded"},
    {{"4430", "4431", "6617", "6618", "6619", "6627"}, core::status::failed, c::blocked, "Spam blocked"},
    {{"6626"}, core::status::failed, c::opted_out, "080 opt-out blocked"},
    {{"4432", "4433", "4434", "4435", "4436", "6628", "6629", "6631", "6632", "6633"}, core::status::failed,
     c::sender_config, "Caller number not pre-registered or blocked"},
    {{"4999", "6650", "0000", "1234"}, core::status::failed, c::unknown, nullptr},
  };
  for (const auto& row : table) {
    for (const char* code : row.codes) {
      INFO(code);
      const auto meaning = ca::meaning_of(code);
      REQUIRE(meaning);
      CHECK(meaning->outcome == row.outcome);
      CHECK(meaning->cat == row.cat);
      const auto e = report(code);
      CHECK(e.outcome == row.outcome);
      CHECK(e.cat == row.cat);
      CHECK(e.vendor_status == code);
      CHECK(e.vendor_code == code);
      CHECK(e.dedupe_key == std::string{"m1|"} + code);
      CHECK(e.source == core::event_source::webhook);
      CHECK(e.vendor_time == utc(2026, 11, 27, 0, 32));
      if (row.outcome == core::status::failed) {
        CHECK(e.code == std::string{"carrier:"} + code);
        CHECK(e.reason == (row.text != nullptr ? std::string{row.text} : std::string{core::describe(c::unknown)}));
      } else if (row.outcome == core::status::uncertain) {
        CHECK(e.code == "ME09");
        CHECK(e.reason == "Uncertain delivery status");
      } else {
        CHECK(e.code.empty());
        CHECK(e.reason.empty());
      }
    }
  }
  for (const char* bad : {"", "410", "41000", " 4100", "4100 ", "41a0", "+410", "-410"}) {
    INFO(bad);
    CHECK_FALSE(ca::meaning_of(bad));
  }
}

TEST_CASE("the aggregator sample batch", "[carrier][aggregator]") {
  const auto batch = batch_ok(read_data("aggregator_batch.json"));
  CHECK(batch.unusable.empty());
  CHECK(batch.ignored == 0);
  REQUIRE(batch.events.size() == 5);
  CHECK(batch.events[0].vendor_message_id == "KR20261127-0001");
  CHECK(batch.events[0].event.outcome == core::status::sent);
  CHECK(batch.events[0].event.vendor_time == utc(2026, 11, 27, 0, 32));
  CHECK(batch.events[1].event.outcome == core::status::sent);
  CHECK(batch.events[2].event.code == "carrier:4401");
  CHECK(batch.events[2].event.reason == "Handset off");
  CHECK(batch.events[3].event.cat == core::category::opted_out);
  CHECK(batch.events[3].event.vendor_time == utc(2026, 11, 27, 0, 36));
  CHECK(batch.events[4].event.outcome == core::status::uncertain);
  // A zone-less "YYYYMMDDhhmmss" is not read: the vendor time is unknown, and the text stays in raw.
  CHECK(batch.events[4].event.vendor_time == unknown_time);
  CHECK(batch.events[4].raw.find("20261127093700") != std::string::npos);
  for (const auto& m : batch.events)
    CHECK(m.event.dedupe_key == m.vendor_message_id + "|" + m.event.vendor_code);
}

TEST_CASE("unusable elements do not lose the others", "[carrier][aggregator]") {
  const auto sample = batch_ok(read_data("aggregator_batch_partial.json"));
  REQUIRE(sample.events.size() == 2);
  CHECK(sample.events[0].vendor_message_id == "KR20261127-0101");
  CHECK(sample.events[1].event.code == "carrier:4410");
  REQUIRE(sample.unusable.size() == 3);
  CHECK(sample.unusable[0].index == 1);
  CHECK(sample.unusable[1].index == 2);
  CHECK(sample.unusable[2].index == 3);

  const auto batch = batch_ok(R"([
    {"message_id": "a", "result_code": "4100"},
    42, null, [], {},
    {"result_code": "4100"},
    {"message_id": null, "result_code": "4100"},
    {"message_id": true, "result_code": "4100"},
    {"message_id": "b"},
    {"message_id": "b", "result_code": null},
    {"message_id": "b", "result_code": 4.1e3},
    {"message_id": "b", "result_code": "410"},
    {"message_id": "b", "result_code": 410},
    {"message_id": "b", "result_code": -4100},
    {"message_id": 12345, "result_code": 4401, "done_at": null},
    {"message_id": "c", "result_code": "9023", "done_at": 1764236400}
  ])");
  REQUIRE(batch.events.size() == 3);
  CHECK(batch.events[0].vendor_message_id == "a");
  CHECK(batch.events[0].event.vendor_time == unknown_time);
  CHECK(batch.events[1].vendor_message_id == "12345");
  CHECK(batch.events[1].event.code == "carrier:4401");
  CHECK(batch.events[1].event.dedupe_key == "12345|4401");
  CHECK(batch.events[1].event.vendor_time == unknown_time);
  CHECK(batch.events[2].event.outcome == core::status::uncertain);
  CHECK(batch.events[2].event.vendor_time == unknown_time);
  REQUIRE(batch.unusable.size() == 13);
  for (std::size_t i = 0; i < batch.unusable.size(); ++i) {
    CHECK(batch.unusable[i].index == i + 1);
    CHECK_FALSE(batch.unusable[i].reason.empty());
  }
}

TEST_CASE("each aggregator event keeps its own element as raw", "[carrier][aggregator]") {
  const auto batch = batch_ok(R"([{"message_id":"a","result_code":"4100","extra":{"k":[1,2]}},
                                  {"message_id":"b","result_code":"6605","done_at":"2026-11-27T09:32:00+09:00"}])");
  REQUIRE(batch.events.size() == 2);
  CHECK(nlohmann::json::parse(batch.events[0].raw) ==
        nlohmann::json::parse(R"({"message_id":"a","result_code":"4100","extra":{"k":[1,2]}})"));
  CHECK(nlohmann::json::parse(batch.events[1].raw)["result_code"] == "6605");
}

TEST_CASE("an aggregator body that is not a JSON array is refused", "[carrier][aggregator]") {
  for (const char* body : {"", "[", "{}", R"({"message_id":"a","result_code":"4100"})", "\"4100\"", "4100",
                           "null", "[1,]", "[]x"}) {
    INFO(body);
    auto r = ca::parse_aggregator(body, received_at);
    REQUIRE(std::holds_alternative<std::string>(r));
    CHECK_FALSE(std::get<std::string>(r).empty());
  }
  const auto empty = batch_ok("[]");
  CHECK(empty.events.empty());
  CHECK(empty.unusable.empty());
  CHECK(batch_ok(" \n[ ]\n").events.empty());
}

TEST_CASE("aggregator dedupe keys: message id and result code", "[carrier][aggregator][dedupe]") {
  const auto batch = batch_ok(R"([{"message_id":"m","result_code":"4401"},
                                  {"message_id":"m","result_code":"4100"},
                                  {"message_id":"m","result_code":"4401","done_at":"2026-11-27T09:40:00+09:00"},
                                  {"message_id":"n","result_code":"4401"}])");
  REQUIRE(batch.events.size() == 4);
  CHECK(batch.events[0].event.dedupe_key == "m|4401");
  CHECK(batch.events[1].event.dedupe_key == "m|4100");
  CHECK(batch.events[2].event.dedupe_key == batch.events[0].event.dedupe_key);
  CHECK(batch.events[3].event.dedupe_key == "n|4401");
}

TEST_CASE("two failures without a vendor time settle alike in either order", "[carrier][order]") {
  // Each report is parsed when it arrives; the receipt time must not stand in for the vendor time, or the
  // later arrival would win.
  const auto later = received_at + std::chrono::minutes{5};
  const auto settle = [&](const core::event& first, const core::event& second) {
    const auto state = core::reconcile(core::send_state{}, first, received_at).state;
    return core::reconcile(state, second, later).state;
  };
  const auto aggregator = [](std::string_view code, core::timestamp at) {
    auto r = ca::parse_aggregator(R"([{"message_id":"m","result_code":")" + std::string{code} + R"("}])", at);
    REQUIRE(std::holds_alternative<ad::mapped_batch>(r));
    REQUIRE(std::get<ad::mapped_batch>(r).events.size() == 1);
    return std::get<ad::mapped_batch>(r).events[0].event;
  };
  CHECK(settle(aggregator("4401", received_at), aggregator("4410", later)) ==
        settle(aggregator("4410", received_at), aggregator("4401", later)));

  const auto jasmin = [](const ad::form_params& p, core::timestamp at) {
    auto r = ca::parse_jasmin(p, "", seoul(), at);
    REQUIRE(std::holds_alternative<ad::mapped_event>(r));
    return std::get<ad::mapped_event>(r).event;
  };
  const auto refused = dlr("ESME_RINVNUMDESTS", "1");
  const auto undeliv = dlr("UNDELIV", "2", {{"donedate", "bad"}});
  CHECK(settle(jasmin(refused, received_at), jasmin(undeliv, later)) ==
        settle(jasmin(undeliv, received_at), jasmin(refused, later)));
}
