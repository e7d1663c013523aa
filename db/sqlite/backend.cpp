// The SQLite back end at the storage interface: the store and the reader throw as SQLiteCpp does, and every
// call is guarded here, so that what crosses the interface is a value or a ledger_error. A writer's error is
// put in words (explain) before anything else touches the connection: it reads the OS error of the failure.
#include "db/sqlite/backend.hpp"

#include <cerrno>
#include <system_error>
#include <type_traits>

#include "db/sqlite/reader.hpp"
#include "db/sqlite/store.hpp"

namespace deliveryd::db::sqlite {

namespace {

/// The result of `call()`, or the error it threw in `explain`'s words.
template <class Call, class Explain>
auto guarded(Call&& call, Explain&& explain) -> result<std::invoke_result_t<Call>> {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Call>>) {
      call();
      return {};
    } else {
      return call();
    }
  } catch (const std::exception& e) {
    return explain(e);
  }
}

/// An fdatasync that failed, in words: the disk's error, and what it means for what was committed.
ledger_error sync_failure(const std::exception& e) {
  const auto* os = dynamic_cast<const std::system_error*>(&e);
  const bool full = os && (os->code().value() == ENOSPC || os->code().value() == EDQUOT);
  ledger_error error{full ? fault::full : fault::unavailable, e.what()};
  error.durability_lost = true;
  return error;
}

class writer final : public ledger_writer {
public:
  explicit writer(std::unique_ptr<ledger_store> store) : store_{std::move(store)} {}

  result<void> begin() override {
    return run([&] { store_->begin(); });
  }
  result<void> commit() override {
    return run([&] { store_->commit(); });
  }
  void rollback() noexcept override { store_->rollback(); }
  durability sync_mode() const noexcept override { return store_->sync_mode(); }
  result<void> make_durable() override {
    if (store_->sync_mode() != durability::after_sync)
      return {};
    return guarded([&] { store_->sync_wal(); }, sync_failure);
  }
  result<intake_outcome> register_sends(const std::vector<adapters::intake::send_request>& sends,
                                        std::vector<adapters::intake::rejection> rejected,
                                        core::timestamp now) override {
    return run([&] { return store_->register_sends(sends, std::move(rejected), now); });
  }
  result<events_outcome> apply_events(const std::vector<vendor_event>& events, core::timestamp now) override {
    return run([&] { return store_->apply_events(events, now); });
  }
  result<events_outcome> apply_polls(const std::vector<poll_update>& polls, core::timestamp now) override {
    return run([&] { return store_->apply_polls(polls, now); });
  }
  result<deadline_outcome> fire_deadlines(core::timestamp now, std::size_t limit,
                                          std::map<core::vendor, std::size_t>* per_vendor) override {
    return run([&] { return store_->fire_deadlines(now, limit, per_vendor); });
  }
  result<purge_outcome> purge(core::timestamp now, int retention_days, std::size_t limit) override {
    return run([&] { return store_->purge(now, retention_days, limit); });
  }
  result<void> write_probe(core::timestamp now) override {
    return run([&] { store_->write_probe(now); });
  }
  bool probe() noexcept override { return store_->probe(); }
  bool keeps_log_position() const noexcept override { return true; }
  result<std::uint64_t> log_position() override {
    return run([&] { return store_->log_position(); });
  }
  result<void> set_log_position(std::uint64_t position) override {
    return run([&] { store_->set_log_position(position); });
  }
  result<std::string> ledger_id() override {
    return run([&] { return store_->ledger_id(); });
  }
  result<void> set_ledger_id(const std::string& id) override {
    if (auto set = run([&] { store_->set_ledger_id(id); }); !set)
      return set;
    return make_durable(); // a failed sync here is durability_lost, as any commit's
  }

private:
  template <class Call>
  auto run(Call&& call) -> result<std::invoke_result_t<Call>> {
    return guarded(std::forward<Call>(call), [this](const std::exception& e) { return store_->explain(e); });
  }

  std::unique_ptr<ledger_store> store_;
};

/// A read failure in words: SQLite's message (a damaged page, a table gone, a busy time-out).
ledger_error read_failure(const std::exception& e) {
  return {fault::unavailable, e.what()};
}

class read_connection final : public ledger_reader {
public:
  explicit read_connection(std::unique_ptr<reader> r) : r_{std::move(r)} {}

  result<day_page> day(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
                       std::optional<log_cursor> after) override {
    return guarded([&] { return r_->day(from, to, filter, limit, after); }, read_failure);
  }
  result<day_page> ascending(core::timestamp from, core::timestamp to, const log_filter& filter, std::size_t limit,
                             std::optional<log_cursor> after) override {
    return guarded([&] { return r_->ascending(from, to, filter, limit, after); }, read_failure);
  }
  result<std::vector<poll_target>> due_polls(core::vendor vendor, core::timestamp now, std::size_t limit,
                                            const std::vector<std::int64_t>& busy,
                                            const fetch_limits& /*account: the one daemon keeps them*/) override {
    return guarded([&] { return r_->due_polls(vendor, now, limit, busy); }, read_failure);
  }
  result<summary_data> summary(const std::string& scope, const std::string& scope_id, core::day_number first,
                               core::day_number last) override {
    return guarded([&] { return r_->summary(scope, scope_id, first, last); }, read_failure);
  }
  result<std::vector<source_total>> sources(std::int32_t month) override {
    return guarded([&] { return r_->sources(month); }, read_failure);
  }
  result<std::optional<send_detail>> find(const std::string& send_id) override {
    return guarded([&] { return r_->find(send_id); }, read_failure);
  }
  result<std::vector<std::pair<std::string, std::int64_t>>> pending_by_vendor() override {
    return guarded([&] { return r_->pending_by_vendor(); }, read_failure);
  }

private:
  std::unique_ptr<reader> r_;
};

} // namespace

result<std::unique_ptr<ledger_writer>> open_writer(const ledger_options& options) {
  auto opened = ledger_store::open(options);
  if (auto* err = std::get_if<ledger_error>(&opened))
    return *err;
  return std::unique_ptr<ledger_writer>{
    std::make_unique<writer>(std::move(std::get<std::unique_ptr<ledger_store>>(opened)))};
}

result<std::unique_ptr<ledger_reader>> open_reader(const ledger_options& options) {
  auto opened = reader::open(options.path);
  if (auto* err = std::get_if<ledger_error>(&opened))
    return *err;
  return std::unique_ptr<ledger_reader>{
    std::make_unique<read_connection>(std::move(std::get<std::unique_ptr<reader>>(opened)))};
}

} // namespace deliveryd::db::sqlite
