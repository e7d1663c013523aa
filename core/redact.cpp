#include "core/redact.hpp"

#include <algorithm>

namespace deliveryd::core {

std::string mask_contact(std::string_view contact) {
  if (auto at = contact.find('@'); at != std::string_view::npos)
    return std::string{contact.substr(0, at > 0 ? 1 : 0)} + "***" + std::string{contact.substr(at)};
  if (contact.size() >= 8 && contact.front() == '+') {
    const auto keep_tail = std::size_t{4};
    const auto keep_head = std::size_t{3};
    return std::string{contact.substr(0, keep_head)} + std::string(contact.size() - keep_head - keep_tail, '*')
           + std::string{contact.substr(contact.size() - keep_tail)};
  }
  return std::string{contact.substr(0, std::min<std::size_t>(2, contact.size()))} + "***";
}

} // namespace deliveryd::core
