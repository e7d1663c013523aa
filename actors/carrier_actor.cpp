#include "actors/carrier_actor.hpp"

#include <algorithm>
#include <cctype>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/webhook_support.hpp"
#include "adapters/carrier/carrier.hpp"
#include "adapters/form.hpp"

namespace deliveryd::actors {

namespace {

namespace ca = adapters::carrier;
using kind = webhook_result::kind;

struct carrier_state {
  std::shared_ptr<const carrier_deps> deps; // a pointer: core::zone has no empty state to start from
  static inline const char* name = "carrier";
};

using carrier_pointer = carrier_actor::stateful_pointer<carrier_state>;

/// True for `application/json`, with or without parameters, in any case.
bool is_json(std::string_view content_type) {
  constexpr std::string_view json = "application/json";
  return content_type.size() >= json.size()
         && std::equal(json.begin(), json.end(), content_type.begin(),
                       [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

/// `query` without its `token` parameters: a DLR read from the query is stored raw, never with the secret.
std::string without_token(std::string_view query) {
  std::string out;
  while (!query.empty()) {
    const auto end = std::min(query.find('&'), query.size());
    const auto part = query.substr(0, end);
    const auto decoded = adapters::parse_form(part);
    if (!(decoded && decoded->size() == 1 && decoded->front().first == "token")) {
      if (!out.empty())
        out.push_back('&');
      out.append(part);
    }
    query.remove_prefix(std::min(end + 1, query.size()));
  }
  return out;
}

void handle_aggregator(carrier_pointer self, const vendor_webhook_job_ptr& job, vendor_counters& stats) {
  auto parsed = ca::parse_aggregator(job->body, job->received_at);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    job->done(refuse(kind::malformed, std::move(*why), stats));
    return;
  }
  auto& batch = std::get<adapters::mapped_batch>(parsed);
  note_unusable("carrier", batch.unusable, stats);
  if (batch.events.empty()) {
    job->done(nothing_to_store("no report of the batch is usable"));
    return;
  }
  submit_events({self->state.deps->ledger, self->state.deps->gate, self->state.deps->log}, core::vendor::carrier, std::move(batch.events),
                job->received_at, stats, job->done);
}

void handle_jasmin(carrier_pointer self, const vendor_webhook_job_ptr& job, vendor_counters& stats) {
  const bool from_query = job->body.empty();
  const auto source = from_query ? job->query() : std::string_view{job->body};
  auto params = adapters::parse_form(source);
  if (!params) {
    job->done(refuse(kind::malformed, "the DLR is not valid application/x-www-form-urlencoded UTF-8 text", stats));
    return;
  }
  auto mapped = ca::parse_jasmin(*params, from_query ? without_token(source) : job->body, self->state.deps->zone,
                                 job->received_at);
  if (auto* why = std::get_if<std::string>(&mapped)) {
    job->done(refuse(kind::malformed, std::move(*why), stats));
    return;
  }
  std::vector<adapters::mapped_event> events;
  events.push_back(std::move(std::get<adapters::mapped_event>(mapped)));
  submit_events({self->state.deps->ledger, self->state.deps->gate, self->state.deps->log}, core::vendor::carrier, std::move(events),
                job->received_at, stats, job->done, vendor_reply{std::string{jasmin_ack}, "text/plain"});
}

void handle(carrier_pointer self, const vendor_webhook_job_ptr& job) {
  const auto& deps = *self->state.deps;
  auto& stats = deps.stats->of(core::vendor::carrier);
  if (!token_presented(deps.token, *job, carrier_token_header)) {
    spdlog::warn("carrier bad_token: delivery report refused (token missing or wrong)");
    job->done(refuse(kind::bad_signature, "the carrier token is missing or wrong", stats));
    return;
  }
  if (is_json(job->content_type))
    handle_aggregator(self, job, stats);
  else
    handle_jasmin(self, job, stats);
}

carrier_actor::behavior_type carrier_behavior(carrier_pointer self, std::shared_ptr<const carrier_deps> deps) {
  self->state.deps = std::move(deps);
  return {
    [=](vendor_webhook_job_ptr& job) { handle(self, job); },
  };
}

} // namespace

carrier_actor spawn_carrier(caf::actor_system& sys, carrier_deps deps) {
  return sys.spawn(carrier_behavior, std::make_shared<const carrier_deps>(std::move(deps)));
}

} // namespace deliveryd::actors
