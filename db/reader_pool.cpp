#include "db/reader_pool.hpp"

namespace deliveryd::db {

reader_pool::lease::~lease() {
  if (pool_ && reader_) {
    std::lock_guard lock{pool_->mutex_};
    pool_->idle_.push_back(std::move(reader_));
  }
}

result<reader_pool::lease> reader_pool::acquire() {
  {
    std::lock_guard lock{mutex_};
    if (!idle_.empty()) {
      auto reader = std::move(idle_.back());
      idle_.pop_back();
      return lease{this, std::move(reader)};
    }
  }
  auto opened = open_();
  if (!opened)
    return opened.error();
  return lease{this, std::move(*opened)};
}

} // namespace deliveryd::db
