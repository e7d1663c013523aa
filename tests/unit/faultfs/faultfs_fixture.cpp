#include "faultfs_fixture.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace faultfs_test {

namespace {

fs::path fresh_base() {
  std::random_device seed;
  const auto base = fs::temp_directory_path() / ("deliveryd-faultfs-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(seed()));
  fs::create_directories(base / "outside");
  return base;
}

/// The test process's environment without the layer's variables, then `extra`.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry{*e};
    if (!entry.starts_with("LD_PRELOAD=") && !entry.starts_with("DELIVERYD_FAULTFS_"))
      env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (auto& s : strings)
    p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

} // namespace

std::string read_file(const fs::path& file) {
  std::ifstream in{file, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void write_file(const fs::path& file, const std::string& content) {
  std::ofstream out{file, std::ios::binary | std::ios::trunc};
  out << content;
  REQUIRE(out.good());
}

layer_fixture::layer_fixture()
  : base_{fresh_base()}, layer{base_ / "root", base_ / "state", DELIVERYD_FAULTFS_LIBRARY} {}

layer_fixture::~layer_fixture() {
  std::error_code ignored;
  fs::remove_all(base_, ignored);
}

std::vector<std::string> layer_fixture::run(const std::vector<std::string>& commands, bool with_layer) {
  std::vector<std::string> args{DELIVERYD_FAULTFS_CHILD};
  args.insert(args.end(), commands.begin(), commands.end());
  auto env = child_environment(with_layer ? layer.environment()
                                          : std::vector<std::string>{"LD_PRELOAD=" + layer.library().string()});
  auto argv = pointers(args);
  auto envp = pointers(env);
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  REQUIRE(pid > 0);
  ::close(out[1]);
  std::vector<std::string> lines;
  std::string pending;
  char buffer[4096];
  bool paused = false;
  while (!paused) {
    const auto n = ::read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    pending.append(buffer, static_cast<std::size_t>(n));
    for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
      const auto line = pending.substr(0, end);
      pending.erase(0, end + 1);
      if (line == "paused")
        paused = true;
      else
        lines.push_back(line);
    }
  }
  ::close(out[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  INFO("the child's output: " << Catch::Detail::stringify(lines));
  // A child that did not reach "pause" failed (an unknown command, an abort of the layer).
  CHECK((paused || (WIFEXITED(status) && WEXITSTATUS(status) == 0)));
  return lines;
}

} // namespace faultfs_test
