#pragma once
/// Request bodies held to the listener's max_body_bytes whatever their framing. cpp-httplib 0.11 compares the
/// limit with Content-Length alone: a chunked body and a compressed one (the Debian build inflates gzip, deflate
/// and brotli) are read whole into memory first, on any path, routed or not, and a body without a length is read
/// until the client closes.

#include <cstddef>

#include <httplib.h>

namespace deliveryd::daemon {

/// `handler` as a content-reader handler: it reads the body itself, at most `max_body_bytes` after any
/// Content-Encoding is undone, then calls `handler` with the body in `req.body`. A request without Content-Length
/// or chunked framing has an empty body (RFC 9112 §6.3), never "until the client closes". Refused before
/// `handler` runs, with `Connection: close` (what is left of the body is never read, and must not be taken for a
/// next request): 413 `body_too_large` past the limit, without waiting for a declared length to arrive; 400
/// `malformed` for a NUL byte in a header value, a Content-Length that is not one decimal number, a
/// Transfer-Encoding other than chunked or beside a Content-Length, a multipart body, and a body cut short (the
/// read timeout); 415 `unsupported_encoding` for a Content-Encoding the library cannot undo.
httplib::Server::HandlerWithContentReader with_bounded_body(std::size_t max_body_bytes,
                                                           httplib::Server::Handler handler);

/// Answers every POST, PUT, PATCH and DELETE that no with_bounded_body route took with 404 `not_found`, without
/// reading its body, and `Connection: close`. Call it after the listener's routes. cpp-httplib matches
/// content-reader routes before plain ones, so a plain POST route on the same server is never reached: register
/// every POST route with with_bounded_body.
void refuse_unrouted_bodies(httplib::Server& server);

} // namespace deliveryd::daemon
