#include "bench_ledger.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "bench_support.hpp"
#include "db/postgresql/schema.hpp"
#include "db/sqlite/schema.hpp"
#include "tests/support/sqlite_rows.hpp"

namespace deliveryd::bench {

namespace fs = std::filesystem;

std::vector<std::string> bench_cluster_settings() {
  return {
    "shared_buffers=4GB",         // a sixth of the memory: a 10M-send ledger's hot indexes stay in it
    "effective_cache_size=16GB",  // what the planner may count on from the OS page cache
    "work_mem=32MB",              // the summary's and the exports' sorts
    "maintenance_work_mem=1GB",   // autovacuum and index builds
    "max_wal_size=8GB",           // fewer checkpoints during fills and loads; recovery takes longer, loses nothing
    "checkpoint_timeout=15min",
  };
}

std::unique_ptr<testing::postgres_cluster> start_bench_cluster(const std::string& dir) {
  const auto start = steady::now();
  auto cluster = std::make_unique<testing::postgres_cluster>(fs::path{dir}, bench_cluster_settings());
  std::printf("PostgreSQL cluster %s up in %.1f s (server pid %d, Unix socket only): %s\n",
              cluster->dir().c_str(), seconds_since(start), static_cast<int>(cluster->server_pid()),
              cluster_settings_text(*cluster).c_str());
  std::fflush(stdout);
  return cluster;
}

std::string cluster_settings_text(const testing::postgres_cluster& cluster) {
  static constexpr const char* names[] = {
    "server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers",
    "effective_cache_size", "work_mem", "maintenance_work_mem", "max_wal_size", "checkpoint_timeout",
    "max_connections"};
  std::string sql = "SELECT ";
  for (const auto* name : names)
    sql += std::string{sql.size() > 7 ? ", " : ""} + "current_setting('" + name + "')";
  const auto rows = cluster.query("postgres", sql);
  std::string text;
  for (std::size_t k = 0; k < std::size(names) && !rows.empty(); ++k)
    text += std::string{text.empty() ? "" : ", "} + names[k] + " " + rows[0][k];
  return text;
}

namespace {

/// The parent pid in /proc/`pid`/stat; -1 when unreadable.
pid_t parent_of(const std::string& pid) {
  std::ifstream in{"/proc/" + pid + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  const auto close = text.rfind(')'); // the command name may hold spaces: fields after its ')'
  if (close == std::string::npos)
    return -1;
  char state = 0;
  int parent = -1;
  return std::sscanf(text.c_str() + close + 1, " %c %d", &state, &parent) == 2 ? parent : -1;
}

/// What a server process does, from its title ("postgres: walwriter").
std::string role_of(const std::string& pid, bool postmaster) {
  if (postmaster)
    return "postmaster";
  std::ifstream in{"/proc/" + pid + "/cmdline"};
  std::string title;
  std::getline(in, title, '\0');
  if (title.find("[local]") != std::string::npos)
    return "backends";
  if (title.rfind("postgres: ", 0) == 0)
    title.erase(0, 10);
  if (title.rfind("autovacuum worker", 0) == 0)
    return "autovacuum worker";
  while (!title.empty() && title.back() == ' ')
    title.pop_back();
  return title.empty() ? "other" : title;
}

} // namespace

std::map<std::string, double> postgres_cpu_by_role(pid_t postmaster) {
  std::map<std::string, double> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator{"/proc", ec}) {
    const auto pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const bool is_postmaster = pid == std::to_string(postmaster);
    if (!is_postmaster && parent_of(pid) != postmaster)
      continue;
    double seconds = 0;
    for (const auto& [thread, s] : cpu_seconds_by_thread(static_cast<pid_t>(std::stol(pid))))
      seconds += s;
    out[role_of(pid, is_postmaster)] += seconds;
  }
  return out;
}

bench_ledger::bench_ledger(std::string path) : path_{std::move(path)}, name_{path_} {}

bench_ledger::bench_ledger(const testing::postgres_cluster& cluster, std::string database)
  : cluster_{&cluster}, database_{std::move(database)},
    name_{"postgresql:" + database_ + " in " + cluster.dir().string()} {
  if (database_.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    throw std::runtime_error{"a bench database name is lower-case letters, digits and _: " + database_};
}

bool bench_ledger::exists() const {
  if (!cluster_)
    return fs::exists(path_);
  return !cluster_->query("postgres", "SELECT 1 FROM pg_database WHERE datname = '" + database_ + "'").empty();
}

void bench_ledger::create() const {
  if (!cluster_)
    fs::create_directories(fs::absolute(path_).parent_path());
  else if (!exists())
    cluster_->query("postgres", "CREATE DATABASE " + database_);
}

void bench_ledger::remove() const {
  fs::remove(state_path());
  if (cluster_) {
    cluster_->query("postgres", "DROP DATABASE IF EXISTS " + database_);
    return;
  }
  for (const auto* suffix : {"", "-wal", "-shm"})
    fs::remove(path_ + suffix);
  // The daemon's ack log beside it: a new ledger starts at log position 0, and must not meet an earlier
  // ledger's segments there.
  fs::remove_all(path_ + ".acklog");
}

std::string bench_ledger::state_path() const {
  return cluster_ ? (cluster_->dir() / (database_ + ".bench")).string() : path_ + ".bench";
}

std::int64_t bench_ledger::bytes() const {
  if (cluster_)
    return scalar("SELECT pg_database_size(current_database())");
  std::error_code ec;
  const auto size = fs::file_size(path_, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

std::vector<std::vector<std::string>> bench_ledger::query(const std::string& sql) const {
  if (cluster_)
    return cluster_->query(database_, sql);
  return testing::sqlite_rows(path_, sql);
}

std::int64_t bench_ledger::scalar(const std::string& sql) const {
  const auto rows = query(sql);
  if (rows.empty() || rows[0].empty() || rows[0][0] == "<null>")
    return 0;
  return std::stoll(rows[0][0]);
}

void bench_ledger::execute(const std::string& sql) const {
  if (cluster_) {
    cluster_->query(database_, sql);
    return;
  }
  SQLite::Database conn{path_, SQLite::OPEN_READWRITE};
  conn.setBusyTimeout(10000);
  conn.exec(sql);
}

bool bench_ledger::has_table(const std::string& name) const {
  if (cluster_)
    return scalar("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '" + name
                  + "'") > 0;
  return scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + name + "'") > 0;
}

std::string bench_ledger::meta_table() const { return cluster_ ? "deliveryd_meta" : "meta"; }

std::string bench_ledger::stale_schema() const {
  const auto latest = cluster_ ? db::postgresql::latest_schema_version() : db::sqlite::latest_schema_version();
  const auto version = !cluster_ ? scalar("PRAGMA user_version")
                       : has_table("deliveryd_meta")
                         ? scalar("SELECT value::integer FROM deliveryd_meta WHERE key = 'schema_version'")
                         : 0;
  if (version == latest)
    return {};
  return "its schema version is " + std::to_string(version) + ", not " + std::to_string(latest);
}

db::ledger_options bench_ledger::options() const {
  db::ledger_options so;
  so.kind = backend();
  if (cluster_) {
    so.postgresql.url = cluster_->connection_string(database_);
    so.postgresql.host_id = "bench-fill";
  } else {
    so.path = path_;
  }
  return so;
}

std::string bench_ledger::storage_toml(const std::string& host_id) const {
  if (!cluster_)
    return "path = \"" + fs::absolute(path_).string() + "\"\n";
  return "backend = \"postgresql\"\nurl = \"" + cluster_->connection_string(database_) + "\"\npool = 8\nhost_id = \""
         + host_id + "\"\n";
}

} // namespace deliveryd::bench
