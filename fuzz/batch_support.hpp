#pragma once
/// What the targets of JSON-array webhooks (SendGrid events, Kakao pushes, the aggregator's reports) check alike:
/// when a body is refused whole, and how an accepted one accounts for its elements. Header-only; fuzz targets only.

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/common.hpp"
#include "adapters/json_guard.hpp"
#include "fuzz_support.hpp"

namespace deliveryd::fuzz {

/// True when a body may be refused whole: it is not a JSON array (`document` is its lenient parse), or it holds
/// text that JSON cannot carry (json_guard).
inline bool refusable_array(const nlohmann::json& document, std::string_view body) {
  return document.is_discarded() || !document.is_array() || adapters::find_json_text_problem(body);
}

/// An accepted body: a JSON array whose every element is accounted for exactly once, as an event, as an
/// unusable item (each naming its element, with a reason, in order), or as ignored.
inline void check_accounted(const adapters::mapped_batch& batch, const nlohmann::json& document) {
  FUZZ_CHECK(document.is_array());
  FUZZ_CHECK(batch.events.size() + batch.unusable.size() + batch.ignored == document.size());
  for (std::size_t i = 0; i < batch.unusable.size(); ++i) {
    FUZZ_CHECK(batch.unusable[i].index < document.size() && !batch.unusable[i].reason.empty());
    FUZZ_CHECK(i == 0 || batch.unusable[i - 1].index < batch.unusable[i].index);
  }
}

} // namespace deliveryd::fuzz
