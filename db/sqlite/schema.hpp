#pragma once
/// The ledger's schema: versioned migrations compiled into the binary.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "db/ledger.hpp"
#include "db/write_rules.hpp"

namespace SQLite {
class Database;
}

namespace deliveryd::db::sqlite {

/// SQLite `application_id` of a deliveryd ledger ("DLVD"): a file with another id is not ours.
inline constexpr int application_id = 0x444C5644;

/// The schema version this build writes.
int latest_schema_version() noexcept;

/// The key under which a send is found by its vendor's message id (`sends.message_key`, schema version 5):
/// db::vendor_message_key (db/write_rules.hpp). Stored in the ledger: never change it without a migration.
using db::vendor_message_key;

/// Fills the empty `sources` table (schema v7) from the sends: each month's campaigns and one-time messages, their
/// logical sends and the name of the latest send registered with one. Run with `sends.day` in the configured zone.
extern const char* const sources_recount_sql;

/// Brings a freshly opened writer connection to the latest schema in one transaction per migration (a
/// migration that rewrites every send commits in steps, and resumes where it stopped after a crash).
/// Refuses (returns a sentence) a file that belongs to another application, or that was written by a newer
/// deliveryd. Throws SQLite::Exception on I/O errors.
std::optional<std::string> migrate(SQLite::Database& db, const progress_report& progress = {});

} // namespace deliveryd::db::sqlite
