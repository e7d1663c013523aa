/// Month exports as the daemon renders them: JSONL lines are the day log's row_view, the XLSX workbook has typed
/// cells and more sheets past the row limit, legs as text, and file names.

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <map>
#include <sstream>

#include "../db/ledger_fixture.hpp"
#include "core/month.hpp"
#include "daemon/export.hpp"
#include "../../support/shell_text.hpp"

using namespace deliveryd;
using namespace deliveryd::testing;
using json = nlohmann::json;

namespace {

const core::zone seoul = *core::zone::locate("Asia/Seoul");

daemon::view_context view() {
  config::pricing_config prices;
  prices.sms = 12;
  prices.lms = 39;
  prices.alimtalk = 8;
  return {seoul, prices};
}

/// A ledger with `n` Twilio sends in November 2026 (Seoul), a failed one and a logical send with a leg.
struct november {
  temp_dir dir;
  std::unique_ptr<db::ledger_writer> store = open_store(dir.ledger());
  core::month_span span = core::month_bounds(seoul, 202611);

  explicit november(int n) {
    std::vector<adapters::intake::send_request> sends;
    for (int i = 0; i < n; ++i) {
      auto s = make_send("n" + std::to_string(i), span.from + std::chrono::hours{i});
      s.vendor_message_id = "SM" + std::to_string(i);
      sends.push_back(s);
    }
    auto ak = make_send("ak", span.from + 30min);
    ak.medium = core::medium::alimtalk;
    ak.vendor = core::vendor::kakao;
    auto leg = make_send("ak-leg", span.from + 40min);
    leg.medium = core::medium::lms;
    leg.fallback_of = "ak";
    sends.push_back(ak);
    sends.push_back(leg);
    REQUIRE(register_committed(*store, sends).accepted == sends.size());
    REQUIRE(apply_committed(*store, {make_event("SM0", core::status::sent, span.from + 1min, "d0"),
                                     make_event("SM1", core::status::failed, span.from + 2h, "f1", "twilio:30003",
                                                core::category::unreachable)})
              .applied == 2);
  }
};

/// A row with every field set, a logical send with a failover leg.
db::log_row logical_row() {
  db::log_row r;
  r.id = 7;
  r.send_id = "fo";
  r.requested_at = core::from_millis(1'795'000'000'250);
  r.type = "campaign";
  r.source_id = "cmp-1";
  r.source_name = "Winter \"sale\" \\ 2026";
  r.status = "sent";
  r.medium = "alimtalk";
  r.vendor = "kakao";
  r.contact = "+821012345678";
  r.legs = {{"fo", "alimtalk", "kakao", "failed", "kakao:3018"}, {"fo-leg", "lms", "twilio", "sent", ""}};
  return r;
}

} // namespace

TEST_CASE("export: a JSONL line is dump(row_view) byte for byte", "[daemon][export]") {
  daemon::row_text text{view()};
  std::vector<db::log_row> rows;
  rows.push_back(logical_row());
  db::log_row plain;
  plain.send_id = "s-1";
  plain.type = "follow_up";
  plain.status = "pending";
  plain.medium = "sms";
  plain.contact = "+821012345678";
  rows.push_back(plain);
  for (const auto& [code, category] : std::vector<std::pair<std::string, std::string>>{
         {"10006", "opted_out"}, {"ME09", "unknown"}, {"twilio:30003", "unreachable"}, {"email:bounce", ""},
         {"kakao:9999", "vendor_error"}, {"10000", ""}}) {
    auto failed = plain;
    failed.status = code == "ME09" ? "uncertain" : "failed";
    failed.code = code;
    failed.category = category;
    failed.reason = "reason of " + code;
    rows.push_back(failed);
  }
  // Texts that need escaping, non-ASCII, a control character, DEL, and invalid UTF-8 (nlohmann's own rule).
  for (std::string odd : {std::string{"tab\there \"quoted\" back\\slash /"}, std::string{"line\nfeed\r\b\f"},
                          std::string{"\x01\x1f\x7f"}, std::string{"한글 Ünï 😀"}, std::string{"bad \xff\xfe end"},
                          std::string{"cut \xE2\x82"}, std::string{"\xED\xA0\x80 surrogate"}}) {
    auto r = plain;
    r.source_name = odd;
    r.reason = odd;
    r.contact = odd;
    rows.push_back(r);
  }
  for (auto cost_status : {"sent", "uncertain", "failed", "excluded"}) {
    auto r = plain;
    r.status = cost_status;
    r.medium = "lms";
    rows.push_back(r);
  }
  for (const auto& row : rows) {
    std::string line;
    text.append_jsonl(line, row);
    CAPTURE(row.send_id, row.code, row.source_name);
    CHECK(line == daemon::dump(daemon::row_view(row, view())) + "\n");
  }
}

