#pragma once
/// The rows of a query on an SQLite file, as text: what the tests' and the benchmarks' checks read a ledger with.

#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace deliveryd::testing {

/// The rows `sql` gives on the SQLite database at `path`, opened read-only (waiting up to 10 s for a writer), as
/// text ("<null>" for NULL).
inline std::vector<std::vector<std::string>> sqlite_rows(const std::string& path, const std::string& sql) {
  SQLite::Database db{path, SQLite::OPEN_READONLY};
  db.setBusyTimeout(10000);
  SQLite::Statement q{db, sql};
  std::vector<std::vector<std::string>> rows;
  while (q.executeStep()) {
    auto& row = rows.emplace_back();
    for (int i = 0; i < q.getColumnCount(); ++i)
      row.push_back(q.getColumn(i).isNull() ? "<null>" : q.getColumn(i).getString());
  }
  return rows;
}

} // namespace deliveryd::testing
