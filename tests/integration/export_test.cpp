// Month exports over real HTTP: a month of sends over several days, media and outcomes (intake, Twilio callbacks,
// deadlines, a logical send with a failover leg), downloaded as JSONL and XLSX and compared with the day logs.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "month_support.hpp"
#include "vendor_hooks.hpp"
#include "../support/shell_text.hpp"

using namespace it;
using deliveryd::testing::count_of;
using namespace std::chrono_literals;

namespace {

/// The lines of a JSONL body, each parsed; fails the test on a line that is not one JSON object.
std::vector<json> jsonl_lines(const std::string& body) {
  std::vector<json> out;
  if (!body.empty())
    REQUIRE(body.back() == '\n');
  std::istringstream in{body};
  std::string line;
  while (std::getline(in, line)) {
    INFO("line " << out.size() + 1 << ": " << line);
    auto parsed = json::parse(line, nullptr, false);
    REQUIRE_FALSE(parsed.is_discarded());
    REQUIRE(parsed.is_object());
    out.push_back(std::move(parsed));
  }
  return out;
}

/// Output and exit status of a shell command.
std::pair<std::string, int> shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    out.append(buffer, got);
  return {out, ::pclose(pipe)};
}

/// GET with the status and, for a 200, the headers checked by the caller; fails on no answer.
httplib::Result get(httplib::Client& client, const std::string& path) {
  auto res = client.Get(path.c_str());
  INFO("GET " << path << " -> " << describe(res));
  REQUIRE(res);
  return res;
}

} // namespace

