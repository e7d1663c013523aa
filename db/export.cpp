#include "db/export.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace deliveryd::db {

std::vector<log_row> month_cursor::next(ledger_reader& reader) {
  if (done_)
    return {};
  auto page = reader.ascending(from_, to_, filter_, chunk_, after_);
  after_ = page.next;
  done_ = !page.next;
  return std::move(page.rows);
}

struct prefetching_cursor::state {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::vector<log_row>> ready; ///< the chunk read ahead; an empty one marks the end
  std::exception_ptr error;
  bool stop = false;
  bool ended = false; ///< the consumer has taken the end
  std::thread reading; ///< last: started once everything above exists

  void read(ledger_reader& reader, month_cursor cursor) {
    try {
      for (;;) {
        auto chunk = cursor.next(reader);
        const bool last = chunk.empty();
        std::unique_lock lock{mutex};
        changed.wait(lock, [this] { return stop || !ready; });
        if (stop)
          return;
        ready = std::move(chunk);
        changed.notify_all();
        if (last)
          return;
      }
    } catch (...) {
      std::lock_guard lock{mutex};
      error = std::current_exception();
      changed.notify_all();
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

std::vector<log_row> prefetching_cursor::next() {
  std::unique_lock lock{state_->mutex};
  if (state_->ended)
    return {};
  state_->changed.wait(lock, [this] { return state_->ready || state_->error; });
  if (state_->ready) {
    auto chunk = std::move(*state_->ready);
    state_->ready.reset();
    state_->ended = chunk.empty();
    state_->changed.notify_all();
    return chunk;
  }
  std::rethrow_exception(state_->error);
}

} // namespace deliveryd::db
