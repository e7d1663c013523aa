#include "ctl/commands.hpp"

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctl/download.hpp"
#include "ctl/http.hpp"
#include "ctl/render.hpp"
#include "ctl/report.hpp"
#include "ctl/tables.hpp"

namespace deliveryd::ctl {

namespace {

using json = nlohmann::json;
using params = std::vector<std::pair<const char*, std::optional<std::string>>>;

/// "path?name=value&…" with the present parameters, encoded.
std::string target_of(const std::string& path, const params& query) {
  std::string out = path;
  char sep = '?';
  for (const auto& [name, value] : query) {
    if (!value)
      continue;
    out += sep;
    out += name;
    out += '=';
    out += url_encode(*value);
    sep = '&';
  }
  return out;
}

std::string describe(const source_filter& f) {
  if (f.campaign)
    return "campaign " + *f.campaign;
  if (f.one_time)
    return "one-time message " + *f.one_time;
  return "";
}

/// The answer of one GET: the parsed body, or the exit status after the failure was reported.
struct fetched {
  int status = exit_ok;
  std::string raw;
  json body;
};

fetched get_json(ops_client& client, const std::string& target, const ops_endpoint& endpoint, console& io) {
  auto answer = client.get(target);
  if (auto* down = std::get_if<transport_error>(&answer))
    return {report_unreachable(endpoint, *down, io), {}, {}};
  auto& a = std::get<http_answer>(answer);
  if (a.status != 200)
    return {report_http_error(a, endpoint, io), {}, {}};
  auto body = json::parse(a.body, nullptr, false);
  if (body.is_discarded()) {
    io.err << "deliveryctl: deliveryd answered " << target << " with something that is not JSON\n";
    return {exit_failed, {}, {}};
  }
  return {exit_ok, std::move(a.body), std::move(body)};
}

void print_raw(console& io, const std::string& raw) {
  io.out << raw;
  if (raw.empty() || raw.back() != '\n')
    io.out << '\n';
}

int run_summary(const summary_command& c, bool as_json, ops_client& client, const ops_endpoint& e, console& io) {
  auto got = get_json(client,
                      target_of("/v1/log/summary", {{"month", c.month}, {"campaign", c.filter.campaign},
                                                    {"one_time", c.filter.one_time}}),
                      e, io);
  if (got.status != exit_ok)
    return got.status;
  if (as_json)
    print_raw(io, got.raw);
  else
    io.out << render_summary(got.body, describe(c.filter));
  return exit_ok;
}

std::string day_target(const day_command& c, const std::optional<std::string>& cursor) {
  return target_of("/v1/log/day/" + url_encode(c.date),
                   {{"limit", c.limit ? std::optional<std::string>{std::to_string(*c.limit)} : std::nullopt},
                    {"status", c.status},
                    {"medium", c.medium},
                    {"contact", c.contact},
                    {"campaign", c.filter.campaign},
                    {"one_time", c.filter.one_time},
                    {"cursor", cursor}});
}

/// One page, or every page with --all: JSON rows are streamed out page by page, human rows are kept for one
/// table with aligned columns.
int run_day(const day_command& c, bool as_json, ops_client& client, const ops_endpoint& e, console& io) {
  std::optional<std::string> cursor = c.cursor;
  std::set<std::string> seen;
  json rows = json::array();
  std::size_t streamed = 0;
  json next;
  for (;;) {
    auto got = get_json(client, day_target(c, cursor), e, io);
    if (got.status != exit_ok)
      return got.status;
    next = got.body.contains("next_cursor") ? got.body["next_cursor"] : json(nullptr);
    if (!c.all) {
      if (as_json)
        print_raw(io, got.raw);
      else
        rows = got.body.value("rows", json::array());
      break;
    }
    const auto& page = got.body.contains("rows") && got.body["rows"].is_array() ? got.body["rows"] : json::array();
    for (const auto& row : page) {
      if (as_json)
        io.out << (streamed++ == 0 ? "{\"date\":" + json(c.date).dump() + ",\"rows\":[" : ",") << row.dump();
      else
        rows.push_back(row);
    }
    if (!next.is_string())
      break;
    if (!seen.insert(next.get<std::string>()).second) {
      io.err << "deliveryctl: deliveryd gave the same next_cursor twice; stopping\n";
      return exit_failed;
    }
    cursor = next.get<std::string>();
  }
  if (as_json && c.all) {
    io.out << (streamed == 0 ? "{\"date\":" + json(c.date).dump() + ",\"rows\":[" : "")
           << "],\"next_cursor\":null}\n";
    return exit_ok;
  }
  if (as_json)
    return exit_ok;
  io.out << render_day_rows(rows);
  io.out << '\n' << format_count(static_cast<std::int64_t>(rows.size())) << (rows.size() == 1 ? " send" : " sends");
  if (next.is_string())
    io.out << "; more: --cursor " << next.get<std::string>() << " (or --all for every page)";
  io.out << '\n';
  return exit_ok;
}

int run_simple(const std::string& target, bool as_json, std::string (*render)(const json&), ops_client& client,
               const ops_endpoint& e, console& io) {
  auto got = get_json(client, target, e, io);
  if (got.status != exit_ok)
    return got.status;
  if (as_json)
    print_raw(io, got.raw);
  else
    io.out << render(got.body);
  return exit_ok;
}

int run_health(bool as_json, ops_client& client, const ops_endpoint& e, console& io) {
  auto answer = client.get("/healthz");
  if (auto* down = std::get_if<transport_error>(&answer))
    return report_unreachable(e, *down, io);
  auto& a = std::get<http_answer>(answer);
  if (a.status != 200)
    return report_http_error(a, e, io);
  if (as_json)
    print_raw(io, a.body);
  else
    io.out << "deliveryd at " << e.display() << " is healthy: its ledger commits\n";
  return exit_ok;
}

} // namespace

int report_unreachable(const ops_endpoint& endpoint, const transport_error& error, console& io) {
  io.err << "deliveryctl: cannot reach deliveryd at " << endpoint.display() << " (" << error.reason
         << "). Is the service running? (systemctl status deliveryd)\n";
  return exit_unreachable;
}

int report_http_error(const http_answer& answer, const ops_endpoint& endpoint, console& io) {
  auto body = json::parse(answer.body, nullptr, false);
  std::string word, detail;
  if (body.is_object()) {
    word = body.value("error", "");
    detail = body.value("detail", "");
  }
  if (detail.empty())
    detail = answer.body.substr(0, 200);
  io.err << "deliveryctl: " << (detail.empty() ? "deliveryd refused the request" : detail) << " (HTTP "
         << answer.status << (word.empty() ? "" : " " + word) << ")\n";
  if (answer.status == 401) {
    if (endpoint.token_problem)
      io.err << "deliveryctl: " << *endpoint.token_problem
             << "; run deliveryctl as a user who can read it (e.g. with sudo) or give --token-file\n";
    else if (!endpoint.token)
      io.err << "deliveryctl: no ops token was sent: set [ops] token_file in the configuration deliveryctl reads, "
                "or give --token-file\n";
  }
  return exit_failed;
}

int run(const invocation& inv, const ops_endpoint& endpoint, console& io) {
  const bool exporting = std::holds_alternative<export_command>(inv.cmd);
  // An export may be silent for a while (an XLSX is written before it is sent): wait longer for it.
  ops_client client{endpoint, exporting ? 900 : 60};
  return std::visit(
    [&](const auto& c) -> int {
      using T = std::decay_t<decltype(c)>;
      if constexpr (std::is_same_v<T, summary_command>)
        return run_summary(c, inv.json, client, endpoint, io);
      else if constexpr (std::is_same_v<T, day_command>)
        return run_day(c, inv.json, client, endpoint, io);
      else if constexpr (std::is_same_v<T, send_command>)
        return run_simple("/v1/sends/" + url_encode(c.send_id), inv.json, render_send, client, endpoint, io);
      else if constexpr (std::is_same_v<T, codes_command>)
        return run_simple("/v1/codes", inv.json, render_codes, client, endpoint, io);
      else if constexpr (std::is_same_v<T, export_command>)
        return run_export(c, inv.json, client, endpoint, io);
      else if constexpr (std::is_same_v<T, health_command>)
        return run_health(inv.json, client, endpoint, io);
      else
        return exit_usage; // help and copy-ledger are run before a connection is made (main.cpp)
    },
    inv.cmd);
}

} // namespace deliveryd::ctl
