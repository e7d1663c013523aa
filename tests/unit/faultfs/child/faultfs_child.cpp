/// faultfs_child: the program the fault layer's self-tests run under the layer. It carries out its arguments in
/// order, one command each, and prints one line per command (flushed), so that the test knows how far it got
/// before it kills it:
///
///   open:SLOT:PATH:MODE        MODE ro, rw, rwc (O_CREAT), trunc (O_CREAT|O_TRUNC), dsync (O_CREAT|O_DSYNC),
///                              append (O_CREAT|O_APPEND)               -> "ok" or "err ERRNO"
///   pwrite:SLOT:OFFSET:CHAR:N  N bytes CHAR at OFFSET                  -> "ok N" or "err ERRNO"
///   write:SLOT:CHAR:N          N bytes at the position (write)         -> same
///   writev:SLOT:CHAR:N         N bytes at the position, in two pieces  -> same
///   truncate:SLOT:SIZE         ftruncate                               -> "ok" or "err ERRNO"
///   fsync:SLOT, fdatasync:SLOT                                         -> same
///   dontneed:SLOT              posix_fadvise(0, 0, POSIX_FADV_DONTNEED)-> "ok" or "err ERRNO"
///   read:SLOT:OFFSET           pread of one byte                       -> "byte C" or "eof"
///   size:SLOT                  fstat                                   -> "size N"
///   dup:SLOT:NEW, close:SLOT, rename:FROM:TO, unlink:PATH              -> "ok" or "err ERRNO"
///   sqlite:PATH:SYNC:FIRST:N   N rows FIRST.. into table t, one transaction each, on one connection per PATH
///                              (journal_mode WAL, synchronous SYNC)    -> "committed N", or "sqlite error
///                              EXTENDED_CODE after DONE" when a commit fails (it is rolled back)
///   sync-during:SLOT:OFFSET:CHAR:N:MS  fdatasync of SLOT on a thread of its own; MS ms later, N bytes CHAR at
///                              OFFSET through SLOT; then waits for the sync -> "sync ok|err ERRNO, write N"
///   threads:PATH:T:P           T threads, each writing P pages of its own through its own descriptor and
///                              fdatasync-ing each page through a second one -> "threads done"
///   forks:PATH:N:P             opens PATH, then forks N processes (no exec, as PostgreSQL's postmaster): each
///                              writes P pages of its own through the inherited descriptor and fsyncs each page
///                              through one it opens itself, all at once; waits for them -> "forks done N" (N: how
///                              many exited 0)
///   truncate-path:PATH:SIZE    truncate(2) by name                     -> "ok" or "err ERRNO"
///   pause                      prints "paused" and waits to be killed
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

namespace {

std::map<int, int> slots;
std::map<std::string, std::unique_ptr<SQLite::Database>> databases;

std::vector<std::string> fields_of(const std::string& command) {
  std::vector<std::string> fields;
  std::stringstream in{command};
  for (std::string field; std::getline(in, field, ':');)
    fields.push_back(field);
  return fields;
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::string outcome(long result) { return result < 0 ? "err " + std::to_string(errno) : "ok"; }
std::string counted(long result) { return result < 0 ? "err " + std::to_string(errno) : "ok " + std::to_string(result); }

int flags_of(const std::string& mode) {
  if (mode == "ro")
    return O_RDONLY;
  if (mode == "rw")
    return O_RDWR;
  if (mode == "rwc")
    return O_RDWR | O_CREAT;
  if (mode == "trunc")
    return O_RDWR | O_CREAT | O_TRUNC;
  if (mode == "dsync")
    return O_RDWR | O_CREAT | O_DSYNC;
  if (mode == "append")
    return O_RDWR | O_CREAT | O_APPEND;
  std::fprintf(stderr, "faultfs_child: unknown mode %s\n", mode.c_str());
  std::exit(2);
}

void sqlite_rows(const std::string& path, const std::string& sync, long first, long count) {
  auto& db = databases[path];
  if (!db) {
    db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }
  db->exec("PRAGMA synchronous = " + sync);
  SQLite::Statement insert{*db, "INSERT INTO t (id, body) VALUES (?, ?)"};
  long done = 0;
  try {
    for (long i = first; i < first + count; ++i, ++done) {
      SQLite::Transaction transaction{*db};
      insert.bind(1, static_cast<std::int64_t>(i));
      insert.bind(2, std::string(300, static_cast<char>('a' + i % 26)));
      insert.exec();
      insert.reset();
      transaction.commit();
    }
  } catch (const SQLite::Exception& e) {
    say("sqlite error " + std::to_string(e.getExtendedErrorCode()) + " after " + std::to_string(done));
    return;
  }
  say("committed " + std::to_string(count));
}

void threads(const std::string& path, int count, int pages) {
  std::vector<std::thread> workers;
  for (int t = 0; t < count; ++t)
    workers.emplace_back([&, t] {
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      const int sync_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      for (int p = 0; p < pages; ++p) {
        const std::string page(4096, static_cast<char>('A' + t));
        if (::pwrite(fd, page.data(), page.size(), static_cast<off_t>((t * pages + p) * 4096)) != 4096 ||
            ::fdatasync(sync_fd) != 0)
          std::abort();
      }
      ::close(sync_fd);
      ::close(fd);
    });
  for (auto& w : workers)
    w.join();
  say("threads done");
}

/// One forked writer: pages [first, first + count) of `c`, each written through `inherited` and fsynced through
/// a descriptor of its own; the exit status says whether every call succeeded.
[[noreturn]] void fork_writer(const std::string& path, int inherited, int first, int count, char c) {
  const int own = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  const std::string page(4096, c);
  bool ok = own >= 0;
  for (int p = first; ok && p < first + count; ++p)
    ok = ::pwrite(inherited, page.data(), page.size(), static_cast<off_t>(p) * 4096) == 4096 && ::fsync(own) == 0;
  ::_exit(ok ? 0 : 1);
}

void forks(const std::string& path, int n, int pages) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  std::vector<pid_t> children;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0)
      fork_writer(path, fd, i * pages, pages, static_cast<char>('a' + i));
    children.push_back(pid);
  }
  int succeeded = 0;
  for (const pid_t pid : children) {
    int status = 0;
    succeeded += pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  ::close(fd);
  say("forks done " + std::to_string(succeeded));
}

