#pragma once
/// Failover: an Alimtalk send and the SMS/LMS legs registered with `fallback_of` are one logical send.

#include <span>

#include "core/reconcile.hpp"

namespace deliveryd::core {

/// The logical state of an Alimtalk send with failover legs: `sent` if any attempt (the Alimtalk one or a
/// leg) was delivered, else the state of the last registered leg; with no legs, the Alimtalk send's own state.
/// `legs` are in registration order and exclude the Alimtalk attempt. The code, reason and category are those
/// of the attempt that decided it.
send_state logical_state(const send_state& alimtalk, std::span<const send_state> legs);

} // namespace deliveryd::core
