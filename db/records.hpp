#pragma once
/// Values that cross the ledger's boundary: what is written, and what the writes report back.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/intake/intake.hpp"
#include "core/reconcile.hpp"
#include "core/words.hpp"

namespace deliveryd::db {

/// One vendor event addressed by the vendor's message id.
struct vendor_event {
  core::vendor vendor = core::vendor::twilio; ///< which vendor reported it
  std::string vendor_message_id;              ///< MessageSid, sg_message_id, carrier id, Kakao messageId
  core::event event;                          ///< mapped onto the contract
  core::timestamp received_at{};              ///< when deliveryd received it
  std::string raw;                            ///< the payload as received, kept for audits
};

/// What applying a group of vendor events did.
struct events_outcome {
  std::size_t applied = 0;    ///< stored and applied to a registered send
  std::size_t held = 0;       ///< stored and held until their send is registered
  std::size_t duplicates = 0; ///< already stored (same dedupe key): nothing changed
  std::size_t corrected = 0;  ///< uncertain sends corrected by a definitive result
};

/// What an intake request did, in the contract's words.
struct intake_outcome {
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::size_t updated = 0;
  std::vector<adapters::intake::rejection> rejected; ///< in item order
};

/// What one purge step removed.
struct purge_outcome {
  std::size_t sends = 0;
  std::size_t events = 0; ///< the purged sends' events and held events received before the cut-off
  bool more = false;      ///< a limit was reached: more is due
};

/// What one sweep of passed deadlines did.
struct deadline_outcome {
  std::size_t fired = 0; ///< sends still pending, now uncertain
  bool more = false;     ///< the limit was reached: more deadlines may have passed
};

/// Per-vendor setting the ledger needs: how long a send may stay pending.
using deadline_table = std::map<core::vendor, std::chrono::milliseconds>;

/// When a polling vendor actor first fetches a new send.
struct first_poll {
  bool after_registration = true;  ///< true: `delay` after deliveryd registered it; false: after requested_at
  std::chrono::milliseconds delay{};
};

/// First polls of the vendors that poll (absent: the vendor is not polled).
using poll_table = std::map<core::vendor, first_poll>;

/// What one poll of a vendor found, and when to poll that send again.
struct poll_update {
  core::vendor vendor = core::vendor::kakao;
  std::string vendor_message_id;
  std::optional<core::event> event;             ///< the vendor's answer; nullopt after an error or a 404
  std::optional<core::timestamp> next_poll_at;  ///< nullopt: stop polling this send
  int attempts = 0;                             ///< consecutive back-off steps (errors, re-checks)
  std::string price;                            ///< the vendor's price exactly as reported, "" if unknown
  std::string price_unit;
  core::timestamp received_at{};
  std::string raw;                              ///< the vendor's answer as received
};

} // namespace deliveryd::db
