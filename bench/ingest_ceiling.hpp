#pragma once
/// The ingest benchmark's ceilings: helper processes (ingest_bench started again with a mode of its own) running
/// deliveryd's http_server with the webhooks listener's settings, which answer every Twilio callback without the
/// daemon behind it. The bench loads them with the Twilio requests of the daemon's phase and prints the daemon
/// against them.

#include <string>
#include <string_view>

namespace deliveryd::bench::ingest {

/// The plain ceiling: answers every POST /webhooks/twilio 200 without looking at it. Serves 127.0.0.1:`port`
/// until SIGTERM or SIGINT; returns the process's exit code.
int ceiling_server(int port);

/// The durable ceiling (issue 20): appends each POST /webhooks/twilio body and a newline to `path` (truncated at
/// start) and answers 200 only after an fdatasync that began after the append has completed; one sync thread
/// covers every append waiting at the time, so syncs are grouped as a ledger's commits are. Once a write or an
/// fdatasync fails every request is answered 503, never 200. GET /stats answers
/// `{"appends":N,"syncs":N,"refused":N}`; the same figures go to stderr at the stop. Serves 127.0.0.1:`port` until
/// SIGTERM or SIGINT; returns the process's exit code.
int durable_ceiling_server(int port, const std::string& path);
/// The event-loop durable ceiling: as durable_ceiling_server, but Boost.Beast on one Asio thread reads and answers
/// every connection, and the sync thread hands the answers it covered back to that thread, so no thread is parked
/// per request (ingest_event_loop.cpp). What a listener built that way could reach, measured before it is built.
/// With a `signed_url`, each callback is first checked as the daemon checks it (the form parsed, X-Twilio-Signature
/// verified for that URL with the bench's auth token) and answered 403 when it does not match.
int event_loop_ceiling_server(int port, const std::string& path, const std::string& signed_url = "");

/// Writes `record` and a newline at the end of `fd` (opened O_APPEND), going on after a short write or EINTR: the
/// durable ceilings' append. False when a write failed; the error is printed, after `who`.
bool append_line(int fd, std::string_view record, const char* who);

} // namespace deliveryd::bench::ingest
