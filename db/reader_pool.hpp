#pragma once
/// Lends read connections of the ledger (whatever its back end) to threads, and opens one more when all are in
/// use; a connection goes back to the pool when its lease ends.

#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "db/ledger.hpp"

namespace deliveryd::db {

/// A pool of read connections.
class reader_pool {
public:
  /// Opens a new connection.
  using opener = std::function<result<std::unique_ptr<ledger_reader>>()>;

  /// A pool of connections that `open` makes.
  explicit reader_pool(opener open) : open_{std::move(open)} {}
  /// A pool of connections to the ledger of `options` (db::open_reader).
  explicit reader_pool(ledger_options options)
    : open_{[options = std::move(options)] { return open_reader(options); }} {}

  /// A connection for the caller's exclusive use until the lease ends.
  class lease {
  public:
    lease(reader_pool* pool, std::unique_ptr<ledger_reader> reader) : pool_{pool}, reader_{std::move(reader)} {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) noexcept = default;
    ~lease();
    /// The borrowed connection.
    ledger_reader& operator*() const noexcept { return *reader_; }
    /// The borrowed connection.
    ledger_reader* operator->() const noexcept { return reader_.get(); }

  private:
    reader_pool* pool_;
    std::unique_ptr<ledger_reader> reader_;
  };

  /// Borrows a connection; an error when none can be opened.
  result<lease> acquire();

  /// Runs `read(connection)` on a borrowed connection and gives its result, or the error of borrowing one.
  template <class Read>
  auto read(Read&& read) -> std::invoke_result_t<Read, ledger_reader&> {
    auto borrowed = acquire();
    if (!borrowed)
      return borrowed.error();
    return read(**borrowed);
  }

private:
  opener open_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<ledger_reader>> idle_;
};

} // namespace deliveryd::db
