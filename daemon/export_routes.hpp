#pragma once
/// GET /v1/log/export on the ops listener.

#include <memory>

#include <httplib.h>

#include "daemon/routes.hpp"

namespace deliveryd::daemon {

/// Installs GET /v1/log/export?month=YYYY-MM&format=jsonl|xlsx (and the day log's filters); called by
/// install_ops_routes, so that the ops token check covers it.
void install_export_routes(httplib::Server& server, std::shared_ptr<const ops_deps> deps);

} // namespace deliveryd::daemon
