#pragma once
/// Twilio's Message resource: one GET per message with HTTP Basic auth. Blocking.

#include <string>

#include "adapters/common.hpp"

namespace deliveryd::adapters::twilio {

/// Where and as whom to fetch messages.
struct client_config {
  std::string api_base;    ///< "https://api.twilio.com", a fake vendor in tests
  std::string account_sid;
  std::string auth_token;  ///< secret: never logged
};

/// Fetches one message: 200 mapped through parse_message (with its price); 404 not_found; anything else, or
/// no answer, an error.
fetch_result fetch_message(const client_config& cfg, const std::string& sid, core::timestamp now);

} // namespace deliveryd::adapters::twilio
