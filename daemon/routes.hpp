#pragma once
/// The two listeners' routes. Routes only translate HTTP into a typed job and the job's answer into HTTP.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>

#include "actors/actors.hpp"
#include "actors/backlog.hpp"
#include "actors/counters.hpp"
#include "config/config.hpp"
#include "core/time.hpp"
#include "db/ack_log.hpp"
#include "db/reader_pool.hpp"
#include "daemon/download_tickets.hpp"
#include "daemon/views.hpp"

namespace caf {
class actor_system;
}

namespace deliveryd::daemon {

/// What the webhooks listener needs.
struct webhook_deps {
  std::string public_url;                       ///< scheme://host[:port] as vendors call it
  std::optional<actors::twilio_actor> twilio;   ///< absent when [twilio] is not configured
  std::optional<actors::email_actor> email;     ///< absent when [email] is not configured
  std::optional<actors::carrier_actor> carrier; ///< absent when [carrier] is not configured
  std::optional<actors::kakao_push_actor> kakao_push; ///< absent without [kakao] push_token
  std::function<core::timestamp()> clock;
  actors::backlog* gate = nullptr;              ///< the bound on the ledger's backlog (none when null)
  std::size_t max_body_bytes = 1 << 20;         ///< [webhooks] max_body_bytes, for chunked and compressed bodies
  /// With an ack log, `gate` bounds the events it acknowledged and the ledger has not committed: a request that
  /// finds it full waits this long for room before it is refused (the vendor sees a slower answer, not a 503).
  std::chrono::milliseconds wait_for_room{0};
};

/// Installs the vendor routes; every other path answers 404.
void install_webhook_routes(httplib::Server& server, webhook_deps deps);

/// What the ops listener needs.
struct ops_deps {
  actors::ledger_actor ledger;
  db::reader_pool* readers = nullptr;
  view_context view;
  std::string default_region;
  int retention_days = 365;
  std::vector<core::vendor> enabled;            ///< vendors with a config section
  std::optional<std::string> token;             ///< bearer token, when [ops] token_file is set
  std::optional<std::string> read_token;        ///< read-only bearer token, when [ops] read_token_file is set
  std::function<core::timestamp()> clock;
  actors::counters* stats = nullptr;            ///< read by GET /metrics
  actors::backlog* gate = nullptr;              ///< the bound on the ledger's backlog (none when null)
  std::size_t max_body_bytes = 16 << 20;        ///< [ops] max_body_bytes, for chunked and compressed bodies
  std::shared_ptr<download_tickets> tickets = std::make_shared<download_tickets>(); ///< of the export downloads
  /// The ack log in front of an SQLite ledger, or null: a query waits until the ledger has applied what the log
  /// acknowledged before it arrived (acquire_reader).
  db::ack_log* log = nullptr;
  actors::backlog* log_gate = nullptr; ///< the bound on the events it acknowledged and the ledger has not committed
};

/// Installs intake, queries, health, download tickets and the console; webhook paths answer 404 here. With
/// [ops] token_file, every request but GET /healthz, the console's files and a download by ticket needs the
/// bearer token; the read-only token of [ops] read_token_file does for GET requests and download tickets, and is
/// refused with 403 for anything else (intake).
void install_ops_routes(httplib::Server& server, ops_deps deps);

/// A read connection of the ledger, or nullopt after answering 503 unavailable when it cannot be opened.
std::optional<db::reader_pool::lease> acquire_reader(const ops_deps& deps, httplib::Response& res);

/// Answers a failed read of the ledger: 503 unavailable with Retry-After, as a storage failure, never 500.
void answer_read_failure(httplib::Response& res, const db::ledger_error& error);

/// Reads with a pooled connection of the ledger (`read(reader)` gives a db::result) and answers with
/// `render(value)`. A ledger that cannot be opened or read is answered by answer_read_failure.
template <class Read, class Render>
void read_and_answer(const ops_deps& deps, httplib::Response& res, Read&& read, Render&& render) {
  auto reader = acquire_reader(deps, res);
  if (!reader)
    return;
  auto got = read(**reader);
  if (!got)
    answer_read_failure(res, got.error());
  else
    render(*got);
}

/// Installs GET /v1/log/summary and GET /v1/log/sources (daemon/summary_routes.cpp).
void install_summary_routes(httplib::Server& server, std::shared_ptr<const ops_deps> deps);

} // namespace deliveryd::daemon
