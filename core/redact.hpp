#pragma once
/// Masking for logs: a log line never carries a full contact.

#include <string>
#include <string_view>

namespace deliveryd::core {

/// Masks a phone number or an e-mail address for a log line: "+821012345678" -> "+82******5678",
/// "alice@example.com" -> "a***@example.com". Anything else keeps at most its first two characters.
std::string mask_contact(std::string_view contact);

} // namespace deliveryd::core
