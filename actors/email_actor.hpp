#pragma once
/// The e-mail vendor actor: SendGrid's Event Webhook (docs/vendors.md#sendgrid).

#include <array>
#include <chrono>
#include <optional>
#include <string_view>

#include <caf/fwd.hpp>

#include "db/ack_log.hpp"
#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"
#include "adapters/email/sendgrid.hpp"

namespace deliveryd::actors {

/// The request headers the e-mail actor reads (the listener copies these into the job).
inline constexpr std::array<std::string_view, 2> email_headers{adapters::email::signature_header,
                                                               adapters::email::timestamp_header};

/// What the e-mail actor needs: the parsed key, the replay window, the ledger and the counters.
struct email_deps {
  adapters::email::verification_key key;          ///< parsed once at start (see load_email_key)
  std::chrono::milliseconds max_skew{std::chrono::minutes{5}}; ///< [email] max_skew
  ledger_actor ledger;
  counters* stats = nullptr;                      ///< the daemon's counters; they outlive the actor
  backlog* gate = nullptr;   ///< the bound on the ledger's backlog (none when null); it outlives the actor
  db::ack_log* log = nullptr; ///< the ack log in front of the ledger, when it has one; it outlives the actor
};

/// Parses `[email] verification_key` once, at start. Logs why (never the key) and answers nullopt when it is not
/// a base64 DER P-256 public key: the daemon then refuses to start rather than answer every SendGrid POST 403.
std::optional<adapters::email::verification_key> load_email_key(std::string_view base64_der);

/// Spawns the e-mail actor (cooperative: it only verifies, parses and maps, all in memory).
email_actor spawn_email(caf::actor_system& sys, email_deps deps);

} // namespace deliveryd::actors
