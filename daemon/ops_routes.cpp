// The ops listener: intake, the day log, one send, health, and the bearer check in front of them all.
#include <cctype>

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "adapters/crypto.hpp"
#include "daemon/body_limits.hpp"
#include "daemon/console_routes.hpp"
#include "daemon/export_routes.hpp"
#include "daemon/http_common.hpp"
#include "daemon/metrics.hpp"
#include "daemon/query_params.hpp"
#include "daemon/routes.hpp"

namespace deliveryd::daemon {

namespace {

using shared_deps = std::shared_ptr<const ops_deps>;

void intake_route(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  if (refuse_when_full(deps.gate, res, actors::backlog::source::intake))
    return;
  const auto type = header(req, "Content-Type");
  // NDJSON only when the pipeline says so; any other type is read as a JSON array (a form type too: the body is
  // read by with_bounded_body, so cpp-httplib's 8 KiB cap on form-encoded bodies does not apply).
  const bool ndjson = type.rfind("application/x-ndjson", 0) == 0;
  adapters::intake::intake_context ctx;
  ctx.default_region = deps.default_region;
  ctx.now = deps.clock();
  ctx.retention_days = deps.retention_days;
  ctx.enabled = deps.enabled;
  auto parsed = adapters::intake::parse_body(req.body, ndjson, ctx);
  if (auto* bad = std::get_if<adapters::intake::body_error>(&parsed)) {
    send_error(res, bad->http_status, bad->error, bad->detail);
    return;
  }
  auto& batch = std::get<adapters::intake::parsed_batch>(parsed);
  const auto items = batch.sends.size();
  if (deps.gate && !deps.gate->try_admit(items, actors::backlog::source::intake)) {
    send_overloaded(res, *deps.gate);
    return;
  }
  auto job = std::make_shared<actors::intake_job>();
  job->sends = std::move(batch.sends);
  job->rejected = std::move(batch.rejected);
  job->received_at = ctx.now;
  auto [done, future] = make_reply<actors::ledger_result<db::intake_outcome>>();
  job->done = std::move(done);
  if (deps.gate)
    job->done = [gate = deps.gate, items, answer = std::move(job->done)](auto r) {
      gate->release(items);
      answer(std::move(r));
    };
  caf::anon_send(deps.ledger, std::move(job));
  auto result = await(future);
  if (!result) {
    send_error(res, 503, "unavailable", "the ledger did not answer in time; retry later");
  } else if (auto* out = std::get_if<db::intake_outcome>(&result->value)) {
    send_json(res, 200, dump(intake_view(*out)));
  } else {
    send_error(res, 503, "unavailable", result->detail);
  }
}

void day_route(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  auto query = read_day_query(req, deps);
  if (auto* bad = std::get_if<query_error>(&query)) {
    send_error(res, bad->status, bad->error, bad->detail);
    return;
  }
  const auto& q = std::get<day_query>(query);
  const auto read = [&](db::ledger_reader& reader) { return reader.day(q.from, q.to, q.filter, q.limit, q.after); };
  read_and_answer(deps, res, read, [&](const db::day_page& page) {
    auto rows = nlohmann::json::array();
    for (const auto& row : page.rows)
      rows.push_back(row_view(row, deps.view));
    nlohmann::json body{
      {"date", core::format_day(q.day)},
      {"rows", std::move(rows)},
      {"next_cursor", page.next ? nlohmann::json(db::encode_cursor(*page.next)) : nlohmann::json(nullptr)},
    };
    send_json(res, 200, dump(body));
  });
}

void send_route(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  const std::string send_id = req.matches[1];
  read_and_answer(deps, res, [&](db::ledger_reader& reader) { return reader.find(send_id); },
                  [&](const std::optional<db::send_detail>& found) {
    if (!found)
      send_error(res, 404, "not_found", "no send is registered as " + send_id);
    else
      send_json(res, 200, dump(send_view(*found, deps.view)));
  });
}

void health_route(const ops_deps& deps, httplib::Response& res) {
  auto job = std::make_shared<actors::health_job>();
  auto [done, future] = make_reply<actors::health_report>();
  job->done = std::move(done);
  caf::anon_send(deps.ledger, std::move(job));
  auto report = await(future);
  if (!report)
    send_error(res, 503, "unavailable", "the ledger did not answer in time");
  else if (!report->ok)
    send_error(res, 503, "unavailable", report->detail);
  else
    send_json(res, 200, R"({"status":"ok"})");
}

/// The token of an `Authorization: Bearer <token>` header ("" when the header is absent or another scheme).
std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size())
    return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) // the scheme's name is case-insensitive (RFC 9110, 11.1)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
      return {};
  return authorization.substr(scheme.size());
}

/// What a request's bearer token grants.
enum class access {
  none, ///< no token, or a wrong one
  read, ///< the read-only token of [ops] read_token_file
  full, ///< the token of [ops] token_file
};

