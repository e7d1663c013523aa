#pragma once
/// A throwaway PostgreSQL cluster for tests: initdb into a fresh temporary folder, the server listening only on
/// a Unix socket inside it (no TCP port to collide with anything), stopped and removed with the object. The
/// benchmarks keep one instead, in a folder of their own (build/bench/pg), so that a big ledger is filled once.
///
/// What it simulates: the PostgreSQL server a group of deliveryd hosts would share, as Debian 12 ships it (15),
/// with its default durability (fsync and synchronous_commit on), so that a test can stop it fast or
/// immediately (a crash) and start it again on the same data. What it does not: a server on another machine, a
/// network between them, authentication (it trusts local connections), or replication and failover.
///
/// A kept cluster is the same server with the settings its owner passes (the benchmarks' memory sizes); it is
/// created at its first use, stopped but kept by the destructor, and started on the same data the next time.
///
/// PostgreSQL refuses to run as root. When the tests run as root (CI does), the cluster runs as `nobody`: its
/// folder is given to that user, and initdb, pg_ctl and the server are started with its ids.

#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

namespace deliveryd::testing {

/// What a throwaway cluster is made and run with, beyond the defaults.
struct postgres_cluster_options {
  std::vector<std::string> initdb_args; ///< more arguments of initdb ("--wal-segsize=1")
  std::vector<std::string> settings;    ///< the server's settings, each "name=value" (given as -c)
};

/// One cluster, started by the constructor.
class postgres_cluster {
public:
  /// How a stop treats the clients and the data.
  enum class stop_mode {
    fast,      ///< rolls back open transactions, disconnects clients, checkpoints: a clean shutdown
    immediate, ///< kills the server without a checkpoint: the next start recovers from the WAL, as after a crash
  };

  /// Creates the cluster (initdb, a superuser `deliveryd` trusted on the socket) and starts it. Throws
  /// std::runtime_error with the tool's output when a step fails.
  postgres_cluster();
  /// The same with more initdb arguments and server settings.
  explicit postgres_cluster(postgres_cluster_options options);
  /// A kept cluster in `dir`: created there (initdb) when it holds none, then started with `settings` (each
  /// "name=value", given to the server as -c) over initdb's defaults. One owner at a time: throws
  /// std::runtime_error when another process holds it; a server that an owner killed before it could stop it left
  /// running is stopped first.
  postgres_cluster(const std::filesystem::path& dir, std::vector<std::string> settings);
  /// Stops the server (fast) if it runs; a throwaway cluster's folder is removed with everything in it.
  ~postgres_cluster();
  postgres_cluster(const postgres_cluster&) = delete;
  postgres_cluster& operator=(const postgres_cluster&) = delete;

  /// Starts the server again on the same data; waits until it takes connections.
  void start();
  /// Stops the server; waits until it is gone.
  void stop(stop_mode mode = stop_mode::fast);
  /// True while the server runs.
  bool running() const noexcept { return running_; }
  /// The server's environment from the next start() on: "NAME=value" each, added to the test's (given to pg_ctl,
  /// which passes it to the server: LD_PRELOAD and the fault layer's variables, for one).
  void set_server_environment(std::vector<std::string> environment) { environment_ = std::move(environment); }
  /// A power cut, as far as the processes go: SIGKILLs the postmaster and every process it started at once (each
  /// stopped first, so that none carries on or forks while the others die) and waits until none is left. No
  /// shutdown, no checkpoint, nothing more written; the next start() recovers from what the disk kept.
  void kill_all();
  /// Gives `path` and everything under it to the user the server runs as (`nobody` when the tests run as root;
  /// nothing otherwise): for files a test makes for the server, such as the fault layer's state.
  void hand_over(const std::filesystem::path& path) const;

  /// A libpq connection string for database `dbname` as the superuser `deliveryd`.
  std::string connection_string(const std::string& dbname = "postgres") const;
  /// Runs `sql` on database `dbname` on a connection of its own; the rows as text ("<null>" for NULL). Throws
  /// std::runtime_error with the server's message on an error.
  std::vector<std::vector<std::string>> query(const std::string& dbname, const std::string& sql) const;
  /// The server's (postmaster's) process id; 0 when it does not run.
  pid_t server_pid() const;
  /// The cluster's folder: the data, the server's log and the socket.
  const std::filesystem::path& dir() const noexcept { return dir_; }

private:
  /// initdb into dir_/data (`sync`: wait until its files are on the disk).
  void create(bool sync);

  std::filesystem::path dir_;
  std::vector<std::string> settings_;
  std::vector<std::string> initdb_args_;
  std::vector<std::string> environment_; ///< the server's, added to the test's
  bool kept_ = false;
  int lock_fd_ = -1; ///< a kept cluster's owner lock (flock on dir_/owner.lock)
  bool running_ = false;
};

/// True when the tests run on the PostgreSQL back end: DELIVERYD_TEST_BACKEND=postgresql (ctest's "… on
/// postgresql" entries).
bool on_postgresql();

/// The cluster every test of this program shares, started at its first use and removed at exit.
postgres_cluster& shared_cluster();

/// The database of the shared cluster that stands for the ledger `key` (a ledger file's path, in tests written for
/// SQLite), created at its first use.
std::string shared_database(const std::string& key);

/// Runs `sql` on database `dbname` of the shared cluster; the rows as text ("<null>" for NULL). Throws
/// std::runtime_error with the server's message on an error.
std::vector<std::vector<std::string>> pg_query(const std::string& dbname, const std::string& sql);

} // namespace deliveryd::testing
