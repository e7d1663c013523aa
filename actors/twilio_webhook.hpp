#pragma once
/// Twilio's status callbacks (vendors.md §1): verified, parsed and mapped on the listener thread that received
/// them, then handed to the ledger actor.

#include <functional>
#include <optional>
#include <string>

#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"

namespace deliveryd::actors {

/// What the Twilio webhook needs: its secrets, the ledger and the counters.
struct twilio_deps {
  std::string auth_token;                       ///< key of X-Twilio-Signature
  std::optional<std::string> webhook_shared_key;///< key of the HMAC-SHA256 rule signature, if configured
  ledger_actor ledger;
  counters* stats = nullptr;                    ///< the daemon's counters; they outlive the listeners
  backlog* gate = nullptr;   ///< the bound on the ledger's backlog (none when null); it outlives the listeners
};

/// Handles one status callback on the calling thread: checks the signature, parses and maps it, and hands the
/// event to the ledger. Answers through `job->done` exactly once: at once for a refusal, after the commit is
/// durable otherwise. Reads `deps` only, so any number of listener threads may call it at once.
void handle_twilio_callback(const twilio_deps& deps, const twilio_callback_job_ptr& job);

} // namespace deliveryd::actors
