// deliveryctl's human views of the contract's JSON answers.
#include <catch2/catch.hpp>

#include "ctl/render.hpp"

using namespace deliveryd::ctl;
using json = nlohmann::json;

namespace {

json summary() {
  return json::parse(R"({
    "month": "2026-11", "zone": "Asia/Seoul", "currency": "KRW", "total": 1234,
    "by_status": {"pending": 10, "sent": 1000, "failed": 200, "excluded": 20, "uncertain": 4},
    "by_medium": {"sms": {"count": 800, "cost": 9600}, "alimtalk": {"count": 434, "cost": 3472.5}},
    "vendor_prices": {"USD": 0.0316},
    "days": [{"date": "2026-10-31", "total": 0, "pending": 0, "sent": 0, "failed": 0, "excluded": 0, "uncertain": 0},
           {"date": "2026-11-01", "total": 34, "pending": 0, "sent": 30, "failed": 3, "excluded": 1, "uncertain": 0},
             {"date": "2026-11-02", "total": 1200, "pending": 10, "sent": 970, "failed": 197, "excluded": 19,
              "uncertain": 4}]
  })");
}

} // namespace

TEST_CASE("render: the month summary; days without sends are left out", "[ctl][render]") {
  CHECK(render_summary(summary(), "campaign cmp-42") ==
        "Month 2026-11 (Asia/Seoul), campaign cmp-42: 1,234 sends\n"
        "\n"
        "STATUS     SENDS\n"
        "pending       10\n"
        "sent       1,000\n"
        "failed       200\n"
        "excluded      20\n"
        "uncertain      4\n"
        "total      1,234\n"
        "\n"
        "MEDIUM     SENDS  COST (KRW)\n"
        "sms          800       9,600\n"
        "lms            0           0\n"
        "alimtalk     434     3,472.5\n"
        "email          0           0\n"
        "all media  1,234    13,072.5\n"
        "\n"
        "CURRENCY  VENDOR-REPORTED\n"
        "USD                0.0316\n"
        "\n"
        "DATE        TOTAL  PENDING  SENT  FAILED  EXCLUDED  UNCERTAIN\n"
        "2026-11-01     34        0    30       3         1          0\n"
        "2026-11-02  1,200       10   970     197        19          4\n");
}

TEST_CASE("render: a summary without sends or vendor prices", "[ctl][render]") {
  auto s = summary();
  s["days"] = json::array({{{"date", "2026-11-01"}, {"total", 0}}});
  s["vendor_prices"] = json::object();
  const auto text = render_summary(s, "");
  CHECK(text.find("all sends: 1,234 sends") != std::string::npos);
  CHECK(text.find("Vendor-reported prices: none") != std::string::npos);
  CHECK(text.find("No sends this month.") != std::string::npos);
}

TEST_CASE("render: day rows show reasons only where the status has one, and legs below their send",
          "[ctl][render]") {
  auto rows = json::parse(R"([
    {"send_id": "s-2", "time": "2026-11-27T10:00:05+09:00", "type": "campaign", "source_id": "cmp-42",
     "source_name": "Winter sale", "status": "failed", "medium": "sms", "vendor": "twilio",
     "contact": "+821012345678", "code": "twilio:30003", "reason": "Unreachable handset", "description": null,
     "category": "unreachable", "cost": 0},
    {"send_id": "s-1", "time": "2026-11-27T09:00:00+09:00", "type": "follow_up", "source_id": null,
     "source_name": null, "status": "sent", "medium": "alimtalk", "vendor": "kakao", "contact": "+821099998888",
     "code": "kakao:3018", "reason": "ignored for sent rows", "description": null, "category": null, "cost": 47,
     "legs": [{"send_id": "s-1", "medium": "alimtalk", "vendor": "kakao", "status": "failed", "code": "kakao:3018",
               "cost": 0},
              {"send_id": "s-1-sms", "medium": "lms", "vendor": "carrier", "status": "sent", "code": null,
               "cost": 39}]}
  ])");
  CHECK(render_day_rows(rows) ==
        "TIME      SEND ID        TYPE       SOURCE                STATUS  MEDIUM    VENDOR   CONTACT        COST  "
        "CODE          REASON\n"
        "10:00:05  s-2            campaign   Winter sale (cmp-42)  failed  sms       twilio   +821012345678     0  "
        "twilio:30003  Unreachable handset\n"
        "09:00:00  s-1            follow_up  -                     sent    alimtalk  kakao    +821099998888    47\n"
        "            leg s-1                                       failed  alimtalk  kakao                      0  "
        "kakao:3018\n"
        "            leg s-1-sms                                   sent    lms       carrier                   39\n");
  CHECK(render_day_rows(json::array()) == "No sends.\n");
}

TEST_CASE("render: one send with its history", "[ctl][render]") {
  auto send = json::parse(R"({
    "send_id": "s-9", "time": "2026-11-27T10:00:00+09:00", "requested_at": "2026-11-27T10:00:00+09:00",
    "type": "one_time", "source_id": "ot-7", "source_name": null, "status": "excluded", "medium": "sms",
    "vendor": null, "contact": "+821099998888", "code": "10006", "reason": "Unsubscribed from marketing",
    "description": "The recipient has opted out of promotional SMS/emails.", "category": "opted_out", "cost": 0,
    "vendor_message_id": null, "vendor_price": "-0.00790", "vendor_price_unit": "USD",
    "history": [{"at": "2026-11-27T10:00:01+09:00", "source": "intake", "status": "excluded", "code": "10006",
                 "vendor_status": null, "vendor_code": null}]
  })");
  const auto text = render_send(send);
  CHECK(text.find("send_id            s-9\n") == 0);
  CHECK(text.find("reason             Unsubscribed from marketing\n") != std::string::npos);
  CHECK(text.find("category           opted_out\n") != std::string::npos);
  CHECK(text.find("source             ot-7\n") != std::string::npos);
  CHECK(text.find("vendor_price       -0.00790 USD\n") != std::string::npos);
  CHECK(text.find("\nHistory\nAT                         SOURCE  STATUS    CODE   VENDOR STATUS  VENDOR CODE\n"
                  "2026-11-27T10:00:01+09:00  intake  excluded  10006  -              -\n")
        != std::string::npos);
}

TEST_CASE("render: the code table and odd values", "[ctl][render]") {
  auto codes = json::parse(R"([{"code": "10001", "reason": "Duplicate contact",
    "description": "The message has already been sent to this contact.", "category": "invalid_recipient"}])");
  CHECK(render_codes(codes) == "CODE   CATEGORY           REASON             DESCRIPTION\n"
                               "10001  invalid_recipient  Duplicate contact  The message has already been sent to "
                               "this contact.\n");
  CHECK(cell(nullptr) == "-");
  CHECK(cell("") == "-");
  CHECK(cell(1500) == "1,500");
  CHECK(cell(true) == "yes");
  CHECK(time_of_day("2026-11-27T10:00:05+09:00") == "10:00:05");
  CHECK(time_of_day("today") == "today");
  // Missing fields show as "-" or zero.
  CHECK(render_summary(json::object(), "").find("Month - (-), all sends: 0 sends\n") == 0);
  CHECK(render_send(json::array()).find("send_id            -\nstatus             -\n") == 0);
}
