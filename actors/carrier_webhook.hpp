#pragma once
/// The SMS carrier's webhook, handled on the listener thread that received it: Jasmin-style HTTP DLRs and Korean aggregator reports (vendors.md §4).

#include <array>
#include <string>
#include <string_view>

#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"
#include "core/time.hpp"

namespace deliveryd::actors {

/// The header that may carry the shared carrier token (the query parameter `token` may too).
inline constexpr std::string_view carrier_token_header = "X-Carrier-Token";

/// The request headers the carrier webhook reads (the listener copies these into the job).
inline constexpr std::array<std::string_view, 1> carrier_headers{carrier_token_header};

/// The body Jasmin needs to stop resending a DLR.
inline constexpr std::string_view jasmin_ack = "ACK/Jasmin";

/// What the carrier webhook needs: the shared token, the zone of zone-less DLR dates, the ledger and the counters.
struct carrier_deps {
  std::string token;         ///< [carrier] token
  core::zone zone;           ///< [time] zone: Jasmin's `donedate` (YYMMDDhhmm) is read in it
  ledger_actor ledger;
  counters* stats = nullptr; ///< the daemon's counters; they outlive the listeners
  backlog* gate = nullptr;   ///< the bound on the ledger's backlog (none when null); it outlives the listeners
};

/// Handles one POST /webhooks/carrier on the calling thread: checks the token, maps a Jasmin DLR or an
/// aggregator report, and hands the events to the ledger. Answers through `job->done` exactly once (with
/// `ACK/Jasmin` for a stored DLR). Reads `deps` only: safe on any number of threads at once.
void handle_carrier_webhook(const carrier_deps& deps, const vendor_webhook_job_ptr& job);

} // namespace deliveryd::actors
