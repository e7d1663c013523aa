#include <caf/send.hpp>

#include "daemon/http_common.hpp"
#include "daemon/routes.hpp"

namespace deliveryd::daemon {

namespace {

using kind = actors::webhook_result::kind;

/// Turns a vendor actor's answer into HTTP.
void answer(httplib::Response& res, const actors::webhook_result& r) {
  switch (r.what) {
    case kind::stored:
    case kind::ignored: send_json(res, 200, R"({"status":"ok"})"); break;
    case kind::bad_signature: send_error(res, 403, "forbidden", r.detail); break;
    case kind::malformed: send_error(res, 400, "malformed", r.detail); break;
    case kind::storage_failing: send_error(res, 503, "unavailable", r.detail); break;
  }
}

void twilio_route(const webhook_deps& deps, const httplib::Request& req, httplib::Response& res) {
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

} // namespace

void install_webhook_routes(httplib::Server& server, webhook_deps deps) {
  auto shared = std::make_shared<webhook_deps>(std::move(deps));
  if (shared->twilio)
    server.Post("/webhooks/twilio", [shared](const httplib::Request& req, httplib::Response& res) {
      twilio_route(*shared, req, res);
    });
  // Everything else (other vendors until they are configured, any ops path) is unknown here.
}

} // namespace deliveryd::daemon
