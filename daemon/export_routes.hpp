#pragma once
/// GET /v1/log/export on the ops listener, and the download tickets that let a browser follow a plain link to it.

#include <memory>

#include <httplib.h>

#include "daemon/routes.hpp"

namespace deliveryd::daemon {

/// Where a client with the bearer token asks for a download ticket: POST with the export's query.
inline constexpr const char* export_tickets_path = "/v1/log/export/tickets";

/// Installs GET /v1/log/export?month=YYYY-MM&format=jsonl|xlsx (and the day log's filters), or with ticket= alone
/// (a download ticket, which carries the query), and POST /v1/log/export/tickets with the export's query, which
/// answers 201 {url, expires_at}; called by install_ops_routes, so that the ops token check covers them.
void install_export_routes(httplib::Server& server, std::shared_ptr<const ops_deps> deps);

} // namespace deliveryd::daemon
