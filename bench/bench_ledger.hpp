#pragma once
/// A benchmark's ledger on either back end, and SQL on it through a connection of the bench's own (never the
/// daemon's): a SQLite file, or a database of the benchmarks' PostgreSQL 15 server, a cluster kept in
/// build/bench/pg (tests/support/postgres_cluster.hpp) so that a big ledger is filled once and reused.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "db/ledger.hpp"
#include "tests/support/postgres_cluster.hpp"

namespace deliveryd::bench {

/// The benchmarks' PostgreSQL server settings over initdb's defaults, as "name=value". Memory for a 24 GiB
/// machine; nothing that weakens durability (fsync, synchronous_commit and full_page_writes keep their default,
/// on).
std::vector<std::string> bench_cluster_settings();

/// Starts (creating it at the first use) the benchmarks' cluster in `dir` with bench_cluster_settings(), and
/// prints where it is and what it runs with. Throws std::runtime_error when it cannot.
std::unique_ptr<testing::postgres_cluster> start_bench_cluster(const std::string& dir);

/// What the server runs with, as the server says it (SHOW): version, durability, memory, WAL, connections.
std::string cluster_settings_text(const testing::postgres_cluster& cluster);

/// Seconds on a CPU of the cluster's processes (the postmaster `postmaster` and its children) so far, per role:
/// "backends" for client connections, else the process's title ("walwriter", "checkpointer", ...). An
/// autovacuum worker that ended meanwhile is missing.
std::map<std::string, double> postgres_cpu_by_role(pid_t postmaster);

/// One ledger, and SQL on it.
class bench_ledger {
public:
  /// The SQLite ledger file at `path`.
  explicit bench_ledger(std::string path);
  /// Database `database` of `cluster`, which must outlive this object.
  bench_ledger(const testing::postgres_cluster& cluster, std::string database);

  /// Which back end holds it.
  db::backend backend() const noexcept { return cluster_ ? db::backend::postgresql : db::backend::sqlite; }
  /// What messages call it: the file's path, or "postgresql:<database> in <cluster folder>".
  const std::string& name() const noexcept { return name_; }
  /// True when the file, or the database, exists.
  bool exists() const;
  /// Creates what db::open_writer needs first: the file's folder, or the (empty) database.
  void create() const;
  /// Removes the ledger (file, WAL and the daemon's ack log, or database) and the bench's notes on it (state_path()).
  void remove() const;
  /// Where a bench keeps its notes on this ledger: "<path>.bench", or "<cluster folder>/<database>.bench".
  std::string state_path() const;
  /// Its size on disk: the file's, or pg_database_size.
  std::int64_t bytes() const;

  /// The rows of `sql` as text ("<null>" for NULL). SQLite: on a read-only connection.
  std::vector<std::vector<std::string>> query(const std::string& sql) const;
  /// The single integer `sql` gives (0 for NULL).
  std::int64_t scalar(const std::string& sql) const;
  /// Runs `sql`, a statement that writes.
  void execute(const std::string& sql) const;
  /// True when the ledger has a table `name`.
  bool has_table(const std::string& name) const;
  /// The ledger's key/value table: SQLite's `meta`, PostgreSQL's `deliveryd_meta`.
  std::string meta_table() const;
  /// Why its schema is not the one this build writes; "" when it is.
  std::string stale_schema() const;

  /// Options to open it with db::open_writer (PostgreSQL: host_id "bench-fill"); the caller adds the rest.
  db::ledger_options options() const;
  /// The [storage] keys of a daemon's configuration on it (no section header); `host_id` for PostgreSQL.
  std::string storage_toml(const std::string& host_id) const;

private:
  std::string path_;                                  ///< SQLite
  const testing::postgres_cluster* cluster_ = nullptr; ///< PostgreSQL
  std::string database_;                              ///< PostgreSQL
  std::string name_;
};

} // namespace deliveryd::bench
