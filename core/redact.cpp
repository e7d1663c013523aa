#include "core/redact.hpp"

#include <algorithm>
#include <regex>

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

std::string redact_conninfo(const std::string& conninfo) {
  static const std::regex uri{R"(^(postgres(?:ql)?://[^:@/?]*:)[^@/?]*@)"};
  static const std::regex keyword{R"(((?:^|[\s&?])password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*))"};
  auto out = std::regex_replace(conninfo, uri, "$1***@");
  return std::regex_replace(out, keyword, "$1***");
}

std::string conninfo_password(const std::string& conninfo) {
  static const std::regex uri{R"(^postgres(?:ql)?://([^@/?]*)@)"};
  static const std::regex keyword{R"((?:^|[\s&?])password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*))"};
  std::smatch m;
  if (std::regex_search(conninfo, m, uri)) {
    const auto userinfo = m[1].str();
    if (auto colon = userinfo.find(':'); colon != std::string::npos && colon + 1 < userinfo.size())
      return userinfo.substr(colon + 1);
  }
  if (std::regex_search(conninfo, m, keyword)) {
    auto value = m[1].str();
    if (value.size() >= 2 && value.front() == '\'')
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

} // namespace deliveryd::core
