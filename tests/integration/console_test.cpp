// The console on the ops listener over real HTTP: its files served from the binary as they are in console/, with
// ETags, gzip where accepted and the contract's security headers; no token for the files, the read-only token
// for every query and for download tickets but not for intake; and downloads by ticket, which work once, for
// their own query only.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "../support/shell_text.hpp"
#include "harness.hpp"

using namespace it;

namespace {

const fs::path console_dir = fs::path{DELIVERYD_SOURCE_DIR} / "console";

/// A keep-alive client that sends `headers` with every request and does not inflate what it gets.
std::unique_ptr<httplib::Client> raw_client(const daemon_process& d, httplib::Headers headers = {}) {
  auto client = make_client(d.ops_port());
  client->set_decompress(false);
  client->set_default_headers(std::move(headers));
  return client;
}

httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

/// gzip -dc of `bytes`.
std::string gunzip(const std::string& bytes) {
  temp_dir dir;
  write_file(dir.path() / "body.gz", bytes);
  return deliveryd::testing::run("gzip -dc '" + (dir.path() / "body.gz").string() + "'");
}

void check_security_headers(const httplib::Result& res) {
  const auto csp = res->get_header_value("Content-Security-Policy");
  CHECK_THAT(csp, Catch::Contains("default-src 'none'") && Catch::Contains("script-src 'self'")
                    && Catch::Contains("style-src 'self'") && Catch::Contains("frame-ancestors 'none'"));
  CHECK_THAT(csp, !Catch::Contains("unsafe-inline") && !Catch::Contains("unsafe-eval"));
  CHECK(res->get_header_value("X-Content-Type-Options") == "nosniff");
  CHECK(res->get_header_value("Referrer-Policy") == "no-referrer");
  CHECK(res->get_header_value("X-Frame-Options") == "DENY");
}

std::string type_of(const fs::path& file) {
  const auto ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  return "?";
}

} // namespace

TEST_CASE("console: its files are served from the binary with ETags, gzip and the security headers",
          "[integration][console]") {
  daemon_process d;
  auto plain = raw_client(d);
  auto gzip = raw_client(d, {{"Accept-Encoding", "gzip, deflate, br"}});

  auto page = plain->Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body == read_file(console_dir / "index.html"));
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(page->get_header_value("Cache-Control") == "no-cache");
  CHECK(page->get_header_value("Vary") == "Accept-Encoding");
  check_security_headers(page);

  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator{console_dir}) {
    const auto name = entry.path().filename().string();
    INFO(name);
    ++files;
    const auto path = "/console/" + name;
    auto res = plain->Get(path);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == read_file(entry.path()));
    CHECK(res->get_header_value("Content-Type") == type_of(entry.path()));
    CHECK_FALSE(res->has_header("Content-Encoding"));
    const auto etag = res->get_header_value("ETag");
    CHECK_THAT(etag, Catch::Matches("\"[0-9a-f]{20}\"")); // a strong tag: quoted, once

    auto packed = gzip->Get(path);
    REQUIRE(packed);
    CHECK(packed->status == 200);
    CHECK(packed->get_header_value("Content-Encoding") == "gzip");
    CHECK(packed->body.size() < res->body.size());
    CHECK(gunzip(packed->body) == res->body);
    CHECK(packed->get_header_value("ETag") == etag.substr(0, 21) + "-gz\""); // another representation, another tag

    // Revalidation: the same tag is 304 without a body; another one is the file again.
    auto again = plain->Get(path, {{"If-None-Match", etag}});
    REQUIRE(again);
    CHECK(again->status == 304);
    CHECK(again->body.empty());
    auto packed_again = gzip->Get(path, {{"If-None-Match", "\"other\", " + packed->get_header_value("ETag")}});
    CHECK(packed_again->status == 304);
    auto stale = plain->Get(path, {{"If-None-Match", "\"0000\""}});
    CHECK(stale->status == 200);
    CHECK(stale->body == res->body);
  }
  CHECK(files >= 6);

  // gzip refused with q=0 is not given; an unknown file is a JSON 404.
  auto refused = raw_client(d, {{"Accept-Encoding", "br, gzip;q=0"}})->Get("/console/console.js");
  CHECK_FALSE(refused->has_header("Content-Encoding"));
  CHECK(refused->body == read_file(console_dir / "console.js"));
  auto missing = plain->Get("/console/nothing.js");
  CHECK(missing->status == 404);
  CHECK(body_of(missing)["error"] == "not_found");
  // The JSON API carries the same headers: opened in a browser, it cannot be framed or sniffed either.
  check_security_headers(plain->Get("/v1/codes"));
}