access access_of(const ops_deps& deps, const httplib::Request& req) {
  const auto authorization = header(req, "Authorization");
  const auto given = bearer_token(authorization);
  // Both comparisons always run: the time taken says nothing about which token was given.
  const bool full = adapters::secret_matches(*deps.token, given);
  const bool read = deps.read_token && adapters::secret_matches(*deps.read_token, given);
  return full ? access::full : read ? access::read : access::none;
}

/// Requests that need no token: health, the console's files (they hold no data), and a download by ticket, a GET
/// only (the export route checks the ticket, which stands in for the token; a HEAD would spend it).
bool is_public(const httplib::Request& req) {
  if (req.method == "GET" && req.path == "/v1/log/export" && req.has_param("ticket"))
    return true;
  return (req.method == "GET" || req.method == "HEAD") && (req.path == "/healthz" || is_console_path(req.path));
}

/// Requests the read-only token may make: every GET, and asking for a download ticket (a read as well).
bool is_read(const httplib::Request& req) {
  return req.method == "GET" || req.method == "HEAD" || (req.method == "POST" && req.path == export_tickets_path);
}

httplib::Server::HandlerResponse refuse(httplib::Response& res, int status, const char* word, std::string detail) {
  send_error(res, status, word, detail);
  res.set_header("Connection", "close"); // the body is not read: its bytes must not become the next request
  return httplib::Server::HandlerResponse::Handled;
}

/// The bearer check of [ops] token_file and read_token_file, before any route.
httplib::Server::HandlerResponse authorize(const ops_deps& deps, const httplib::Request& req,
                                           httplib::Response& res) {
  if (!deps.token || is_public(req))
    return httplib::Server::HandlerResponse::Unhandled;
  switch (access_of(deps, req)) {
    case access::full:
      return httplib::Server::HandlerResponse::Unhandled;
    case access::read:
      if (is_read(req))
        return httplib::Server::HandlerResponse::Unhandled;
      return refuse(res, 403, "forbidden", "the read-only token of [ops] read_token_file may query and download, "
                                           "not register sends: use the token of [ops] token_file");
    case access::none:
      break;
  }
  return refuse(res, 401, "unauthorized",
                deps.read_token ? "this listener needs Authorization: Bearer <the token of [ops] token_file, or for "
                                  "queries the one of read_token_file>"
                                : "this listener needs Authorization: Bearer <the token of [ops] token_file>");
}

} // namespace

std::optional<db::reader_pool::lease> acquire_reader(const ops_deps& deps, httplib::Response& res) {
  // While the ledger cannot commit, a query answers from what it holds (the log takes nothing more meanwhile,
  // and /healthz says why); what the log acknowledged before the failure appears once the ledger commits again.
  if (deps.log && deps.log->wait_applied(std::chrono::seconds{10}) == db::ack_log::barrier::timed_out) {
    send_error(res, 503, "unavailable",
               deps.log->failing().empty()
                 ? "the ledger is still applying acknowledged webhooks (it is behind by "
                     + std::to_string(deps.log->backlog() >> 10) + " KiB); retry in a few seconds"
                 : "the ack log failed (" + deps.log->failing() + "); deliveryd restarts, retry later");
    return std::nullopt;
  }
  auto reader = deps.readers->acquire();
  if (!reader) {
    send_error(res, 503, "unavailable", reader.error().message);
    return std::nullopt;
  }
  return std::move(*reader);
}

void answer_read_failure(httplib::Response& res, const db::ledger_error& error) {
  spdlog::error("ledger read_failed: {}", error.message);
  send_error(res, 503, "unavailable", "the ledger could not be read: " + error.message);
}

void install_ops_routes(httplib::Server& server, ops_deps deps) {
  shared_deps d = std::make_shared<const ops_deps>(std::move(deps));
  set_pre_routing(server, [d](const auto& req, auto& res) { return authorize(*d, req, res); });
  server.set_post_routing_handler([](const auto&, auto& res) { add_security_headers(res); });
  install_console_routes(server);
  server.Post("/v1/sends", with_bounded_body(d->max_body_bytes, [d](const auto& req, auto& res) {
    intake_route(*d, req, res);
  }));
  server.Get(R"(/v1/log/day/([^/]+))", [d](const auto& req, auto& res) { day_route(*d, req, res); });
  server.Get(R"(/v1/sends/([^/]+))", [d](const auto& req, auto& res) { send_route(*d, req, res); });
  server.Get("/v1/codes", [](const auto&, auto& res) { send_json(res, 200, dump(codes_view())); });
  server.Get("/healthz", [d](const auto&, auto& res) { health_route(*d, res); });
  install_metrics_route(server, d);
  install_export_routes(server, d);
  install_summary_routes(server, d);
  refuse_unrouted_bodies(server);
}

} // namespace deliveryd::daemon
