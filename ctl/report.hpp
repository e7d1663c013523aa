#pragma once
/// How deliveryctl reports a failed request: one line on the console's error stream, and the exit status.

#include "ctl/commands.hpp"
#include "ctl/http.hpp"

namespace deliveryd::ctl {

/// "cannot reach deliveryd at host:port (reason). Is the service running? …"; returns exit_unreachable.
int report_unreachable(const ops_endpoint& endpoint, const transport_error& error, console& io);

/// The JSON error's detail with the status and error word (and, for a 401, why no good token was sent);
/// returns exit_failed.
int report_http_error(const http_answer& answer, const ops_endpoint& endpoint, console& io);

} // namespace deliveryd::ctl
