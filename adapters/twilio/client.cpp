#include "adapters/twilio/client.hpp"

#include "adapters/http_get.hpp"
#include "adapters/twilio/poll.hpp"

namespace deliveryd::adapters::twilio {

fetch_result fetch_message(const client_config& cfg, const std::string& sid, core::timestamp now) {
  auto answer = http_get(cfg.api_base, message_path(cfg.account_sid, sid),
                         {{"Authorization", basic_auth(cfg.account_sid, cfg.auth_token)},
                          {"Accept", "application/json"}});
  if (auto failed = failed_fetch(answer))
    return *failed;
  fetch_result out;
  auto parsed = parse_message(answer.body, now);
  if (auto* bad = std::get_if<bad_message>(&parsed)) {
    out.detail = bad->detail;
    return out;
  }
  auto& msg = std::get<message_result>(parsed);
  out.price = msg.price.value_or("");
  out.price_unit = msg.price_unit.value_or("");
  if (msg.what == disposition::ignore) {
    out.outcome = core::poll_outcome::pending;
    return out;
  }
  const auto status = msg.result.event.outcome;
  out.outcome = status == core::status::sent || status == core::status::failed ? core::poll_outcome::final_result
                : status == core::status::uncertain                           ? core::poll_outcome::uncertain
                                                                              : core::poll_outcome::pending;
  msg.result.vendor_message_id = sid;
  out.event = std::move(msg.result);
  return out;
}

} // namespace deliveryd::adapters::twilio