TEST_CASE("ops auth: intake without the token, with a wrong one or in another scheme is 401 and stores nothing",
          "[integration][auth]") {
  daemon_options options;
  options.ops_token = "intake-token-for-tests";
  daemon_process d{options};
  auto full = raw_client(d, bearer("intake-token-for-tests"));
  const auto base = same_day_base();
  const auto sends = json::array({twilio_send("auth-1", base, "SM8181")}).dump();
  const auto ndjson = twilio_send("auth-2", base, "SM8182").dump() + "\n";

  const std::vector<std::pair<std::string, httplib::Headers>> refused{
      {"no Authorization", {}},
      {"a wrong token", bearer("intake-token-for-test")}, // one character short
      {"a longer token", bearer("intake-token-for-tests2")},
      {"an empty token", bearer("")},
      {"the token in Basic", {{"Authorization", "Basic intake-token-for-tests"}}},
      {"the token alone", {{"Authorization", "intake-token-for-tests"}}},
      {"the token as a query parameter", {}},
  };
  for (const auto& [what, headers] : refused) {
    INFO(what);
    const std::string path = what == "the token as a query parameter" ? "/v1/sends?token=intake-token-for-tests"
                                                                        : "/v1/sends";
    auto json_body = raw_client(d, headers)->Post(path, sends, "application/json");
    REQUIRE(json_body);
    CHECK(json_body->status == 401);
    CHECK(body_of(json_body)["error"] == "unauthorized");
    CHECK_THAT(body_of(json_body)["detail"].get<std::string>(), Catch::Contains("Authorization: Bearer"));
    CHECK_FALSE(body_of(json_body)["detail"].get<std::string>().find("intake-token") != std::string::npos);
    auto ndjson_body = raw_client(d, headers)->Post(path, ndjson, "application/x-ndjson");
    REQUIRE(ndjson_body);
    CHECK(ndjson_body->status == 401);
  }
  // Nothing refused was stored: neither send is known, and the month counts nothing.
  CHECK(full->Get("/v1/sends/auth-1")->status == 404);
  CHECK(full->Get("/v1/sends/auth-2")->status == 404);
  CHECK(body_of(full->Get("/v1/log/summary?month=" + seoul_date(base).substr(0, 7)))["total"] == 0);

  // The token, in either spelling of the scheme, is let in.
  CHECK(body_of(full->Post("/v1/sends", sends, "application/json"))["accepted"] == 1);
  auto lower = raw_client(d, {{"Authorization", "bearer intake-token-for-tests"}});
  CHECK(body_of(lower->Post("/v1/sends", ndjson, "application/x-ndjson"))["accepted"] == 1);
  CHECK(full->Get("/v1/sends/auth-1")->status == 200);
  CHECK(full->Get("/v1/sends/auth-2")->status == 200);
}

