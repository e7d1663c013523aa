#include "actors/kakao_push_actor.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/webhook_support.hpp"
#include "adapters/kakao/kakao.hpp"

namespace deliveryd::actors {

namespace {

namespace kk = adapters::kakao;
using kind = webhook_result::kind;

struct kakao_push_state {
  std::shared_ptr<const kakao_push_deps> deps; // a pointer: core::zone has no empty state to start from
  static inline const char* name = "kakao_push";
};

using kakao_push_pointer = kakao_push_actor::stateful_pointer<kakao_push_state>;

void handle(kakao_push_pointer self, const vendor_webhook_job_ptr& job) {
  const auto& deps = *self->state.deps;
  auto& stats = deps.stats->of(core::vendor::kakao);
  if (!token_presented(deps.push_token, *job, kakao_token_header)) {
    spdlog::warn("kakao bad_token: pushed results refused (token missing or wrong)");
    job->done(refuse(kind::bad_signature, "the Kakao push token is missing or wrong", stats));
    return;
  }
  auto parsed = kk::parse_push(job->body, deps.zone, job->received_at);
  if (auto* bad = std::get_if<kk::bad_body>(&parsed)) {
    job->done(refuse(kind::malformed, std::move(bad->detail), stats));
    return;
  }
  auto& batch = std::get<adapters::mapped_batch>(parsed);
  note_unusable("kakao", batch.unusable, stats);
  if (batch.events.empty()) {
    job->done(nothing_to_store("no result of the batch is usable"));
    return;
  }
  submit_events({deps.ledger, deps.gate, deps.log}, core::vendor::kakao, std::move(batch.events), job->received_at, stats,
                job->done);
}

kakao_push_actor::behavior_type kakao_push_behavior(kakao_push_pointer self,
                                                    std::shared_ptr<const kakao_push_deps> deps) {
  self->state.deps = std::move(deps);
  return {
    [=](vendor_webhook_job_ptr& job) { handle(self, job); },
  };
}

} // namespace

kakao_push_actor spawn_kakao_push(caf::actor_system& sys, kakao_push_deps deps) {
  return sys.spawn(kakao_push_behavior, std::make_shared<const kakao_push_deps>(std::move(deps)));
}

} // namespace deliveryd::actors
