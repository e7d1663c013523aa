#pragma once
/// What the webhook vendor actors share: handing a mapped batch to the ledger and turning its answer into a
/// webhook_result, counting what they refused, and logging the unusable items of a batch.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"
#include "actors/jobs.hpp"
#include "db/ack_log.hpp"
#include "adapters/common.hpp"

namespace deliveryd::actors {

/// The acknowledgement a vendor expects instead of the JSON one (body and Content-Type).
struct vendor_reply {
  std::string body;
  std::string type = "text/plain";
};

/// Builds the events job of a webhook's usable events. Counts them as received; when the ledger answers,
/// counts stored and duplicate events and calls `done` with `stored` (carrying `reply`, if any) or
/// `storage_failing`.
events_job_ptr make_events_job(core::vendor vendor, std::vector<adapters::mapped_event> events,
                               core::timestamp received_at, vendor_counters& stats,
                               std::function<void(webhook_result)> done, std::optional<vendor_reply> reply = {});

/// Where a webhook vendor actor hands its events: the ledger, through the backlog `gate` (none when null), or the
/// ack log in front of it (when not null).
struct event_sink {
  ledger_actor ledger;
  backlog* gate = nullptr;
  db::ack_log* log = nullptr;
};

/// Hands a webhook's usable events on. With an ack log: appends them as one record, and answers `done` stored
/// once it is durable (the ledger applies it later), overloaded at once when the log's backlog is full, or
/// storage_failing. Without: through the backlog `gate` (none when null): when they do not fit, answers `done`
/// with overloaded at once and hands nothing over; otherwise builds the job with make_events_job, counts the
/// events in the backlog until the ledger answers, and sends it.
void submit_events(const event_sink& sink, core::vendor vendor,
                   std::vector<adapters::mapped_event> events, core::timestamp received_at, vendor_counters& stats,
                   std::function<void(webhook_result)> done, std::optional<vendor_reply> reply = {});

/// The sentence of a 503 overloaded answer, with the backlog's size.
std::string overloaded_detail(const backlog& gate);

/// A refusal with `detail`: bad_signature (403) and malformed (400) are counted in `stats`.
webhook_result refuse(webhook_result::kind what, std::string detail, vendor_counters& stats);

/// The answer to a batch with nothing to record (all items unusable or ignored): acknowledged, nothing stored.
webhook_result nothing_to_store(std::string detail, std::optional<vendor_reply> reply = {});

/// True when the request presents `configured` as query parameter `token` or in header `header_name` (either
/// suffices). Compared in constant time; an empty configured token never matches.
bool token_presented(std::string_view configured, const vendor_webhook_job& job, std::string_view header_name);

/// Counts the unusable items of a batch and logs the first few (index and reason, never a contact).
void note_unusable(std::string_view component, const std::vector<adapters::unusable_item>& items,
                   vendor_counters& stats);

} // namespace deliveryd::actors
