#include "daemon/download_tickets.hpp"

#include "adapters/crypto.hpp"

namespace deliveryd::daemon {

namespace {

std::string key_of(std::string_view ticket) {
  const auto digest = adapters::sha256(ticket);
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

} // namespace

void download_tickets::forget_expired(core::timestamp now) {
  for (auto it = tickets_.begin(); it != tickets_.end();)
    it = it->second.expires <= now ? tickets_.erase(it) : std::next(it);
}

std::optional<std::string> download_tickets::issue(httplib::Params query, core::timestamp now) {
  auto ticket = adapters::random_token(32);
  std::lock_guard lock{mutex_};
  forget_expired(now);
  if (tickets_.size() >= capacity)
    return std::nullopt;
  tickets_[key_of(ticket)] = {std::move(query), now + lifetime};
  return ticket;
}

std::optional<httplib::Params> download_tickets::redeem(std::string_view ticket, core::timestamp now) {
  if (ticket.empty())
    return std::nullopt;
  const auto key = key_of(ticket);
  std::lock_guard lock{mutex_};
  forget_expired(now);
  auto it = tickets_.find(key);
  if (it == tickets_.end())
    return std::nullopt;
  auto query = std::move(it->second.query);
  tickets_.erase(it);
  return query;
}

std::size_t download_tickets::waiting() const {
  std::lock_guard lock{mutex_};
  return tickets_.size();
}

} // namespace deliveryd::daemon
