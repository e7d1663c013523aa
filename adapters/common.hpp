#pragma once
/// What every vendor adapter gives back: events addressed by the vendor's message id, and the items of a
/// batch that could not be used (counted and logged by the vendor actor, never a reason to refuse the batch).

#include <optional>
#include <string>
#include <vector>

#include "core/polling.hpp"
#include "core/reconcile.hpp"

namespace deliveryd::adapters {

/// One vendor event mapped onto the contract, addressed by the vendor's own message id.
struct mapped_event {
  std::string vendor_message_id; ///< the id the send was registered with (MessageSid, sg_message_id, …)
  core::event event;             ///< outcome, code, reason, category, vendor time, raw status/code, dedupe key
  std::string raw;               ///< this event's payload as received (one array element, or the whole form)
};

/// An item of a batch that could not be used.
struct unusable_item {
  std::size_t index = 0; ///< position in the batch
  std::string reason;    ///< a sentence for the log; never a contact
};

/// The usable and unusable items of one request.
struct mapped_batch {
  std::vector<mapped_event> events;
  std::vector<unusable_item> unusable;
  std::size_t ignored = 0; ///< usable but carrying nothing to record (engagement-only events, inbound statuses)
};

/// What one outbound status fetch found.
struct fetch_result {
  core::poll_outcome outcome = core::poll_outcome::error;
  std::optional<mapped_event> event; ///< the vendor's answer mapped onto the contract, when it gave one
  std::string price;                 ///< the vendor's price exactly as reported, "" when unknown
  std::string price_unit;
  std::string detail;                ///< why the fetch failed, for the log (never a contact or a secret)
};

} // namespace deliveryd::adapters
