#pragma once
/// The Kakao dealer's result API (NAVER Cloud SENS style): one signed GET per message. Blocking.

#include <string>

#include "adapters/common.hpp"
#include "core/time.hpp"

namespace deliveryd::adapters::kakao {

/// Where and as whom to fetch results.
struct client_config {
  std::string api_base;   ///< scheme://host[:port][/prefix]
  std::string service_id;
  std::string access_key;
  std::string secret_key; ///< secret: never logged
  core::zone zone;        ///< the zone of SENS's local times
};

/// Fetches the result of one message: 200 mapped through parse_poll_response; 404 not_found; anything else,
/// or no answer, an error.
fetch_result fetch_result_of(const client_config& cfg, const std::string& message_id, core::timestamp now);

} // namespace deliveryd::adapters::kakao