TEST_CASE("export: XLSX cells carry row_view's values, typed", "[daemon][export]") {
  daemon::row_text text{view()};
  const auto row = logical_row();
  const auto json_row = daemon::row_view(row, view());
  const auto cells = text.xlsx_cells(row);
  REQUIRE(cells.size() == daemon::xlsx_header().size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& column = daemon::xlsx_header()[i];
    CAPTURE(column);
    if (column == "time") {
      REQUIRE(std::holds_alternative<db::xlsx_datetime>(cells[i]));
      // 1'795'000'000'250 ms is 2026-11-18T10:26:40.250Z, 19:26:40.250 in Seoul.
      CHECK(std::get<db::xlsx_datetime>(cells[i]).local_millis == 1'795'000'000'250 + 9 * 3'600'000);
    } else if (column == "cost") {
      REQUIRE(std::holds_alternative<double>(cells[i]));
      CHECK(std::get<double>(cells[i]) == json_row["cost"].get<double>());
    } else if (column == "legs") {
      REQUIRE(std::holds_alternative<std::string_view>(cells[i]));
      CHECK(std::get<std::string_view>(cells[i]) == "fo:alimtalk:failed:kakao:3018; fo-leg:lms:sent");
    } else if (json_row[column].is_null()) {
      CHECK(std::holds_alternative<std::monostate>(cells[i]));
    } else {
      REQUIRE(std::holds_alternative<std::string_view>(cells[i]));
      CHECK(std::get<std::string_view>(cells[i]) == json_row[column].get<std::string>());
    }
  }
  CHECK(daemon::legs_text(db::log_row{}).empty());
}

TEST_CASE("export: file names", "[daemon][export]") {
  db::log_filter f;
  CHECK(daemon::export_filename("2026-11", f, "jsonl") == "deliveryd-2026-11.jsonl");
  f.campaign = "Winter sale/2026";
  f.status = core::status::failed;
  CHECK(daemon::export_filename("2026-11", f, "xlsx") == "deliveryd-2026-11-campaign-Winter_sale_2026-status-failed.xlsx");
  db::log_filter g;
  g.one_time = "ot-7";
  g.medium = core::medium::lms;
  g.contact = "+821012345678";
  CHECK(daemon::export_filename("2026-12", g, "jsonl") == "deliveryd-2026-12-one_time-ot-7-medium-lms-contact.jsonl");
}

