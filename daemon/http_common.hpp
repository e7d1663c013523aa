#pragma once
/// What both listeners share: JSON errors, waiting for an actor's answer, listener set-up.

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>

#include "actors/backlog.hpp"
#include "daemon/task_pool.hpp"

namespace deliveryd::daemon {

/// How long a listener thread waits for an actor before answering 503.
inline constexpr std::chrono::seconds actor_timeout{30};

/// Seconds a 503 asks the client to wait: a failing disk is not back in a second.
inline constexpr int storage_retry_after_s = 5;
/// Seconds a 503 overloaded asks the client to wait: the backlog drains in about a second.
inline constexpr int overload_retry_after_s = 1;

/// Writes the contract's error shape `{"error": word, "detail": sentence}` with `status`; 503 adds
/// `Retry-After: retry_after_s`.
void send_error(httplib::Response& res, int status, std::string_view word, std::string_view detail,
                int retry_after_s = storage_retry_after_s);

/// Answers 503 overloaded (with a short Retry-After) when `gate` is set and full, counting the refusal; false
/// otherwise. Listeners call it before reading a request's content, so that a burst costs little per refusal.
/// With a `wait`, a full gate is given that long to make room first (backlog::wait_for_room).
bool refuse_when_full(actors::backlog* gate, httplib::Response& res,
                      actors::backlog::source who = actors::backlog::source::vendor,
                      std::chrono::milliseconds wait = std::chrono::milliseconds{0});

/// 503 stopping, with `Connection: close`: the listener's stop budget ended before the request was read whole.
void send_stopping(httplib::Response& res);

/// 503 overloaded with the backlog's figures.
void send_overloaded(httplib::Response& res, const actors::backlog& gate);

/// Writes a JSON body with `status`.
void send_json(httplib::Response& res, int status, const std::string& body);

/// A callback for a job's `done` and the future it fills: the actor calls the callback from its thread, the
/// listener thread waits on the future.
template <class T>
std::pair<std::function<void(T)>, std::future<T>> make_reply() {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  return {[promise](T value) { promise->set_value(std::move(value)); }, std::move(future)};
}

/// Waits for a future up to the actor timeout; nullopt when it did not come.
template <class T>
std::optional<T> await(std::future<T>& future) {
  if (future.wait_for(actor_timeout) != std::future_status::ready)
    return std::nullopt;
  return future.get();
}

/// host and port of a "host:port" listen address (already validated by the config).
struct listen_address {
  std::string host;
  int port = 0;
};

/// Splits "host:port" (IPv6 hosts in brackets).
std::optional<listen_address> split_listen(std::string_view text);

/// The webhooks listener's threads: 64 kept (the benchmarks' 32 keep-alive vendor connections never wait for a
/// thread to start), up to 256 so that slow or stalled senders each hold one without delaying anyone (memory at
/// worst: 256 request bodies of [webhooks] max_body_bytes). Idle keep-alive connections hold none (idle_watch).
inline constexpr pool_limits webhooks_threads{64, 256, std::chrono::seconds{30}, "http-webhooks"};
/// The ops listener's threads: intake clients and queries are few, but a stuck client must not block them either.
inline constexpr pool_limits ops_threads{16, 256, std::chrono::seconds{30}, "http-ops"};

/// Applies the settings both listeners use: TCP_NODELAY, time-outs, body limit, JSON bodies for errors the library
/// produces itself (413, 404), and a JSON 500 for any escaped exception. Keep-alive and the thread pool are the
/// http_server's (daemon/http_server.hpp).
void configure_server(httplib::Server& server, std::size_t max_body_bytes);

/// Binds `server` to host:port like httplib's bind_to_port, then widens the socket's accept queue from the 5
/// connections compiled into Debian's cpp-httplib to the kernel's limit (SOMAXCONN): with 5, a burst of vendor
/// connections loses SYNs, and each lost one costs the vendor a 1 s retransmission. False when it cannot bind.
bool bind_listener(httplib::Server& server, const std::string& host, int port);

/// `text` without the spaces and tabs around it.
std::string_view trim_blanks(std::string_view text);

/// Calls `each(item)` for every comma-separated item of a header's value, trimmed (empty items included).
template <class Each>
void for_each_item(std::string_view list, Each&& each) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    each(trim_blanks(list.substr(0, comma)));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
}

/// An Accept-Encoding value without its `br` items ("gzip, deflate, br, zstd" -> "gzip, deflate, zstd").
std::string without_brotli(std::string_view accept_encoding);

/// Hides brotli from cpp-httplib for this request, so that it compresses an answer with gzip. It picks brotli
/// whenever a client accepts it (every browser does), at brotli's slowest quality, 11, which it offers no way to
/// change: 0.6 s of CPU for a 1,000-row day page (300 KB of JSON) against 3 ms for gzip, and 40 ms for a month's
/// sources. Called first by every listener's pre-routing handler (set_pre_routing). The request is cpp-httplib's
/// own object, passed const only by the handler's signature, so writing its header is well defined.
void hide_brotli(const httplib::Request& req);

/// Sets `server`'s pre-routing handler to hide_brotli, then `handler` (when set). Listeners set theirs through
/// this, never with set_pre_routing_handler, which would drop hide_brotli.
void set_pre_routing(httplib::Server& server, httplib::Server::HandlerWithResponse handler = {});

/// The first value of a header, or "" when absent.
std::string header(const httplib::Request& req, const char* name);

} // namespace deliveryd::daemon
