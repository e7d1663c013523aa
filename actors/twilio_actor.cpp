#include "actors/twilio_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/webhook_support.hpp"
#include "adapters/crypto.hpp"
#include "adapters/form.hpp"
#include "adapters/twilio/twilio.hpp"

namespace deliveryd::actors {

namespace {

namespace tw = adapters::twilio;
using kind = webhook_result::kind;

struct twilio_state {
  twilio_deps deps;
  static inline const char* name = "twilio";
};

using twilio_pointer = twilio_actor::stateful_pointer<twilio_state>;

/// Checks the signature Twilio sent: HMAC-SHA256 with the rule's shared key when the rule header says so and a
/// key is configured, HMAC-SHA1 with the auth token otherwise.
bool authentic(const twilio_deps& deps, const twilio_callback_job& job, const adapters::form_params& params) {
  // An empty key is never one (the configuration refuses it; a key anyone can sign with must not slip by).
  if (deps.webhook_shared_key && !deps.webhook_shared_key->empty()
      && job.rule_settings.find("HMAC_SHA256") != std::string::npos) {
    auto expected = tw::compute_signature_sha256(*deps.webhook_shared_key, job.full_url, params);
    return adapters::constant_time_equal(expected, job.signature);
  }
  return tw::verify_signature(deps.auth_token, job.full_url, params, job.signature);
}

void handle(twilio_pointer self, const twilio_callback_job_ptr& job) {
  auto& stats = self->state.deps.stats->of(core::vendor::twilio);
  auto params = adapters::parse_form(job->body);
  if (!params) {
    job->done(refuse(kind::malformed, "the body is not valid application/x-www-form-urlencoded UTF-8 text", stats));
    return;
  }
  if (job->signature.empty() || !authentic(self->state.deps, *job, *params)) {
    // The path only: a query string may carry a tenant's parameters.
    spdlog::warn("twilio bad_signature: callback refused (url {})", job->full_url.substr(0, job->full_url.find('?')));
    job->done(refuse(kind::bad_signature, "X-Twilio-Signature is missing or does not match this request", stats));
    return;
  }
  auto parsed = tw::parse_callback(std::move(*params));
  if (auto* err = std::get_if<tw::parse_error>(&parsed)) {
    job->done(refuse(kind::malformed, std::string{tw::describe(*err)}, stats));
    return;
  }
  auto& cb = std::get<tw::status_callback>(parsed);
  auto [what, event] = tw::map_callback(cb, job->received_at);
  if (what == tw::disposition::ignore) {
    job->done({kind::ignored, "inbound status " + cb.message_status + " is not tracked", {}});
    return;
  }
  std::vector<adapters::mapped_event> events;
  events.push_back({cb.message_sid, std::move(event), job->body});
  submit_events({self->state.deps.ledger, self->state.deps.gate, self->state.deps.log}, core::vendor::twilio, std::move(events),
                job->received_at, stats, job->done);
}

twilio_actor::behavior_type twilio_behavior(twilio_pointer self, std::shared_ptr<twilio_deps> deps) {
  self->state.deps = std::move(*deps);
  return {
    [=](twilio_callback_job_ptr& job) { handle(self, job); },
  };
}

} // namespace

twilio_actor spawn_twilio(caf::actor_system& sys, twilio_deps deps) {
  return sys.spawn(twilio_behavior, std::make_shared<twilio_deps>(std::move(deps)));
}

} // namespace deliveryd::actors
