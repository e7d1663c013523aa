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

namespace deliveryd::daemon {

/// How long a listener thread waits for an actor before answering 503.
inline constexpr std::chrono::seconds actor_timeout{30};

/// Writes the contract's error shape `{"error": word, "detail": sentence}` with `status`; 503 adds Retry-After.
void send_error(httplib::Response& res, int status, std::string_view word, std::string_view detail);

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

/// Applies the settings both listeners use: TCP_NODELAY, keep-alive, time-outs, body limit, a thread pool,
/// JSON bodies for errors the library produces itself (413, 404), and a JSON 500 for any escaped exception.
void configure_server(httplib::Server& server, std::size_t max_body_bytes, std::size_t threads);

/// Binds `server` to host:port like httplib's bind_to_port, then widens the socket's accept queue from the 5
/// connections compiled into Debian's cpp-httplib to the kernel's limit (SOMAXCONN): with 5, a burst of vendor
/// connections loses SYNs, and each lost one costs the vendor a 1 s retransmission. False when it cannot bind.
bool bind_listener(httplib::Server& server, const std::string& host, int port);

/// The first value of a header, or "" when absent.
std::string header(const httplib::Request& req, const char* name);

} // namespace deliveryd::daemon
