#pragma once
/// The PostgreSQL back end behind the storage interface (db/ledger.hpp): db::open_writer and db::open_reader
/// come here for backend::postgresql. Only db/ includes this.

#include <memory>

#include "db/ledger.hpp"

namespace deliveryd::db::postgresql {

/// Connects to options.postgresql.url, creates or migrates the schema (under an advisory lock shared by every
/// daemon of the ledger) and returns the writer.
result<std::unique_ptr<ledger_writer>> open_writer(const ledger_options& options);

/// Opens a read connection of the shared ledger; it reconnects by itself after the server comes back.
result<std::unique_ptr<ledger_reader>> open_reader(const ledger_options& options);

} // namespace deliveryd::db::postgresql
