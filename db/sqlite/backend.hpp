#pragma once
/// The SQLite back end behind the storage interface (db/ledger.hpp): db::open_writer and db::open_reader come
/// here for backend::sqlite. Only db/ includes this.

#include <memory>

#include "db/ledger.hpp"

namespace deliveryd::db::sqlite {

/// Opens (creating and migrating) the SQLite ledger at options.path for writing.
result<std::unique_ptr<ledger_writer>> open_writer(const ledger_options& options);

/// Opens a read connection of the SQLite ledger at options.path.
result<std::unique_ptr<ledger_reader>> open_reader(const ledger_options& options);

} // namespace deliveryd::db::sqlite
