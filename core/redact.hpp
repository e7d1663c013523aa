#pragma once
/// Masking for logs: a log line never carries a full contact, nor a database password.

#include <string>
#include <string_view>

namespace deliveryd::core {

/// Masks a phone number or an e-mail address for a log line: "+821012345678" -> "+82******5678",
/// "alice@example.com" -> "a***@example.com". Anything else keeps at most its first two characters.
std::string mask_contact(std::string_view contact);

/// A PostgreSQL connection string (a URI or libpq's keywords) with its password replaced by "***": a URI's
/// `user:password@` and a `password=` keyword or URI parameter.
std::string redact_conninfo(const std::string& conninfo);

/// The password a connection string holds, "" when none.
std::string conninfo_password(const std::string& conninfo);

} // namespace deliveryd::core