TEST_CASE("export: JSONL lines are the day log's rows, oldest first, and the connection goes back", "[daemon][export]") {
  november ledger{30};
  db::reader_pool pool{ledger_at(ledger.dir.ledger())};
  auto lease = pool.acquire();
  REQUIRE(lease);
  const auto* connection = &**lease;
  daemon::jsonl_export rows{std::move(*lease),
                            db::month_cursor{ledger.span.from, ledger.span.to, {}, 7}, view()};
  std::string text, chunk;
  int chunks = 0;
  while (rows.next(chunk).value()) {
    text += chunk;
    ++chunks;
  }
  CHECK(chunks == 5); // 31 rows (the leg is no row) in chunks of 7
  CHECK(rows.rows() == 31);
  CHECK_FALSE(rows.next(chunk).value());
  CHECK(chunk.empty());
  // The export let its connection go after the last row: the next borrower gets it.
  auto again = pool.acquire();
  CHECK(&**again == connection);

  // Every line is the row_view of the same send in the day log.
  auto& reader = **again;
  std::map<std::string, json> day_rows;
  for (auto day = ledger.span.from; day < ledger.span.to; day += std::chrono::days{1})
    for (const auto& r : reader.day(day, day + std::chrono::days{1}, {}, 1000, std::nullopt).value().rows)
      day_rows[r.send_id] = daemon::row_view(r, view());
  std::istringstream lines{text};
  std::string line;
  std::vector<std::string> order;
  while (std::getline(lines, line)) {
    const auto parsed = json::parse(line);
    const auto id = parsed.at("send_id").get<std::string>();
    order.push_back(id);
    CHECK(parsed == day_rows.at(id));
  }
  REQUIRE(order.size() == 31);
  CHECK(order[0] == "n0");
  CHECK(order[1] == "ak");
  CHECK(order[2] == "n1");
  CHECK(day_rows.at("ak").at("legs").size() == 2);
  CHECK(day_rows.at("n0").at("cost") == 12.0);
}

TEST_CASE("export: the XLSX file has a header per sheet, typed cells, and is gone once closed", "[daemon][export]") {
  november ledger{5};
  auto reader = open_reader(ledger.dir.ledger());
  temp_dir out;
  auto written = daemon::write_xlsx(*reader, db::month_cursor{ledger.span.from, ledger.span.to, {}, 2}, view(),
                                    {out.path().string(), "2026-11", 4});
  REQUIRE(std::holds_alternative<daemon::xlsx_file>(written));
  auto& file = std::get<daemon::xlsx_file>(written);
  CHECK(file.rows() == 6);
  CHECK(file.sheets() == 2);
  REQUIRE(file.size() > 0);
  // Unlinked already: nothing is left in the folder, the open file is read back through its descriptor.
  CHECK(std::filesystem::is_empty(out.path()));
  std::string bytes(file.size(), '\0');
  REQUIRE(file.read(0, bytes.size(), bytes.data()) == static_cast<long>(bytes.size()));
  const auto copy = out.path() / "copy.xlsx";
  {
    std::FILE* f = std::fopen(copy.c_str(), "wb");
    REQUIRE(f);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  const auto sheet1 = run("unzip -p '" + copy.string() + "' xl/worksheets/sheet1.xml");
  const auto sheet2 = run("unzip -p '" + copy.string() + "' xl/worksheets/sheet2.xml");
  CHECK(count_of(sheet1, "<row ") == 4);
  CHECK(count_of(sheet2, "<row ") == 4);
  for (const char* column : {"send_id", "time", "type", "source_id", "source_name", "status", "medium", "vendor",
                             "contact", "code", "reason", "description", "category", "cost", "legs"}) {
    CHECK_THAT(sheet1, Catch::Contains(std::string{"<t>"} + column + "</t>"));
    CHECK_THAT(sheet2, Catch::Contains(std::string{"<t>"} + column + "</t>"));
  }
  // n0 at 2026-11-01T00:00 Seoul (Excel day 46327), sent, 12; ak with its leg as text.
  CHECK_THAT(sheet1, Catch::Contains("<t>n0</t>") && Catch::Contains("<v>46327</v>") && Catch::Contains("<v>12</v>"));
  CHECK_THAT(sheet1, Catch::Contains("<t>ak:alimtalk:pending; ak-leg:lms:pending</t>"));
  CHECK_THAT(sheet1, Catch::Contains("<t>twilio:30003</t>") && Catch::Contains("<t>unreachable</t>"));
  CHECK_THAT(sheet2, Catch::Contains("<t>n2</t>") && Catch::Contains("<t>n4</t>"));
  const auto styles = run("unzip -p '" + copy.string() + "' xl/styles.xml");
  CHECK_THAT(styles, Catch::Contains("yyyy-mm-dd hh:mm:ss"));
}
