#pragma once
/// The PostgreSQL back end's connections: opening one with the session settings the ledger relies on, the
/// password kept out of every message, and libpqxx's exceptions turned into the interface's errors.

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx> // with std::optional parameters as NULL or a value

#include "db/result.hpp"

namespace deliveryd::db::postgresql {

/// `url` with its password replaced by "***": a URI's `user:password@` and a keyword string's `password=`.
std::string redact(const std::string& url);

/// Opens a connection to `url`, in UTC, with synchronous_commit on (or off when `durable` is false: bench fills
/// and tests only). Throws what libpqxx throws.
std::unique_ptr<pqxx::connection> connect(const std::string& url, bool durable);

/// The interface's error for what a statement or a connect threw: the server gone or refusing is
/// fault::unavailable, a full disk fault::full, a read-only server fault::read_only, a database that is not
/// what it should be (no such database or role, no permission) fault::corrupt. `doing` says what failed ("cannot
/// open the ledger"); the message never holds the password.
ledger_error describe(const std::exception& failure, const std::string& doing, const std::string& url);

/// A bigint[] literal of `ids` ("{1,2,3}"), for `= ANY($n::bigint[])`.
std::string bigint_array(const std::vector<std::int64_t>& ids);

/// True when `failure` says that the connection is gone: the next use must connect again.
bool connection_lost(const std::exception& failure) noexcept;

} // namespace deliveryd::db::postgresql
