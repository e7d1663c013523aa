#pragma once
/// The ingest benchmark's ceilings: helper processes (ingest_bench started again with a mode of its own) running
/// deliveryd's http_server with the webhooks listener's settings, which answer every Twilio callback without the
/// daemon behind it. The bench loads them with the Twilio requests of the daemon's phase and prints the daemon
/// against them.

#include <string>

namespace deliveryd::bench::ingest {

/// The plain ceiling: answers every POST /webhooks/twilio 200 without looking at it. Serves 127.0.0.1:`port`
/// until SIGTERM or SIGINT; returns the process's exit code.
int ceiling_server(int port);

} // namespace deliveryd::bench::ingest
