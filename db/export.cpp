#include "db/export.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace deliveryd::db {

result<std::vector<log_row>> month_cursor::next(ledger_reader& reader) {
  if (done_)
    return std::vector<log_row>{};
  auto page = reader.ascending(from_, to_, filter_, chunk_, after_);
  if (!page)
    return page.error();
  after_ = page->next;
  done_ = !page->next;
  return std::move(page->rows);
}

struct prefetching_cursor::state {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::vector<log_row>> ready; ///< the chunk read ahead; an empty one marks the end
  std::optional<ledger_error> error;
  bool stop = false;
  bool ended = false; ///< the consumer has taken the end
  std::thread reading; ///< last: started once everything above exists

  /// Reads `cursor` to its end, or to the first error, which next() then gives. What is thrown on the way (no
  /// memory) is such an error too: nothing may escape this thread.
  void read(ledger_reader& reader, month_cursor cursor) {
    try {
      read_all(reader, cursor);
    } catch (const std::exception& e) {
      std::lock_guard lock{mutex};
      error = ledger_error{fault::unavailable, e.what()};
      changed.notify_all();
    }
  }

  void read_all(ledger_reader& reader, month_cursor& cursor) {
    for (;;) {
      auto chunk = cursor.next(reader);
      std::unique_lock lock{mutex};
      if (!chunk) {
        error = chunk.error();
        changed.notify_all();
        return;
      }
      const bool last = chunk->empty();
      changed.wait(lock, [this] { return stop || !ready; });
      if (stop)
        return;
      ready = std::move(*chunk);
      changed.notify_all();
      if (last)
        return;
    }
  }
};

prefetching_cursor::prefetching_cursor(ledger_reader& reader, month_cursor cursor)
  : state_{std::make_unique<state>()} {
  state_->reading = std::thread{[s = state_.get(), &reader, c = std::move(cursor)]() mutable {
    s->read(reader, std::move(c));
  }};
}

prefetching_cursor::~prefetching_cursor() {
  {
    std::lock_guard lock{state_->mutex};
    state_->stop = true;
  }
  state_->changed.notify_all();
  state_->reading.join();
}

result<std::vector<log_row>> prefetching_cursor::next() {
  std::unique_lock lock{state_->mutex};
  if (state_->ended)
    return std::vector<log_row>{};
  state_->changed.wait(lock, [this] { return state_->ready || state_->error; });
  if (state_->ready) {
    auto chunk = std::move(*state_->ready);
    state_->ready.reset();
    state_->ended = chunk.empty();
    state_->changed.notify_all();
    return chunk;
  }
  return *state_->error;
}

} // namespace deliveryd::db
