/// The ops queries' parameters: daemon::read_day_query (GET /v1/log/day/{day}: limit, cursor and the filters)
/// and daemon::read_export_query (GET /v1/log/export), with the request built as cpp-httplib builds it, and the
/// day log's cursor (db::decode_cursor / encode_cursor).
///
/// Input: byte 0 chooses the query (even: day log, odd: export); the rest is the request target after the
/// route's fixed part: for the day log "<day>?<query>", for the export "?<query>" or anything (the path is
/// fixed).

#include <chrono>
#include <cstdint>
#include <regex>
#include <string>

#include <httplib.h>

#include "adapters/intake/intake.hpp"
#include "core/month.hpp"
#include "daemon/query_params.hpp"
#include "daemon/routes.hpp"
#include "db/records.hpp"
#include "fuzz_support.hpp"

namespace dd = deliveryd::daemon;
namespace core = deliveryd::core;
namespace db = deliveryd::db;
namespace fz = deliveryd::fuzz;

namespace {

using namespace std::chrono_literals;

/// The ops listener's dependencies as far as the readers use them: Seoul, KR, a year of retention, a fixed clock.
const dd::ops_deps& deps() {
  static const dd::ops_deps d{.view = {fz::seoul(), {}},
                                  .default_region = "KR",
                                  .retention_days = 365,
                                  .clock = [] { return fz::fixed_now(); }};
  return d;
}

/// The value of a parameter as the readers see it (cpp-httplib's first value), or nullopt.
std::optional<std::string> param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name))
    return std::nullopt;
  return req.get_param_value(name);
}

/// A request for `path` with the query `query`, decoded as cpp-httplib decodes a request line.
httplib::Request request(const std::string& path, const std::string& query) {
  httplib::Request req;
  req.method = "GET";
  req.path = httplib::detail::decode_url(path, false);
  httplib::detail::parse_query_text(query, req.params);
  return req;
}

/// A cursor that reads is the one text encode_cursor gives for it.
void check_cursor(const std::optional<std::string>& text) {
  if (!text)
    return;
  if (const auto cursor = db::decode_cursor(*text)) {
    FUZZ_CHECK(cursor->requested_at >= 0 && cursor->id >= 0);
    FUZZ_CHECK(db::encode_cursor(*cursor) == *text);
  }
}

/// The filters that were given are read, normalised as intake normalises contacts.
void check_filter(const httplib::Request& req, const db::log_filter& f) {
  FUZZ_CHECK(!(f.campaign && f.one_time));
  FUZZ_CHECK(f.campaign == param(req, "campaign") && f.one_time == param(req, "one_time"));
  FUZZ_CHECK(f.status.has_value() == req.has_param("status") && f.medium.has_value() == req.has_param("medium"));
  if (f.status)
    FUZZ_CHECK(core::to_string(*f.status) == *param(req, "status"));
  if (f.contact && f.contact->find('@') != std::string::npos)
    FUZZ_CHECK(deliveryd::adapters::intake::normalize_email(*f.contact) == f.contact);
  else if (f.contact)
    FUZZ_CHECK(fz::plus_digits(*f.contact));
}

/// A refusal is one of the three answers the routes give, with a sentence.
void check_error(const dd::query_error& e) {
  FUZZ_CHECK((e.status == 400 && e.error == "invalid_query") || (e.status == 404 && e.error == "not_found") ||
             (e.status == 410 && e.error == "gone"));
  FUZZ_CHECK(!e.detail.empty() && fz::valid_utf8(e.detail));
}

/// GET /v1/log/day/{day}: a day inside retention, one local day long, a limit of 1-1000, a canonical cursor.
void check_day(const std::string& path, const std::string& query) {
  static const std::regex route{R"(/v1/log/day/([^/]+))"};
  auto req = request("/v1/log/day/" + path, query);
  if (!std::regex_match(req.path, req.matches, route))
    return; // cpp-httplib answers 404 before any reader runs
  check_cursor(param(req, "cursor"));
  const auto read = dd::read_day_query(req, deps());
  if (const auto* error = std::get_if<dd::query_error>(&read))
    return check_error(*error);
  const auto& q = std::get<dd::day_query>(read);
  FUZZ_CHECK(core::format_day(q.day) == req.matches[1].str());
  FUZZ_CHECK(q.to - q.from >= 23h && q.to - q.from <= 25h);
  FUZZ_CHECK(q.to > fz::fixed_now() - std::chrono::days{365});
  FUZZ_CHECK(q.limit >= 1 && q.limit <= 1000);
  FUZZ_CHECK(q.after.has_value() == req.has_param("cursor"));
  if (q.after)
    FUZZ_CHECK(db::encode_cursor(*q.after) == *param(req, "cursor"));
  check_filter(req, q.filter);
}

/// GET /v1/log/export: a month inside retention, in a format that exists.
void check_export(const std::string& query) {
  auto req = request("/v1/log/export", query);
  const auto read = dd::read_export_query(req, deps());
  if (const auto* error = std::get_if<dd::query_error>(&read))
    return check_error(*error);
  const auto& q = std::get<dd::export_query>(read);
  FUZZ_CHECK(core::format_month(q.month) == *param(req, "month"));
  FUZZ_CHECK(q.to - q.from >= std::chrono::days{27} && q.to - q.from <= std::chrono::days{32});
  FUZZ_CHECK(q.to > fz::fixed_now() - std::chrono::days{365});
  const auto format = *param(req, "format");
  FUZZ_CHECK(format == (q.format == dd::export_format::jsonl ? "jsonl" : "xlsx"));
  check_filter(req, q.filter);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::string target{fz::as_text(data + 1, size - 1)};
  const auto mark = target.find('?');
  const auto path = target.substr(0, mark);
  const auto query = mark == std::string::npos ? std::string{} : target.substr(mark + 1);
  if ((data[0] & 1) == 0)
    check_day(path, query);
  else
    check_export(query);
  return 0;
}
