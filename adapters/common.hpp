#pragma once
/// What every vendor adapter gives back: events addressed by the vendor's message id, and the items of a
/// batch that could not be used (counted and logged by the vendor actor, never a reason to refuse the batch).

#include <string>
#include <vector>

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

} // namespace deliveryd::adapters
