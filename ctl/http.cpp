#include "ctl/http.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

namespace deliveryd::ctl {

namespace {

std::string lower_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z')
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

/// Connects once more, by hand, to learn why cpp-httplib could not ("connection refused", "no route to host").
std::string why_connect_fails(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return lower_first(::gai_strerror(rc));
  std::string why = "connection failed";
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      why = lower_first(std::strerror(errno));
      continue;
    }
    int error = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 2000) == 1) {
          socklen_t length = sizeof error;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        } else {
          error = ETIMEDOUT;
        }
      }
    }
    ::close(fd);
    if (error == 0) { // it answers now: the daemon came up meanwhile, or dropped the request itself
      why = "connection failed";
      break;
    }
    why = lower_first(std::strerror(error));
  }
  ::freeaddrinfo(found);
  return why;
}

} // namespace

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'
        || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

ops_client::ops_client(const ops_endpoint& endpoint, int read_timeout_s)
  : endpoint_{endpoint}, client_{std::make_unique<httplib::Client>(endpoint.host, endpoint.port)} {
  client_->set_connection_timeout(5, 0);
  client_->set_read_timeout(read_timeout_s, 0);
  client_->set_write_timeout(30, 0);
  client_->set_tcp_nodelay(true);
  client_->set_url_encode(false); // targets are encoded by the caller
  client_->set_default_headers({{"User-Agent", "deliveryctl"}});
  if (endpoint.token)
    client_->set_bearer_token_auth(*endpoint.token);
}

ops_client::~ops_client() = default;

transport_error ops_client::describe_failure(int error) const {
  switch (static_cast<httplib::Error>(error)) {
    case httplib::Error::Connection: return {why_connect_fails(endpoint_.host, endpoint_.port)};
    case httplib::Error::ConnectionTimeout: return {"connection timed out"};
    case httplib::Error::Read: return {"no answer: the connection was closed or timed out"};
    case httplib::Error::Write: return {"the request could not be sent"};
    case httplib::Error::Canceled: return {"canceled"};
    default: return {httplib::to_string(static_cast<httplib::Error>(error))};
  }
}

std::variant<http_answer, transport_error> ops_client::get(const std::string& target) {
  auto res = client_->Get(target);
  if (!res)
    return describe_failure(static_cast<int>(res.error()));
  return http_answer{res->status, res->body};
}

std::variant<http_answer, transport_error> ops_client::download(const std::string& target, download_sink& sink) {
  int status = 0;
  std::string error_body;
  std::uint64_t received = 0;
  auto res = client_->Get(
    target,
    [&](const httplib::Response& head) {
      status = head.status;
      const auto disposition =
        head.has_header("Content-Disposition") ? head.get_header_value("Content-Disposition") : std::string{};
      return sink.open(status, disposition);
    },
    [&](const char* data, std::size_t length) {
      if (status != 200) { // an error's JSON: small, kept for the message
        if (error_body.size() < 64 * 1024)
          error_body.append(data, length);
        return true;
      }
      if (!sink.write({data, length}))
        return false;
      received += length;
      if (sink.progress)
        sink.progress(received);
      return true;
    });
  if (!res)
    return describe_failure(static_cast<int>(res.error()));
  return http_answer{res->status, status == 200 ? std::string{} : std::move(error_body)};
}

} // namespace deliveryd::ctl
