#include "actors/email_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/webhook_support.hpp"

namespace deliveryd::actors {

namespace {

namespace em = adapters::email;
using kind = webhook_result::kind;

struct email_state {
  email_deps deps;
  static inline const char* name = "email";
};

using email_pointer = email_actor::stateful_pointer<email_state>;

void handle(email_pointer self, const vendor_webhook_job_ptr& job) {
  const auto& deps = self->state.deps;
  auto& stats = deps.stats->of(core::vendor::email);
  const auto verdict = em::verify(deps.key, job->header(em::signature_header), job->header(em::timestamp_header),
                                  job->body, job->received_at, deps.max_skew);
  if (verdict == em::verdict::bad_key) { // cannot happen: the daemon does not start without a key
    job->done({kind::storage_failing, "the e-mail verification key is not loaded", {}});
    return;
  }
  if (verdict != em::verdict::ok) {
    spdlog::warn("email bad_signature: event webhook refused ({})", em::describe(verdict));
    job->done(refuse(kind::bad_signature, std::string{em::describe(verdict)}, stats));
    return;
  }
  auto parsed = em::parse_events(job->body, job->received_at);
  if (auto* err = std::get_if<em::parse_error>(&parsed)) {
    job->done(refuse(kind::malformed, std::move(err->detail), stats));
    return;
  }
  auto& batch = std::get<adapters::mapped_batch>(parsed);
  note_unusable("email", batch.unusable, stats);
  if (batch.events.empty()) {
    job->done(nothing_to_store("no event of the batch changes a send"));
    return;
  }
  submit_events({deps.ledger, deps.gate, deps.log}, core::vendor::email, std::move(batch.events), job->received_at, stats,
                job->done);
}

email_actor::behavior_type email_behavior(email_pointer self, std::shared_ptr<email_deps> deps) {
  self->state.deps = std::move(*deps);
  return {
    [=](vendor_webhook_job_ptr& job) { handle(self, job); },
  };
}

} // namespace

std::optional<adapters::email::verification_key> load_email_key(std::string_view base64_der) {
  auto loaded = em::load_key(base64_der);
  if (auto* err = std::get_if<em::key_error>(&loaded)) {
    spdlog::critical("email bad_key: [email] verification_key is unusable: {}", em::describe(*err));
    return std::nullopt;
  }
  return std::get<em::verification_key>(std::move(loaded));
}

email_actor spawn_email(caf::actor_system& sys, email_deps deps) {
  return sys.spawn(email_behavior, std::make_shared<email_deps>(std::move(deps)));
}

} // namespace deliveryd::actors