void run(const std::vector<std::string>& f) {
  const auto& c = f.at(0);
  auto slot = [&] { return slots.at(std::stoi(f.at(1))); };
  if (c == "open") {
    const int fd = ::open(f.at(2).c_str(), flags_of(f.at(3)) | O_CLOEXEC, 0644);
    if (fd >= 0)
      slots[std::stoi(f.at(1))] = fd;
    say(outcome(fd));
  } else if (c == "pwrite") {
    const std::string bytes(std::stoul(f.at(4)), f.at(3).at(0));
    say(counted(::pwrite(slot(), bytes.data(), bytes.size(), std::stol(f.at(2)))));
  } else if (c == "write") {
    const std::string bytes(std::stoul(f.at(3)), f.at(2).at(0));
    say(counted(::write(slot(), bytes.data(), bytes.size())));
  } else if (c == "writev") {
    std::string bytes(std::stoul(f.at(3)), f.at(2).at(0));
    iovec pieces[2] = {{bytes.data(), bytes.size() / 2}, {bytes.data() + bytes.size() / 2, bytes.size() - bytes.size() / 2}};
    say(counted(::writev(slot(), pieces, 2)));
  } else if (c == "truncate") {
    say(outcome(::ftruncate(slot(), std::stol(f.at(2)))));
  } else if (c == "fsync") {
    say(outcome(::fsync(slot())));
  } else if (c == "fdatasync") {
    say(outcome(::fdatasync(slot())));
  } else if (c == "dontneed") {
    const int e = ::posix_fadvise(slot(), 0, 0, POSIX_FADV_DONTNEED);
    say(e == 0 ? "ok" : "err " + std::to_string(e));
  } else if (c == "read") {
    char byte = 0;
    const auto n = ::pread(slot(), &byte, 1, std::stol(f.at(2)));
    say(n == 1 ? std::string{"byte "} + byte : "eof");
  } else if (c == "size") {
    struct stat st {};
    ::fstat(slot(), &st);
    say("size " + std::to_string(st.st_size));
  } else if (c == "dup") {
    const int fd = ::dup(slot());
    if (fd >= 0)
      slots[std::stoi(f.at(2))] = fd;
    say(outcome(fd));
  } else if (c == "close") {
    say(outcome(::close(slot())));
  } else if (c == "rename") {
    say(outcome(::rename(f.at(1).c_str(), f.at(2).c_str())));
  } else if (c == "unlink") {
    say(outcome(::unlink(f.at(1).c_str())));
  } else if (c == "sqlite") {
    sqlite_rows(f.at(1), f.at(2), std::stol(f.at(3)), std::stol(f.at(4)));
  } else if (c == "sync-during") {
    const int fd = slot();
    long synced = 0;
    int sync_errno = 0;
    std::thread syncer{[&] {
      synced = ::fdatasync(fd);
      sync_errno = errno;
    }};
    std::this_thread::sleep_for(std::chrono::milliseconds{std::stol(f.at(5))});
    const std::string bytes(std::stoul(f.at(4)), f.at(3).at(0));
    const auto written = ::pwrite(fd, bytes.data(), bytes.size(), std::stol(f.at(2)));
    syncer.join();
    errno = sync_errno;
    say("sync " + outcome(synced) + ", write " + std::to_string(written));
  } else if (c == "threads") {
    threads(f.at(1), std::stoi(f.at(2)), std::stoi(f.at(3)));
  } else if (c == "forks") {
    forks(f.at(1), std::stoi(f.at(2)), std::stoi(f.at(3)));
  } else if (c == "truncate-path") {
    say(outcome(::truncate(f.at(1).c_str(), std::stol(f.at(2)))));
  } else if (c == "pause") {
    say("paused");
    for (;;)
      ::pause();
  } else {
    std::fprintf(stderr, "faultfs_child: unknown command %s\n", c.c_str());
    std::exit(2);
  }
}

} // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    run(fields_of(argv[i]));
  return 0;
}
