#pragma once
/// The PostgreSQL ledger's schema: versioned migrations, run once for the group of daemons under an advisory
/// lock by the first daemon of a new version; a daemon refuses a schema newer than it knows.

#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "core/time.hpp"
#include "db/ledger.hpp"

namespace deliveryd::db::postgresql {

/// The schema version this build writes.
int latest_schema_version() noexcept;

/// Keys of the advisory locks the daemons of one ledger share.
inline constexpr long long migration_lock = 0x64656c6976657279;   ///< migrations and zone recounts
inline constexpr long long purge_lock = 0x64656c6976657270;       ///< the purge: one daemon at a time
inline constexpr long long copy_lock = 0x64656c6976657263;        ///< deliveryctl copy-ledger: one copy at a time
inline constexpr int message_lock = 0x64656c6d; ///< with a slot: messages held and registered (message_slots)
inline constexpr std::int64_t message_slots = 256;
inline constexpr int fetch_lock = 0x64656c66; ///< with a vendor's hash: its account's fetch limits, one claim at a time

/// Creates or upgrades the schema and counts the roll-ups' days in `zone`; waits while another daemon does.
/// Returns why the database must not be used (a foreign database, a newer schema, a copy from an SQLite ledger
/// that has not finished: db/copy_ledger.hpp), nullopt when it is ready.
/// Throws what libpqxx throws.
std::optional<std::string> migrate(pqxx::connection& c, const core::zone& zone, const progress_report& progress);

/// The schema version of a ready database (0 when it has no deliveryd schema). Throws what libpqxx throws.
int schema_version(pqxx::connection& c);

} // namespace deliveryd::db::postgresql
