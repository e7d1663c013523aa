#pragma once
/// Lends read connections of the ledger (whatever its back end) to threads, and opens one more when all are in
/// use; a connection goes back to the pool when its lease ends.

#include <functional>
#include <memory>
#include <chrono>
#include <condition_variable>
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

  /// A pool of connections that `open` makes; at most `limit` at once (0: no limit), a borrower beyond it waits
  /// up to `wait` for one to come back.
  explicit reader_pool(opener open, std::size_t limit = 0, std::chrono::milliseconds wait = std::chrono::seconds{5})
    : open_{std::move(open)}, limit_{limit}, wait_{wait} {}
  /// A pool of connections to the ledger of `options` (db::open_reader), at most `limit` at once (0: no limit).
  explicit reader_pool(ledger_options options, std::size_t limit = 0)
    : reader_pool{[options = std::move(options)] { return open_reader(options); }, limit} {}

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

  /// Borrows a connection; an error when none can be opened, or all `limit` stay busy for `wait`.
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
  std::size_t limit_;
  std::chrono::milliseconds wait_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::size_t open_count_ = 0; ///< connections open, idle or lent (or being opened)
  std::vector<std::unique_ptr<ledger_reader>> idle_;
};

} // namespace deliveryd::db
