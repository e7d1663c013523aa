#pragma once
/// The reconciliation state machine: (state, event, now) -> (state, effects).
///
/// The state of a send is the greatest of the events it received under one total order (see `outranks`), so
/// the final state depends only on the set of events, never on their order or on duplicates. Rank: excluded >
/// sent > failed > uncertain > pending; between two failures the later vendor event time wins, then the greater
/// code, then the greater reason text.

#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "core/words.hpp"

namespace deliveryd::core {

/// One observation about a send, already mapped from the vendor's words onto the contract's.
struct event {
  event_source source = event_source::webhook; ///< where it came from
  status outcome = status::pending;            ///< what it says about the send
  std::string code;                            ///< "" for sent/pending, "ME09", "10006", "twilio:30003"
  std::string reason;                          ///< text for failed/excluded/uncertain (see `reason_for`)
  category cat = category::none;               ///< taxonomy of a failure, none otherwise
  timestamp vendor_time{};                     ///< when the vendor says it happened (receipt time if it does not say)
  std::string vendor_status;                   ///< the vendor's raw status word ("undelivered", "DELIVRD")
  std::string vendor_code;                     ///< the vendor's raw code ("30003"), "" if none
  std::string dedupe_key;                      ///< identity of the event at its vendor, "" if it has none
};

/// The current, reconciled state of one send.
struct send_state {
  status current = status::pending; ///< the reconciled status
  std::string code;                 ///< the deciding code ("" for pending and sent)
  std::string reason;               ///< the deciding reason text ("" for pending and sent)
  category cat = category::none;    ///< the deciding category
  timestamp decided_at{};           ///< vendor time of the deciding event (epoch for pending)

  friend bool operator==(const send_state&, const send_state&) = default;
};

/// What the ledger must do after one event. Plain data: the ledger actor carries it out.
enum class effect {
  append_history, ///< store the event in the send's history, with the state after it
  update_state,   ///< the send's current state changed: write it (and its roll-ups)
  correction,     ///< an uncertain send was corrected by a definitive result (also update_state)
  hold,           ///< the send is not registered yet: keep the event and apply it when the send arrives
};

/// The outcome of one step of the state machine.
struct transition {
  send_state state;             ///< the state after the event (the unchanged state for `hold`)
  std::vector<effect> effects;  ///< in the order the ledger should carry them out
};

/// The rank of a status in the conflict order: pending 0, uncertain 1, failed 2, sent 3, excluded 4.
int rank(status value) noexcept;

/// True when `candidate` must replace `current` (strictly greater in the total order).
bool outranks(const event& candidate, const send_state& current) noexcept;

/// The state that a single event would set on its own.
send_state state_of(const event& e);

/// The reason text for a code: the code table's reason, else the vendor's own text, else the category's
/// description. Empty only for sent and pending.
std::string reason_for(status outcome, std::string_view code, std::string_view vendor_text, category cat);

/// One step: `current` is nullopt when the send is not registered (the event is held). Duplicates are the
/// caller's to drop by dedupe key; applying an event twice leaves the state as it was after the first time.
transition reconcile(const std::optional<send_state>& current, const event& e, timestamp now);

/// The event the deadline produces for a send with no final result `uncertain_after` past `requested_at`.
event deadline_event(timestamp now);

/// True when a send in `current` requested at `requested_at` must get its deadline event at `now`.
bool deadline_due(const send_state& current, timestamp requested_at, std::chrono::milliseconds uncertain_after,
                  timestamp now) noexcept;

} // namespace deliveryd::core
