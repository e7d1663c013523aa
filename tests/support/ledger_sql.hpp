#pragma once
/// SQL on a test's ledger through a connection of the test's own, on either back end: the SQLite file at `path`,
/// or, when the tests run on PostgreSQL (on_postgresql()), the shared cluster's database that stands for `path`.
/// For the ledger tests' fixture and the integration harness alike.

#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "postgres_cluster.hpp"
#include "sqlite_rows.hpp"

namespace deliveryd::testing {

/// The rows `sql` gives on the ledger at `path`, as text ("<null>" for NULL).
inline std::vector<std::vector<std::string>> ledger_query(const std::string& path, const std::string& sql) {
  if (on_postgresql())
    return pg_query(shared_database(path), sql);
  return sqlite_rows(path, sql);
}

/// Runs `sql` (statements without rows) on the ledger at `path`.
inline void ledger_command(const std::string& path, const std::string& sql) {
  if (on_postgresql()) {
    pg_query(shared_database(path), sql);
    return;
  }
  SQLite::Database db{path, SQLite::OPEN_READWRITE};
  db.setBusyTimeout(10000);
  db.exec(sql);
}

} // namespace deliveryd::testing
