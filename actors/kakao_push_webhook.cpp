#include "actors/kakao_push_webhook.hpp"

#include <spdlog/spdlog.h>

#include "actors/webhook_support.hpp"
#include "adapters/kakao/kakao.hpp"

namespace deliveryd::actors {

namespace {

namespace kk = adapters::kakao;
using kind = webhook_result::kind;

} // namespace

void handle_kakao_push(const kakao_push_deps& deps, const vendor_webhook_job_ptr& job) {
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
  submit_events(deps.ledger, deps.gate, core::vendor::kakao, std::move(batch.events), job->received_at, stats,
                job->done);
}

} // namespace deliveryd::actors
