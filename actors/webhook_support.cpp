#include "actors/webhook_support.hpp"

#include <algorithm>
#include <cctype>

#include <caf/send.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "adapters/crypto.hpp"
#include "adapters/form.hpp"

namespace deliveryd::actors {

namespace {

bool same_ascii_ci(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

} // namespace

std::string_view vendor_webhook_job::header(std::string_view name) const noexcept {
  for (const auto& [key, value] : headers)
    if (same_ascii_ci(key, name))
      return value;
  return {};
}

std::string_view vendor_webhook_job::query() const noexcept {
  const auto mark = target.find('?');
  return mark == std::string::npos ? std::string_view{} : std::string_view{target}.substr(mark + 1);
}

events_job_ptr make_events_job(core::vendor vendor, std::vector<adapters::mapped_event> events,
                               core::timestamp received_at, vendor_counters& stats,
                               std::function<void(webhook_result)> done, std::optional<vendor_reply> reply) {
  auto job = std::make_shared<events_job>();
  job->events.reserve(events.size());
  for (auto& e : events)
    job->events.push_back(
      db::vendor_event{vendor, std::move(e.vendor_message_id), std::move(e.event), received_at, std::move(e.raw)});
  bump(stats.events_received, job->events.size());
  // The ledger calls this from its own thread; the counters are atomics and `done` only fills a promise.
  job->done = [&stats, done = std::move(done), reply = std::move(reply)](ledger_result<db::events_outcome> r) {
    auto* out = std::get_if<db::events_outcome>(&r.value);
    if (!out) {
      done({webhook_result::kind::storage_failing, std::move(r.detail), {}});
      return;
    }
    bump(stats.events_stored, out->applied + out->held);
    bump(stats.duplicates, out->duplicates);
    webhook_result result{webhook_result::kind::stored, "", *out};
    if (reply) {
      result.reply_body = reply->body;
      result.reply_type = reply->type;
    }
    done(std::move(result));
  };
  return job;
}

namespace {

/// Appends a webhook's events to the ack log (submit_events).
void log_events(db::ack_log& log, backlog* gate, core::vendor vendor, std::vector<adapters::mapped_event> events,
                core::timestamp received_at, vendor_counters& stats, std::function<void(webhook_result)> done,
                std::optional<vendor_reply> reply) {
  // The events count in the backlog from here until the ledger has committed them (ledger_deps::gate): the
  // log answers sooner, but the ledger's work is what the bound is about.
  // The route waited for room before the request was parsed (webhook_deps::wait_for_room); what arrived
  // meanwhile may pass the limit by the requests in flight, which is bounded by the listener's threads.
  if (gate)
    gate->admit(events.size());
  std::vector<db::vendor_event> record;
  record.reserve(events.size());
  for (auto& e : events)
    record.push_back(
      db::vendor_event{vendor, std::move(e.vendor_message_id), std::move(e.event), received_at, std::move(e.raw)});
  const auto n = record.size();
  bump(stats.events_received, n);
  // The log calls this from its own thread; the counters are atomics and `done` only fills a promise.
  auto answer = [&stats, gate, n, done, reply = std::move(reply)](const std::string& why) {
    if (!why.empty()) {
      if (gate)
        gate->release(n);
      done({webhook_result::kind::storage_failing, why, {}});
      return;
    }
    bump(stats.events_stored, n);
    webhook_result result{webhook_result::kind::stored, "", {}};
    if (reply) {
      result.reply_body = reply->body;
      result.reply_type = reply->type;
    }
    done(std::move(result));
  };
  const auto admission = log.append(record, std::move(answer));
  if (admission != db::ack_log::admission::queued && gate)
    gate->release(n);
  switch (admission) {
    case db::ack_log::admission::queued: return;
    case db::ack_log::admission::full:
      done({webhook_result::kind::overloaded,
            fmt::format("deliveryd is receiving more than its ledger applies ({} KiB acknowledged and not applied, "
                        "at most {} KiB); retry in a second",
                        log.backlog() >> 10, log.backlog_limit() >> 10),
            {}});
      return;
    case db::ack_log::admission::ledger_failing:
      // Acknowledged now, the events could neither be applied nor seen by queries until the ledger commits
      // again; refused, the vendor retries them then.
      done({webhook_result::kind::storage_failing, commit_refusal(log.ledger_failing()), {}});
      return;
    case db::ack_log::admission::failing:
      done({webhook_result::kind::storage_failing,
            log.failing().empty() ? "deliveryd is shutting down; retry later"
                                  : "the ack log cannot make webhooks durable (" + log.failing()
                                      + "); deliveryd restarts to read it again from the disk: retry later",
            {}});
      return;
  }
}

} // namespace

void submit_events(const event_sink& sink, core::vendor vendor,
                   std::vector<adapters::mapped_event> events, core::timestamp received_at, vendor_counters& stats,
                   std::function<void(webhook_result)> done, std::optional<vendor_reply> reply) {
  if (sink.log) {
    log_events(*sink.log, sink.gate, vendor, std::move(events), received_at, stats, std::move(done),
               std::move(reply));
    return;
  }
  const auto& ledger = sink.ledger;
  auto* gate = sink.gate;
  const auto n = events.size();
  if (gate && !gate->try_admit(n)) {
    done({webhook_result::kind::overloaded, overloaded_detail(*gate), {}});
    return;
  }
  auto job = make_events_job(vendor, std::move(events), received_at, stats, std::move(done), std::move(reply));
  if (gate)
    job->done = [gate, n, answer = std::move(job->done)](ledger_result<db::events_outcome> r) {
      gate->release(n);
      answer(std::move(r));
    };
  caf::anon_send(ledger, std::move(job));
}

std::string overloaded_detail(const backlog& gate) {
  return fmt::format("deliveryd is receiving more than its ledger commits ({} items waiting, at most {}); "
                     "retry in a second",
                     gate.items(), gate.limit());
}

webhook_result refuse(webhook_result::kind what, std::string detail, vendor_counters& stats) {
  if (what == webhook_result::kind::bad_signature)
    bump(stats.bad_signatures);
  else if (what == webhook_result::kind::malformed)
    bump(stats.malformed);
  return {what, std::move(detail), {}};
}

webhook_result nothing_to_store(std::string detail, std::optional<vendor_reply> reply) {
  webhook_result result{webhook_result::kind::ignored, std::move(detail), {}};
  if (reply) {
    result.reply_body = std::move(reply->body);
    result.reply_type = std::move(reply->type);
  }
  return result;
}

bool token_presented(std::string_view configured, const vendor_webhook_job& job, std::string_view header_name) {
  bool match = false;
  // Every presented token is compared, without a short cut: the timing tells nothing about which matched.
  if (const auto given = job.header(header_name); !given.empty())
    match = adapters::secret_matches(configured, given) || match;
  // Parameter by parameter: a malformed other parameter (a DLR field with %00 or bad UTF-8) must be refused as
  // malformed by the parser, not hide a good token and be refused as unauthenticated.
  for (auto query = job.query(); !query.empty();) {
    const auto end = std::min(query.find('&'), query.size());
    if (auto params = adapters::parse_form(query.substr(0, end)))
      for (const auto& [name, value] : *params)
        if (name == "token")
          match = adapters::secret_matches(configured, value) || match;
    query.remove_prefix(std::min(end + 1, query.size()));
  }
  return match;
}

void note_unusable(std::string_view component, const std::vector<adapters::unusable_item>& items,
                   vendor_counters& stats) {
  if (items.empty())
    return;
  bump(stats.unusable, items.size());
  // A few lines per request: a batch of garbage must not flood the journal.
  constexpr std::size_t logged = 5;
  for (std::size_t i = 0; i < std::min(items.size(), logged); ++i)
    spdlog::warn("{} unusable_event: item {} skipped: {}", component, items[i].index, items[i].reason);
  if (items.size() > logged)
    spdlog::warn("{} unusable_event: {} more items of the same batch skipped", component, items.size() - logged);
}

} // namespace deliveryd::actors
