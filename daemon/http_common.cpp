#include "daemon/http_common.hpp"

#include <charconv>
#include <memory>

#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/webhook_support.hpp"
#include "daemon/http_server.hpp"

namespace deliveryd::daemon {

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void send_error(httplib::Response& res, int status, std::string_view word, std::string_view detail,
                int retry_after_s) {
  nlohmann::json body{{"error", word}, {"detail", detail}};
  if (status == 503)
    res.set_header("Retry-After", std::to_string(retry_after_s));
  send_json(res, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void send_stopping(httplib::Response& res) {
  send_error(res, 503, "stopping",
             "deliveryd is stopping and could not read the whole request in time; nothing of it was stored, send "
             "it again",
             overload_retry_after_s);
  res.set_header("Connection", "close");
}

void send_overloaded(httplib::Response& res, const actors::backlog& gate) {
  send_error(res, 503, "overloaded", actors::overloaded_detail(gate), overload_retry_after_s);
}

bool refuse_when_full(actors::backlog* gate, httplib::Response& res, actors::backlog::source who,
                      std::chrono::milliseconds wait) {
  if (!gate || (wait.count() > 0 ? gate->wait_for_room(wait, who) : !gate->full(who)))
    return false;
  gate->refused();
  send_overloaded(res, *gate);
  return true;
}

std::optional<listen_address> split_listen(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::nullopt;
  listen_address out;
  out.host = std::string{text.substr(0, colon)};
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  auto port = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (ec != std::errc{} || end != port.data() + port.size() || out.port < 1 || out.port > 65535)
    return std::nullopt;
  return out;
}

void configure_server(httplib::Server& server, std::size_t max_body_bytes) {
  server.set_tcp_nodelay(true); // off by default in the .so: 40 ms Nagle stalls on keep-alive connections
  server.set_read_timeout(10, 0);
  server.set_write_timeout(10, 0);
  server.set_payload_max_length(max_body_bytes);
  set_pre_routing(server);
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty())
      return;
    // httplib stopped reading this request midway (a header line over 8 KiB, a bad request line, a body cut
    // short, a URI over 8 KiB): what is left on the connection must not be read as the next request.
    if (res.status == 400 || res.status == 414)
      res.set_header("Connection", "close");
    if (res.status == 400 && http_server::stopping_here())
      return send_stopping(res); // the stop budget cut the request short: not the client's fault
    switch (res.status) {
      case 404: send_error(res, 404, "not_found", "there is no such resource here"); break;
      case 413: send_error(res, 413, "body_too_large", "the request body is larger than this listener accepts"); break;
      case 414: send_error(res, 414, "uri_too_long", "the request line is longer than 8 KiB"); break;
      case 400:
        send_error(res, 400, "malformed", "the request could not be read (a malformed request line or header, a "
                                          "header line over 8 KiB, or a body cut short)");
        break;
      default: send_error(res, res.status, "error", "the request failed"); break;
    }
  });
  server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    try {
      if (ep)
        std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      spdlog::error("http handler_exception: {} {}: {}", req.method, req.path, e.what());
    } catch (...) {
      spdlog::error("http handler_exception: {} {}", req.method, req.path);
    }
    send_error(res, 500, "internal", "deliveryd failed to handle this request; it has been logged");
  });
}

bool bind_listener(httplib::Server& server, const std::string& host, int port) {
  // httplib creates the socket (one per address it tries) and binds it; the options hook sees each one, and
  // the last one it saw is the one that was bound. Its default options set SO_REUSEPORT, which lets a second
  // deliveryd bind the same address and take half of the connections: SO_REUSEADDR alone (a restart may still
  // bind while the last run's connections are in TIME_WAIT) makes that second one fail to start instead.
  auto bound = std::make_shared<int>(-1);
  server.set_socket_options([bound](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *bound = sock;
  });
  if (!server.bind_to_port(host.c_str(), port))
    return false;
  if (*bound >= 0 && ::listen(*bound, SOMAXCONN) != 0)
    spdlog::warn("http backlog_unchanged: the accept queue stays at httplib's 5 connections");
  return true;
}

std::string_view trim_blanks(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos)
    return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string without_brotli(std::string_view accept_encoding) {
  std::string out;
  for_each_item(accept_encoding, [&](std::string_view item) {
    // cpp-httplib looks for the letters "br" anywhere in the value: no item that holds them may stay.
    if (item.empty() || item.find("br") != std::string_view::npos)
      return;
    if (!out.empty())
      out += ", ";
    out.append(item);
  });
  return out;
}

void hide_brotli(const httplib::Request& req) {
  auto& headers = const_cast<httplib::Request&>(req).headers;
  auto [first, last] = headers.equal_range("Accept-Encoding"); // the header's name in any case
  for (auto it = first; it != last; ++it)
    if (it->second.find("br") != std::string::npos)
      it->second = without_brotli(it->second);
}

void set_pre_routing(httplib::Server& server, httplib::Server::HandlerWithResponse handler) {
  server.set_pre_routing_handler([handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    hide_brotli(req);
    return handler ? handler(req, res) : httplib::Server::HandlerResponse::Unhandled;
  });
}

std::string header(const httplib::Request& req, const char* name) {
  return req.has_header(name) ? req.get_header_value(name) : std::string{};
}

} // namespace deliveryd::daemon
