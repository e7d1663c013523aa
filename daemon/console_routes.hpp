#pragma once
/// The console's files on the ops listener, and the headers that keep every answer of the listener from being
/// framed, sniffed or leaking its URL (daemon/console_routes.cpp).

#include <string_view>

#include <httplib.h>

namespace deliveryd::daemon {

/// Installs GET / (the page) and GET /console/<file> (its styles, scripts and icon), which need no token.
void install_console_routes(httplib::Server& server);

/// True for the paths of the console's files, which need no token.
bool is_console_path(std::string_view path);

/// Adds Content-Security-Policy (scripts, styles, images and fetches from this listener only, nothing inline, no
/// framing), X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, X-Frame-Options: DENY and
/// Cross-Origin-Resource-Policy: same-origin.
void add_security_headers(httplib::Response& res);

/// Whether an Accept-Encoding header takes gzip: named (or x-gzip) with a q above 0, or "*" when gzip is not
/// named; q=0 refuses.
bool accepts_gzip(std::string_view accept_encoding);

/// Whether an If-None-Match header names `etag` (quoted), weakly compared, or is "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag);

} // namespace deliveryd::daemon
