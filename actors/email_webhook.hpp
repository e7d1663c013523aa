#pragma once
/// SendGrid's Event Webhook (vendors.md §2.1), handled on the listener thread that received it.

#include <array>
#include <chrono>
#include <optional>
#include <string_view>

#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"
#include "adapters/email/sendgrid.hpp"

namespace deliveryd::actors {

/// The request headers the e-mail webhook reads (the listener copies these into the job).
inline constexpr std::array<std::string_view, 2> email_headers{adapters::email::signature_header,
                                                               adapters::email::timestamp_header};

/// What the e-mail webhook needs: the parsed key, the replay window, the ledger and the counters.
struct email_deps {
  adapters::email::verification_key key;          ///< parsed once at start (see load_email_key)
  std::chrono::milliseconds max_skew{std::chrono::minutes{5}}; ///< [email] max_skew
  ledger_actor ledger;
  counters* stats = nullptr;                      ///< the daemon's counters; they outlive the listeners
  backlog* gate = nullptr;   ///< the bound on the ledger's backlog (none when null); it outlives the listeners
};

/// Parses `[email] verification_key` once, at start. Logs why (never the key) and answers nullopt when it is not
/// a base64 DER P-256 public key: the daemon then refuses to start rather than answer every SendGrid POST 403.
std::optional<adapters::email::verification_key> load_email_key(std::string_view base64_der);

/// Handles one POST /webhooks/email on the calling thread: checks the signature and its timestamp, parses and
/// maps the batch, and hands the usable events to the ledger. Answers through `job->done` exactly once, after
/// the commit is durable when anything is stored. Reads `deps` only: safe on any number of threads at once.
void handle_email_webhook(const email_deps& deps, const vendor_webhook_job_ptr& job);

} // namespace deliveryd::actors
