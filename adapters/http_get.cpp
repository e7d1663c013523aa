#include "adapters/http_get.hpp"

#include <map>
#include <memory>

#include <httplib.h>

namespace deliveryd::adapters {

http_answer http_get(const std::string& base, const std::string& path_with_query,
                     const std::vector<std::pair<std::string, std::string>>& headers, http_timeouts timeouts) {
  // One client per worker thread and base: httplib::Client is not shared between threads, and keeping it
  // keeps the connection (and its TLS session) alive between polls.
  thread_local std::map<std::string, std::unique_ptr<httplib::Client>> clients;
  auto& client = clients[base];
  if (!client) {
    client = std::make_unique<httplib::Client>(base);
    client->set_connection_timeout(timeouts.connect);
    client->set_read_timeout(timeouts.read);
    client->set_write_timeout(timeouts.read);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
  }
  httplib::Headers h;
  for (const auto& [name, value] : headers)
    h.emplace(name, value);
  auto res = client->Get(path_with_query, h);
  if (!res)
    return {0, {}, httplib::to_string(res.error())};
  return {res->status, std::move(res->body), {}};
}

std::optional<fetch_result> failed_fetch(const http_answer& answer) {
  fetch_result out;
  if (answer.status == 200)
    return std::nullopt;
  if (answer.status == 404)
    out.outcome = core::poll_outcome::not_found;
  else if (answer.status == 0)
    out.detail = "no answer: " + answer.error;
  else
    out.detail = "HTTP " + std::to_string(answer.status);
  return out;
}

} // namespace deliveryd::adapters
