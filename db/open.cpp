// Opening the ledger: the one place that knows which back ends exist.
#include "db/ledger.hpp"
#include "db/postgresql/backend.hpp"
#include "db/sqlite/backend.hpp"

namespace deliveryd::db {

result<std::unique_ptr<ledger_writer>> open_writer(const ledger_options& options) {
  switch (options.kind) {
    case backend::sqlite:
      return sqlite::open_writer(options);
    case backend::postgresql:
      return postgresql::open_writer(options);
  }
  return ledger_error{fault::corrupt, "unknown storage back end"};
}

result<std::unique_ptr<ledger_reader>> open_reader(const ledger_options& options) {
  switch (options.kind) {
    case backend::sqlite:
      return sqlite::open_reader(options);
    case backend::postgresql:
      return postgresql::open_reader(options);
  }
  return ledger_error{fault::corrupt, "unknown storage back end"};
}

} // namespace deliveryd::db
