#pragma once
/// Blocking outbound GET for the polling clients. Call it from a worker thread, never from an actor on
/// CAF's cooperative scheduler. Each thread keeps one keep-alive connection per base URL.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/common.hpp"

namespace deliveryd::adapters {

/// The answer to one GET: an HTTP status with its body, or status 0 and a sentence when no answer came.
struct http_answer {
  int status = 0;
  std::string body;
  std::string error; ///< why no answer came (connect/read time-out, refused, TLS)
};

/// Time-outs of an outbound request.
struct http_timeouts {
  std::chrono::seconds connect{5};
  std::chrono::seconds read{10};
};

/// GETs `base` + `path_with_query` with the given headers.
http_answer http_get(const std::string& base, const std::string& path_with_query,
                     const std::vector<std::pair<std::string, std::string>>& headers, http_timeouts timeouts = {});

/// What a status fetch found when the answer is not a 200: not_found for 404, an error (with a sentence)
/// for no answer or any other status; nullopt for a 200, whose body the vendor's parser reads.
std::optional<fetch_result> failed_fetch(const http_answer& answer);

} // namespace deliveryd::adapters
