#pragma once
/// deliveryctl's HTTP: GET requests to the ops listener, whole or streamed, and a sentence for a transport
/// failure ("connection refused") instead of cpp-httplib's error number.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "ctl/endpoint.hpp"

namespace httplib {
class Client;
}

namespace deliveryd::ctl {

/// The daemon could not be asked: `reason` is a short lower-case phrase ("connection refused").
struct transport_error {
  std::string reason;
};

/// An answer of the daemon.
struct http_answer {
  int status = 0;
  std::string body;
};

/// Where a streamed answer goes: `open` is called once with the status before any content (false cancels),
/// `write` with each piece of the body of a 200 (false cancels), `progress` after each piece with the total.
struct download_sink {
  std::function<bool(int status, const std::string& content_disposition)> open;
  std::function<bool(std::string_view piece)> write;
  std::function<void(std::uint64_t received)> progress;
};

/// Percent-encodes a query value or a path segment (every byte but ALPHA / DIGIT / "-._~").
std::string url_encode(std::string_view text);

/// A client of one ops listener, with the bearer token when there is one.
class ops_client {
public:
  /// A client of `endpoint`; `read_timeout_s` bounds each wait for the daemon.
  explicit ops_client(const ops_endpoint& endpoint, int read_timeout_s = 60);
  ~ops_client();
  ops_client(const ops_client&) = delete;
  ops_client& operator=(const ops_client&) = delete;

  /// GET `target` (path and query, already encoded); the whole body.
  std::variant<http_answer, transport_error> get(const std::string& target);

  /// GET `target` streamed into `sink`; the answer's status and, when it was not 200, its body.
  std::variant<http_answer, transport_error> download(const std::string& target, download_sink& sink);

private:
  transport_error describe_failure(int error) const;

  ops_endpoint endpoint_;
  std::unique_ptr<httplib::Client> client_;
};

} // namespace deliveryd::ctl