TEST_CASE("export: a month as JSONL and XLSX equals its day logs", "[integration][export]") {
  daemon_process d{month_options()};
  auto ops = d.ops_client();
  auto hooks = d.webhooks_client();
  // The month of four days ago: days 1-4 of it are wholly in the past, whatever today is.
  const auto start = month_start(now_seconds() - std::chrono::days{4});
  const auto month = seoul_month(start);
  const auto expected_rows = fill_month(d, *ops, *hooks, start);
  const auto day_rows = walk_month(*ops, start, "");
  REQUIRE(day_rows.size() == expected_rows);
  std::map<std::string, json> by_id;
  for (const auto& row : day_rows)
    by_id[row["send_id"].get<std::string>()] = row;

  SECTION("JSONL: one object per line, every day-log row with the same fields, oldest first") {
    auto res = get(*ops, "/v1/log/export?month=" + month + "&format=jsonl");
    REQUIRE(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/x-ndjson");
    CHECK(res->get_header_value("Content-Disposition") == "attachment; filename=\"deliveryd-" + month + ".jsonl\"");
    const auto lines = jsonl_lines(res->body);
    CHECK(lines.size() == day_rows.size());
    for (const auto& line : lines) {
      const auto id = line["send_id"].get<std::string>();
      INFO(id);
      REQUIRE(by_id.count(id) == 1);
      CHECK(line == by_id[id]);
    }
    for (std::size_t i = 1; i < lines.size(); ++i)
      CHECK(lines[i - 1]["time"].get<std::string>() <= lines[i]["time"].get<std::string>());
    REQUIRE_FALSE(lines.empty());
    CHECK(lines.front()["send_id"] == "cmp-0-0");
    // The logical send carries its legs; the leg is no line of its own.
    const auto ak = std::find_if(lines.begin(), lines.end(), [](const json& l) { return l["send_id"] == "ak-2"; });
    REQUIRE(ak != lines.end());
    REQUIRE((*ak)["legs"].size() == 2);
    CHECK((*ak)["legs"][1]["send_id"] == "ak-2-leg");
    CHECK((*ak)["status"] == "sent");
    CHECK((*ak)["cost"] == 8.0 + 39.0); // the Alimtalk attempt is uncertain (priced), the leg sent
    CHECK(std::none_of(lines.begin(), lines.end(), [](const json& l) { return l["send_id"] == "ak-2-leg"; }));
    CHECK(std::none_of(lines.begin(), lines.end(), [](const json& l) { return l["send_id"] == "before"; }));
    std::set<std::string> statuses, media;
    for (const auto& l : lines) {
      statuses.insert(l["status"].get<std::string>());
      media.insert(l["medium"].get<std::string>());
    }
    CHECK(statuses == std::set<std::string>{"sent", "failed", "excluded", "uncertain"});
    CHECK(media == std::set<std::string>{"sms", "lms", "email", "alimtalk"});
  }

  SECTION("JSONL with filters: the filtered day logs' rows, the filters in the file name") {
    for (const std::string filters : {"&campaign=cmp-A", "&campaign=cmp-A&status=failed", "&one_time=ot-1",
                                      "&medium=lms", "&status=uncertain", "&contact=010-5555-1002"}) {
      INFO(filters);
      auto res = get(*ops, "/v1/log/export?month=" + month + "&format=jsonl" + filters);
      REQUIRE(res->status == 200);
      const auto lines = jsonl_lines(res->body);
      const auto expected = walk_month(*ops, start, filters);
      CHECK_FALSE(expected.empty());
      REQUIRE(lines.size() == expected.size());
      std::map<std::string, json> want;
      for (const auto& row : expected)
        want[row["send_id"].get<std::string>()] = row;
      for (const auto& line : lines)
        CHECK(line == want[line["send_id"].get<std::string>()]);
    }
    auto res = get(*ops, "/v1/log/export?month=" + month + "&format=jsonl&campaign=cmp-A&status=failed");
    CHECK(res->get_header_value("Content-Disposition")
          == "attachment; filename=\"deliveryd-" + month + "-campaign-cmp-A-status-failed.jsonl\"");
    CHECK(jsonl_lines(res->body).size() == 4);
  }

  SECTION("XLSX: a valid workbook with a header and one row per send, typed cells") {
    auto res = get(*ops, "/v1/log/export?month=" + month + "&format=xlsx");
    REQUIRE(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    CHECK(res->get_header_value("Content-Disposition") == "attachment; filename=\"deliveryd-" + month + ".xlsx\"");
    CHECK(res->get_header_value("Content-Length") == std::to_string(res->body.size()));
    temp_dir dir;
    const auto file = (dir.path() / "export.xlsx").string();
    write_file(file, res->body);
    auto [listing, tested] = shell("unzip -t '" + file + "' 2>&1");
    INFO(listing);
    REQUIRE(tested == 0);
    for (const char* part : {"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml", "xl/worksheets/sheet1.xml"})
      CHECK_THAT(listing, Catch::Contains(part));
    CHECK_THAT(listing, !Catch::Contains("sheet2.xml"));
    const auto [workbook, wb_status] = shell("unzip -p '" + file + "' xl/workbook.xml");
    CHECK_THAT(workbook, Catch::Contains("name=\"" + month + "\""));
    const auto [sheet, status] = shell("unzip -p '" + file + "' xl/worksheets/sheet1.xml");
    REQUIRE(status == 0);
    CHECK(count_of(sheet, "<row ") == expected_rows + 1);
    CHECK_THAT(sheet, Catch::Contains("<t>send_id</t>") && Catch::Contains("<t>legs</t>"));
    // A known send's row: its id, its cost as a number, its time as a date-time number.
    const auto at = sheet.find("<t>ak-1</t>");
    REQUIRE(at != std::string::npos);
    const auto row_start = sheet.rfind("<row ", at);
    const auto row = sheet.substr(row_start, sheet.find("</row>", at) - row_start);
    INFO(row);
    CHECK_THAT(row, Catch::Contains("<v>47</v>"));
    CHECK_THAT(row, Catch::Contains("<t>ak-1:alimtalk:uncertain:ME09; ak-1-leg:lms:sent</t>"));
    CHECK_THAT(row, Catch::Contains("<t>sent</t>") && Catch::Contains("<t>+821055551001</t>"));
    // The time (column B) is a number with the date-time format, not a text.
    const auto time_cell = row.substr(row.find(" r=\"B"), row.find("</c>", row.find(" r=\"B")) - row.find(" r=\"B"));
    CHECK_THAT(time_cell, Catch::Contains("<v>") && !Catch::Contains("inlineStr"));
    CHECK(by_id.at("ak-1")["cost"] == 47.0);
    // The same rows give the same bytes (the workbook is dated to its month): a download can be checked against
    // another, and the zip's times are kept to 2 s, so the second export comes later than that.
    std::this_thread::sleep_for(std::chrono::milliseconds{2100});
    auto again = get(*ops, "/v1/log/export?month=" + month + "&format=xlsx");
    REQUIRE(again->status == 200);
    CHECK(again->body == res->body);
  }

  SECTION("an empty month is an empty file") {
    auto res = get(*ops, "/v1/log/export?month=2099-01&format=jsonl");
    REQUIRE(res->status == 200);
    CHECK(res->body.empty());
    auto xlsx = get(*ops, "/v1/log/export?month=2099-01&format=xlsx");
    REQUIRE(xlsx->status == 200);
    temp_dir dir;
    const auto file = (dir.path() / "empty.xlsx").string();
    write_file(file, xlsx->body);
    const auto [sheet, status] = shell("unzip -p '" + file + "' xl/worksheets/sheet1.xml");
    REQUIRE(status == 0);
    CHECK(count_of(sheet, "<row ") == 1);
  }
}

TEST_CASE("export: bad month or format is 400, a month past retention 410", "[integration][export]") {
  daemon_process d;
  auto ops = d.ops_client();
  for (const std::string query : {"format=jsonl", "month=2026-13&format=jsonl", "month=2026-1&format=xlsx",
                                  "month=Nov&format=jsonl", "month=2026-11", "month=2026-11&format=csv",
                                  "month=2026-11&format=JSONL", "month=2026-11&format=jsonl&status=lost",
                                  "month=2026-11&format=jsonl&campaign=a&one_time=b"}) {
    INFO(query);
    auto body = get_json(*ops, "/v1/log/export?" + query, 400);
    CHECK(body["error"] == "invalid_query");
    CHECK(body["detail"].is_string());
  }
  const auto old = seoul_month(now_seconds() - std::chrono::days{400});
  auto gone = get_json(*ops, "/v1/log/export?month=" + old + "&format=xlsx", 410);
  CHECK(gone["error"] == "gone");
  CHECK_THAT(gone["detail"].get<std::string>(), Catch::Contains(old));
  // The month that straddles the retention horizon is still served.
  const auto edge = seoul_month(now_seconds() - std::chrono::days{365});
  CHECK(get(*ops, "/v1/log/export?month=" + edge + "&format=jsonl")->status == 200);
}

TEST_CASE("export: with [ops] token_file the export needs the bearer token", "[integration][export]") {
  temp_dir secrets;
  const auto token_file = secrets.path() / "ops-token";
  write_file(token_file, "  s3cret-export-token\n");
  daemon_options options;
  options.ops_extra = "token_file = \"" + token_file.string() + "\"\n";
  daemon_process d{options};
  auto ops = d.ops_client();
  const std::string path = "/v1/log/export?month=" + seoul_month(now_seconds()) + "&format=jsonl";
  auto refused = get_json(*ops, path, 401);
  CHECK(refused["error"] == "unauthorized");
  ops->set_bearer_token_auth("wrong");
  get_json(*ops, path, 401);
  ops->set_bearer_token_auth("s3cret-export-token");
  auto res = get(*ops, path);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "application/x-ndjson");
}
