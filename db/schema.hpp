#pragma once
/// The ledger's schema: versioned migrations compiled into the binary.

#include <optional>
#include <string>

namespace SQLite {
class Database;
}

namespace deliveryd::db {

/// SQLite `application_id` of a deliveryd ledger ("DLVD"): a file with another id is not ours.
inline constexpr int application_id = 0x444C5644;

/// The schema version this build writes.
int latest_schema_version() noexcept;

/// Brings a freshly opened writer connection to the latest schema in one transaction per migration.
/// Refuses (returns a sentence) a file that belongs to another application, or that was written by a newer
/// deliveryd. Throws SQLite::Exception on I/O errors.
std::optional<std::string> migrate(SQLite::Database& db);

} // namespace deliveryd::db
