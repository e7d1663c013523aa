#include "db/reader_pool.hpp"

namespace deliveryd::db {

reader_pool::lease::~lease() {
  if (pool_ && reader_) {
    {
      std::lock_guard lock{pool_->mutex_};
      pool_->idle_.push_back(std::move(reader_));
    }
    pool_->returned_.notify_one();
  }
}

result<reader_pool::lease> reader_pool::acquire() {
  {
    std::unique_lock lock{mutex_};
    const bool free = returned_.wait_for(lock, wait_, [&] {
      return !idle_.empty() || limit_ == 0 || open_count_ < limit_;
    });
    if (!free)
      return ledger_error{fault::unavailable, "all " + std::to_string(limit_)
                                                + " read connections of the ledger stayed busy for "
                                                + std::to_string(wait_.count()) + " ms ([storage] pool)"};
    if (!idle_.empty()) {
      auto reader = std::move(idle_.back());
      idle_.pop_back();
      return lease{this, std::move(reader)};
    }
    ++open_count_;
  }
  auto opened = open_();
  if (!opened) {
    {
      std::lock_guard lock{mutex_};
      --open_count_;
    }
    returned_.notify_one();
    return opened.error();
  }
  return lease{this, std::move(*opened)};
}

} // namespace deliveryd::db