TEST_CASE("console: the read-only token queries and downloads, and is refused for intake", "[integration][console]") {
  daemon_options options;
  options.ops_token = "full-token-for-tests";
  options.ops_read_token = "read-token-for-tests";
  daemon_process d{options};
  auto full = raw_client(d, bearer("full-token-for-tests"));
  auto read = raw_client(d, bearer("read-token-for-tests"));
  auto anyone = raw_client(d);
  const auto base = same_day_base();
  const auto month = seoul_date(base).substr(0, 7);
  const auto sends = json::array({twilio_send("rt-1", base, "SM7777")}).dump();

  // The console's files and health need no token; everything else does.
  CHECK(anyone->Get("/")->status == 200);
  CHECK(anyone->Get("/console/console.js")->status == 200);
  CHECK(anyone->Get("/healthz")->status == 200);
  CHECK(anyone->Get("/v1/codes")->status == 401);
  CHECK(raw_client(d, bearer("wrong"))->Get("/v1/codes")->status == 401);
  CHECK(raw_client(d, bearer("read-token-for-test"))->Get("/v1/codes")->status == 401); // one character short

  // The read token: intake refused with 403 and nothing stored; every query answered.
  auto refused = read->Post("/v1/sends", sends, "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 403);
  CHECK(body_of(refused)["error"] == "forbidden");
  CHECK_THAT(body_of(refused)["detail"].get<std::string>(), Catch::Contains("read_token_file"));
  CHECK(full->Get("/v1/sends/rt-1")->status == 404);
  auto accepted = full->Post("/v1/sends", sends, "application/json");
  CHECK(body_of(accepted)["accepted"] == 1);
  for (const auto& path : std::vector<std::string>{"/v1/codes", "/v1/sends/rt-1", "/v1/log/summary?month=" + month,
                                                  "/v1/log/sources?month=" + month, "/v1/log/day/" + seoul_date(base),
                                                  "/metrics"}) {
    INFO(path);
    CHECK(read->Get(path)->status == 200);
  }

  // A download ticket: asked for with the read token, used without any token, once.
  const auto query = "?month=" + month + "&format=jsonl";
  CHECK(anyone->Post("/v1/log/export/tickets" + query, "", "text/plain")->status == 401);
  auto ticket = read->Post("/v1/log/export/tickets" + query, "", "text/plain");
  REQUIRE(ticket);
  REQUIRE(ticket->status == 201);
  const auto issued = body_of(ticket);
  const auto url = issued["url"].get<std::string>();
  CHECK(url.starts_with("/v1/log/export?ticket="));
  CHECK(url.find("read-token") == std::string::npos);
  CHECK(issued["expires_at"].is_string());
  // A HEAD (a link checker, a proxy) does not spend it: it needs the token (only a GET goes by ticket alone), is
  // then 405, and the GET still works.
  CHECK(anyone->Head(url)->status == 401);
  auto head = full->Head(url);
  REQUIRE(head);
  CHECK(head->status == 405);
  CHECK(head->get_header_value("Allow") == "GET");
  auto download = anyone->Get(url);
  REQUIRE(download);
  CHECK(download->status == 200);
  CHECK(download->body == full->Get("/v1/log/export" + query)->body);
  CHECK_THAT(download->body, Catch::Contains("\"send_id\":\"rt-1\""));
  CHECK(download->get_header_value("Content-Disposition") == "attachment; filename=\"deliveryd-" + month + ".jsonl\"");
  auto used = anyone->Get(url);
  CHECK(used->status == 401);
  CHECK_THAT(body_of(used)["detail"].get<std::string>(), Catch::Contains("unknown, used or expired"));

  // A ticket stands alone, for its own query; a bad query gets no ticket.
  auto other = body_of(read->Post("/v1/log/export/tickets" + query, "", "text/plain"))["url"].get<std::string>();
  CHECK(anyone->Get(other + "&month=2026-01")->status == 400);
  CHECK(anyone->Get(other)->status == 200); // not used up by the refused attempt
  CHECK(anyone->Get("/v1/log/export?ticket=made-up")->status == 401);
  CHECK(read->Post("/v1/log/export/tickets?month=2026-13&format=jsonl", "", "text/plain")->status == 400);
  CHECK(read->Post("/v1/log/export/tickets?month=2020-01&format=xlsx", "", "text/plain")->status == 410);
  CHECK(read->Post("/v1/log/export/tickets?month=" + month + "&format=pdf", "", "text/plain")->status == 400);
}
