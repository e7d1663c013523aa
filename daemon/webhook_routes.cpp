#include <span>
#include <string_view>

#include <caf/send.hpp>

#include "actors/carrier_actor.hpp"
#include "actors/email_actor.hpp"
#include "actors/kakao_push_actor.hpp"
#include "daemon/body_limits.hpp"
#include "daemon/http_common.hpp"
#include "daemon/routes.hpp"

namespace deliveryd::daemon {

namespace {

using kind = actors::webhook_result::kind;

/// Turns a vendor actor's answer into HTTP.
void answer(httplib::Response& res, const actors::webhook_result& r) {
  switch (r.what) {
    case kind::stored:
    case kind::ignored:
      if (r.reply_body)
        res.set_content(*r.reply_body, r.reply_type.empty() ? "text/plain" : r.reply_type.c_str());
      else
        send_json(res, 200, R"({"status":"ok"})");
      res.status = 200;
      break;
    case kind::bad_signature: send_error(res, 403, "forbidden", r.detail); break;
    case kind::malformed: send_error(res, 400, "malformed", r.detail); break;
    case kind::storage_failing: send_error(res, 503, "unavailable", r.detail); break;
    case kind::overloaded: send_error(res, 503, "overloaded", r.detail, overload_retry_after_s); break;
  }
}

void twilio_route(const webhook_deps& deps, const httplib::Request& req, httplib::Response& res) {
  if (refuse_when_full(deps.gate, res, actors::backlog::source::vendor, deps.wait_for_room))
    return;
  const auto type = header(req, "Content-Type");
  if (!type.empty() && type.rfind("application/x-www-form-urlencoded", 0) != 0) {
    send_error(res, 400, "malformed", "Twilio status callbacks are application/x-www-form-urlencoded");
    return;
  }
  auto job = std::make_shared<actors::twilio_callback_job>();
  job->full_url = deps.public_url + req.target;
  job->body = req.body;
  job->signature = header(req, "X-Twilio-Signature");
  job->rule_settings = header(req, "X-Twilio-Webhooks-Signature-Settings");
  job->received_at = deps.clock();
  auto [done, future] = make_reply<actors::webhook_result>();
  job->done = std::move(done);
  caf::anon_send(*deps.twilio, std::move(job));
  if (auto result = await(future))
    answer(res, *result);
  else
    send_error(res, 503, "unavailable", "the ledger did not answer in time; retry later");
}

/// Hands one request to a vendor actor as a vendor_webhook_job, copying the headers that actor reads.
template <class Actor>
void vendor_route(const Actor& actor, std::span<const std::string_view> headers,
                  const webhook_deps& deps, const httplib::Request& req, httplib::Response& res) {
  if (refuse_when_full(deps.gate, res, actors::backlog::source::vendor, deps.wait_for_room))
    return;
  auto job = std::make_shared<actors::vendor_webhook_job>();
  job->target = req.target;
  job->content_type = header(req, "Content-Type");
  for (auto name : headers)
    if (const std::string key{name}; req.has_header(key))
      job->headers.emplace_back(key, req.get_header_value(key));
  job->body = req.body;
  job->received_at = deps.clock();
  auto [done, future] = make_reply<actors::webhook_result>();
  job->done = std::move(done);
  caf::anon_send(actor, std::move(job));
  if (auto result = await(future))
    answer(res, *result);
  else
    send_error(res, 503, "unavailable", "the ledger did not answer in time; retry later");
}

} // namespace

void install_webhook_routes(httplib::Server& server, webhook_deps deps) {
  auto shared = std::make_shared<webhook_deps>(std::move(deps));
  const auto limit = shared->max_body_bytes;
  if (shared->twilio)
    server.Post("/webhooks/twilio", with_bounded_body(limit, [shared](const auto& req, auto& res) {
      twilio_route(*shared, req, res);
    }));
  auto install = [&](const char* path, const auto& actor, std::span<const std::string_view> headers) {
    if (actor)
      server.Post(path, with_bounded_body(limit, [shared, actor = *actor, headers](const auto& req, auto& res) {
        vendor_route(actor, headers, *shared, req, res);
      }));
  };
  install("/webhooks/email", shared->email, actors::email_headers);
  install("/webhooks/carrier", shared->carrier, actors::carrier_headers);
  install("/webhooks/kakao", shared->kakao_push, actors::kakao_push_headers);
  refuse_unrouted_bodies(server);
  // Everything else (vendors that are not configured, any ops path) is unknown here.
}

} // namespace deliveryd::daemon
