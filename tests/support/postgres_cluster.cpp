#include "postgres_cluster.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#ifndef DELIVERYD_PG_BINDIR
#define DELIVERYD_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

extern char** environ;

namespace deliveryd::testing {

namespace {

/// The ids the cluster runs as when the tests run as root: `nobody`'s on Debian.
constexpr uid_t unprivileged_uid = 65534;
constexpr gid_t unprivileged_gid = 65534;

/// Where the socket lives and what its file is called: `.s.PGSQL.<port>` in the cluster's folder.
constexpr int socket_port = 5432;

/// Runs PostgreSQL's tool `tool` with `args` (as `nobody` when we are root), its output into `log`; throws with
/// the log's text when it fails.
void run_tool(const std::string& tool, const std::vector<std::string>& args, const std::filesystem::path& log,
              const std::vector<std::string>& environment = {}) {
  const std::string path = std::string{DELIVERYD_PG_BINDIR} + "/" + tool;
  const std::string folder = log.parent_path().string(); // the cluster's
  const char* workdir = folder.c_str();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = environment;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e)
    envp.push_back(*e);
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t child = ::fork();
  if (child < 0)
    throw std::runtime_error{std::string{"fork: "} + std::strerror(errno)};
  if (child == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    // Nothing else of the test process reaches the tool or the server it starts. A server counts the descriptors
    // it inherits against max_files_per_process: with the sockets of a long test run open, a server limited to 64
    // (the power-cut test's setting) refused to start ("insufficient file descriptors available").
    if (::close_range(3, ~0U, 0) != 0) {
      rlimit limit{};
      const auto highest = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 1024;
      for (rlim_t fd = 3; fd < highest && fd < 1u << 20; ++fd)
        ::close(static_cast<int>(fd));
    }
    if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setgid(unprivileged_gid) != 0
                             || ::setuid(unprivileged_uid) != 0))
      ::_exit(126);
    // PostgreSQL's tools return to the working directory they were started in; nobody may not reach ours.
    if (::chdir(workdir) != 0)
      ::_exit(125);
    ::execve(path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  pid_t waited = 0;
  while ((waited = ::waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited == child && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return;
  std::ifstream in{log};
  std::stringstream text;
  text << in.rdbuf();
  throw std::runtime_error{tool + " failed (status " + std::to_string(status) + "): " + text.str()};
}

/// True when the postmaster that `data`'s pid file names still runs (and is PostgreSQL's, not a process that
/// got its pid since).
bool left_running(const std::filesystem::path& data) {
  std::ifstream in{data / "postmaster.pid"};
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0)
    return false;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  return !ec && exe == std::filesystem::path{DELIVERYD_PG_BINDIR} / "postgres";
}

} // namespace

postgres_cluster::postgres_cluster() : postgres_cluster(postgres_cluster_options{}) {}

postgres_cluster::postgres_cluster(postgres_cluster_options options)
  : settings_{std::move(options.settings)}, initdb_args_{std::move(options.initdb_args)} {
  auto pattern = (std::filesystem::temp_directory_path() / "deliveryd-pg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error{std::string{"mkdtemp: "} + std::strerror(errno)};
  dir_ = pattern;
  if (::geteuid() == 0 && ::chown(dir_.c_str(), unprivileged_uid, unprivileged_gid) != 0)
    throw std::runtime_error{"cannot give " + dir_.string() + " to nobody: " + std::strerror(errno)};
  try {
    create(false); // initdb's own files need not reach the disk for a test; the server keeps fsync on
    start();
  } catch (...) {
    // The destructor does not run for a constructor that throws: stop what may have started, remove the folder.
    try {
      run_tool("pg_ctl", {"-D", (dir_ / "data").string(), "-m", "immediate", "-w", "stop"}, dir_ / "pg_ctl.log");
    } catch (...) {
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

postgres_cluster::postgres_cluster(const std::filesystem::path& dir, std::vector<std::string> settings)
  : dir_{std::filesystem::absolute(dir)}, settings_{std::move(settings)}, kept_{true} {
  std::filesystem::create_directories(dir_);
  if (::geteuid() == 0 && ::chown(dir_.c_str(), unprivileged_uid, unprivileged_gid) != 0)
    throw std::runtime_error{"cannot give " + dir_.string() + " to nobody: " + std::strerror(errno)};
  // The lock goes with this process, however it ends: a server still running without it was left behind.
  lock_fd_ = ::open((dir_ / "owner.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    throw std::runtime_error{"cannot open " + (dir_ / "owner.lock").string() + ": " + std::strerror(errno)};
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    throw std::runtime_error{"the PostgreSQL cluster in " + dir_.string() + " is in use by another process"};
  }
  try {
    if (!std::filesystem::exists(dir_ / "data" / "PG_VERSION"))
      create(true);
    else if (left_running(dir_ / "data"))
      run_tool("pg_ctl", {"-D", (dir_ / "data").string(), "-m", "fast", "-w", "-t", "60", "stop"},
               dir_ / "pg_ctl.log");
    start();
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
}

postgres_cluster::~postgres_cluster() {
  try {
    if (running_)
      stop(stop_mode::fast);
  } catch (...) {
    // Removing the folder below takes the socket away; a server left behind exits on its own checks.
  }
  if (lock_fd_ >= 0)
    ::close(lock_fd_);
  if (kept_)
    return;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void postgres_cluster::create(bool sync) {
  std::vector<std::string> args{"-D", (dir_ / "data").string(), "-U", "deliveryd", "-A", "trust", "-E", "UTF8",
                                "--locale=C"};
  if (!sync)
    args.push_back("--no-sync");
  args.insert(args.end(), initdb_args_.begin(), initdb_args_.end());
  run_tool("initdb", args, dir_ / "initdb.log");
}

void postgres_cluster::start() {
  // Only the socket in the cluster's folder: listen_addresses empty means no TCP at all.
  std::string options = "-k " + dir_.string() + " -p " + std::to_string(socket_port) + " -c listen_addresses=''";
  for (const auto& setting : settings_)
    options += " -c " + setting;
  try {
    run_tool("pg_ctl", {"-D", (dir_ / "data").string(), "-l", (dir_ / "server.log").string(), "-o", options, "-w",
                        "-t", "60", "start"},
             dir_ / "pg_ctl.log", environment_);
  } catch (const std::runtime_error& e) {
    // pg_ctl says only "examine the log output": the server's own last lines say why.
    std::ifstream in{dir_ / "server.log"};
    std::stringstream text;
    text << in.rdbuf();
    const auto log = text.str();
    throw std::runtime_error{std::string{e.what()} + "\nthe server's log ends: " +
                             log.substr(log.size() > 3000 ? log.size() - 3000 : 0)};
  }
  running_ = true;
}

void postgres_cluster::stop(stop_mode mode) {
  run_tool("pg_ctl", {"-D", (dir_ / "data").string(), "-m", mode == stop_mode::fast ? "fast" : "immediate", "-w",
                      "-t", "60", "stop"},
           dir_ / "pg_ctl.log");
  running_ = false;
}

namespace {

/// The processes of the server on `data`: PostgreSQL's binary, working in that folder (the postmaster and every
/// process it forked). A process gone meanwhile, or a zombie, is none.
std::vector<pid_t> server_processes(const std::filesystem::path& data) {
  std::vector<pid_t> found;
  const auto binary = std::filesystem::path{DELIVERYD_PG_BINDIR} / "postgres";
  for (const auto& entry : std::filesystem::directory_iterator{"/proc"}) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path() / "cwd", ec) != data || ec ||
        std::filesystem::read_symlink(entry.path() / "exe", ec) != binary || ec)
      continue;
    std::ifstream stat{entry.path() / "stat"};
    std::string line;
    std::getline(stat, line);
    const auto end_of_name = line.rfind(')');
    if (end_of_name == std::string::npos || line.substr(end_of_name + 2, 1) == "Z")
      continue;
    found.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return found;
}

} // namespace

void postgres_cluster::kill_all() {
  const auto data = std::filesystem::canonical(dir_ / "data");
  // Stop them until no new one appears (a stopped postmaster forks no more), then kill them all.
  std::set<pid_t> stopped;
  for (bool more = true; more;) {
    more = false;
    for (const pid_t pid : server_processes(data))
      if (stopped.insert(pid).second) {
        ::kill(pid, SIGSTOP);
        more = true;
      }
  }
  for (const pid_t pid : stopped)
    ::kill(pid, SIGKILL);
  // Until each is reaped, not only dead: the postmaster's parent is whoever adopts orphans, and while it is a
  // zombie the next server takes postmaster.pid for a live one and refuses to start.
  auto reaped = [&] {
    for (const pid_t pid : stopped)
      if (std::filesystem::exists("/proc/" + std::to_string(pid)))
        return false;
    return true;
  };
  for (int i = 0; i < 3000 && !reaped(); ++i)
    ::usleep(10'000);
  if (!reaped())
    throw std::runtime_error{"processes of the server in " + data.string() + " were not reaped within 30 s"};
  running_ = false;
}

void postgres_cluster::hand_over(const std::filesystem::path& path) const {
  if (::geteuid() != 0)
    return;
  auto give = [](const std::filesystem::path& p) {
    if (::lchown(p.c_str(), unprivileged_uid, unprivileged_gid) != 0)
      throw std::runtime_error{"cannot give " + p.string() + " to nobody: " + std::strerror(errno)};
  };
  give(path);
  if (std::filesystem::is_directory(path))
    for (const auto& entry : std::filesystem::recursive_directory_iterator{path})
      give(entry.path());
}

std::string postgres_cluster::connection_string(const std::string& dbname) const {
  return "host=" + dir_.string() + " port=" + std::to_string(socket_port) + " user=deliveryd dbname=" + dbname;
}

std::vector<std::vector<std::string>> postgres_cluster::query(const std::string& dbname,
                                                             const std::string& sql) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> c{PQconnectdb(connection_string(dbname).c_str()), &PQfinish};
  if (PQstatus(c.get()) != CONNECTION_OK)
    throw std::runtime_error{"cannot connect to the cluster in " + dir_.string() + ": " + PQerrorMessage(c.get())};
  std::unique_ptr<PGresult, decltype(&PQclear)> r{PQexec(c.get(), sql.c_str()), &PQclear};
  const auto status = PQresultStatus(r.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    throw std::runtime_error{sql + ": " + PQresultErrorMessage(r.get())};
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    auto& row = rows.emplace_back();
    for (int j = 0; j < PQnfields(r.get()); ++j)
      row.push_back(PQgetisnull(r.get(), i, j) ? "<null>" : PQgetvalue(r.get(), i, j));
  }
  return rows;
}

pid_t postgres_cluster::server_pid() const {
  if (!running_)
    return 0;
  std::ifstream in{dir_ / "data" / "postmaster.pid"}; // its first line is the postmaster's pid
  pid_t pid = 0;
  return in >> pid ? pid : 0;
}

bool on_postgresql() {
  static const bool pg = [] {
    const char* chosen = std::getenv("DELIVERYD_TEST_BACKEND");
    return chosen != nullptr && std::string{chosen} == "postgresql";
  }();
  return pg;
}

postgres_cluster& shared_cluster() {
  static postgres_cluster cluster;
  return cluster;
}

std::vector<std::vector<std::string>> pg_query(const std::string& dbname, const std::string& sql) {
  return shared_cluster().query(dbname, sql);
}

std::string shared_database(const std::string& key) {
  static std::mutex mutex;
  static std::map<std::string, std::string> made;
  std::lock_guard lock{mutex};
  auto& name = made[key];
  if (name.empty()) {
    name = "ledger_" + std::to_string(made.size()) + "_" + std::to_string(std::hash<std::string>{}(key) % 1000000);
    pg_query("postgres", "CREATE DATABASE " + name);
  }
  return name;
}

} // namespace deliveryd::testing
