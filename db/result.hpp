#pragma once
/// Errors of the ledger as values: what crosses the storage interface (db/ledger.hpp) is a value or a
/// `ledger_error`, never a back end's exception.

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace deliveryd::db {

/// Why the ledger failed, whatever the back end.
enum class fault {
  /// The ledger cannot be reached or did not answer: a database server down, a connection lost, a file
  /// locked, an I/O error. Retrying later may work.
  unavailable,
  /// The ledger's disk or quota is full: nothing more can be written until space is freed.
  full,
  /// The ledger can be read but not written: a read-only file, mount or database.
  read_only,
  /// A person must act before the ledger can be used: its data is damaged, it is not a deliveryd ledger, it was
  /// written by a newer deliveryd, or it cannot be opened as configured (a zone the system does not know).
  corrupt,
};

/// What went wrong, for the operator.
struct ledger_error {
  fault cause = fault::unavailable; ///< the kind of failure
  std::string message;              ///< a sentence for a person; never a password
  /// A conflict with another writer of a shared ledger (a deadlock, a serialization failure): the transaction was
  /// rolled back, and the same work tried again at once in a new one may well succeed.
  bool retry = false;
  /// A sync to the disk failed (fsync or fdatasync: EIO, ENOSPC, …). The kernel may have dropped the pages it
  /// could not write while still showing them to this process, and a later sync that succeeds does not write them
  /// again: nothing committed since the last good sync can be trusted to be on the disk, and nothing committed
  /// after it either, since it builds on them. Only the ledger read again from the disk is a sound base.
  bool durability_lost = false;
};

/// Thrown by result::value() on an error: for tests, benches and start-up code that cannot go on without it.
class ledger_failure : public std::runtime_error {
public:
  /// Carries `error`; what() is its message.
  explicit ledger_failure(ledger_error error) : std::runtime_error{error.message}, error_{std::move(error)} {}
  /// The error it carries.
  const ledger_error& error() const noexcept { return error_; }

private:
  ledger_error error_;
};

/// A `T` or the `ledger_error` that prevented it.
template <class T>
class [[nodiscard]] result {
public:
  /// A value.
  result(T value) : state_{std::in_place_index<0>, std::move(value)} {}
  /// An error.
  result(ledger_error error) : state_{std::in_place_index<1>, std::move(error)} {}

  /// True when it holds a value.
  bool ok() const noexcept { return state_.index() == 0; }
  /// True when it holds a value.
  explicit operator bool() const noexcept { return ok(); }

  /// The value; throws ledger_failure when it holds an error.
  T& value() & { return ok() ? std::get<0>(state_) : fail(); }
  /// The value; throws ledger_failure when it holds an error.
  const T& value() const& { return ok() ? std::get<0>(state_) : fail(); }
  /// The value, moved out (a value, not a reference: `f().value().member` stays valid for the full expression and
  /// in a range-for); throws ledger_failure when it holds an error.
  T value() && { return std::move(ok() ? std::get<0>(state_) : fail()); }
  /// The value (it must hold one).
  T& operator*() noexcept { return *std::get_if<0>(&state_); }
  /// The value (it must hold one).
  T* operator->() noexcept { return std::get_if<0>(&state_); }

  /// The error (it must hold one).
  const ledger_error& error() const noexcept { return *std::get_if<1>(&state_); }

private:
  [[noreturn]] T& fail() const { throw ledger_failure{error()}; }
  std::variant<T, ledger_error> state_;
};

/// Success without a value, or the error that prevented it.
template <>
class [[nodiscard]] result<void> {
public:
  /// Success.
  result() = default;
  /// An error.
  result(ledger_error error) : error_{std::move(error)}, ok_{false} {}

  /// True on success.
  bool ok() const noexcept { return ok_; }
  /// True on success.
  explicit operator bool() const noexcept { return ok_; }
  /// Nothing; throws ledger_failure on an error.
  void value() const {
    if (!ok_)
      throw ledger_failure{error_};
  }
  /// The error (it must hold one).
  const ledger_error& error() const noexcept { return error_; }

private:
  ledger_error error_;
  bool ok_ = true;
};

} // namespace deliveryd::db
