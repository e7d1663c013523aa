#include "core/failover.hpp"

namespace deliveryd::core {

send_state logical_state(const send_state& alimtalk, std::span<const send_state> legs) {
  if (alimtalk.current == status::sent)
    return alimtalk;
  for (const auto& leg : legs)
    if (leg.current == status::sent)
      return leg;
  return legs.empty() ? alimtalk : legs.back();
}

} // namespace deliveryd::core
