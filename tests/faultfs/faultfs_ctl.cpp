/// faultfs-ctl: the fault layer's control from a shell, for trying the layer by hand (tests/faultfs/README.md).
/// It reads DELIVERYD_FAULTFS_ROOT and DELIVERYD_FAULTFS_STATE, as the layer does.

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "faultfs_control.hpp"

using namespace deliveryd::testing::faultfs;

namespace {

constexpr const char* usage = R"(usage: faultfs-ctl COMMAND   (with DELIVERYD_FAULTFS_ROOT and DELIVERYD_FAULTFS_STATE set)
  env                                        the environment of a process under the layer (eval-able lines)
  arm write|fsync|fdatasync ERRNO [COUNT|all] [SUFFIX]
                                             fail the next COUNT calls (default all) with ERRNO (EIO, ENOSPC or a
                                             number), only on files whose path ends with SUFFIX if given
  disarm                                     disarm every operation
  delay-syncs MS                             a slow disk: each sync waits MS ms after its snapshot (0: none)
  counters                                   what the layer counted
  reset-counters                             set every counter to 0
  files                                      the tracked files, with their dirty pages
  drop-caches                                clean pages become the disk's again (lost pages disappear)
  cut                                        power cut: every tracked file becomes its disk (no process under the
                                             layer may run)
)";

constexpr const char* counter_names[counter_count] = {
    "write_calls",  "write_faults", "fsync_calls",    "fsync_faults",  "fdatasync_calls", "fdatasync_faults",
    "truncate_calls", "open_calls", "close_calls",    "dsync_writes",  "synced_pages",    "lost_pages",
    "dontneed_calls", "unlink_calls", "rename_calls", "dir_syncs",     "untracked_opens"};

int errno_of(const std::string& name) {
  if (name == "EIO")
    return EIO;
  if (name == "ENOSPC")
    return ENOSPC;
  if (name == "EROFS")
    return EROFS;
  if (name == "EDQUOT")
    return EDQUOT;
  return std::stoi(name);
}

op op_of(const std::string& name) {
  if (name == "write")
    return op::write;
  if (name == "fsync")
    return op::fsync;
  if (name == "fdatasync")
    return op::fdatasync;
  throw std::invalid_argument{"unknown operation " + name};
}

int run(const std::vector<std::string>& args) {
  const char* root = std::getenv(root_variable);
  const char* state = std::getenv(state_variable);
  if (args.empty() || root == nullptr || state == nullptr) {
    std::cerr << usage;
    return 2;
  }
  control c{root, state, DELIVERYD_FAULTFS_LIBRARY};
  const auto& command = args[0];
  if (command == "env") {
    for (const auto& line : c.environment())
      std::cout << "export " << line << "\n";
  } else if (command == "arm" && args.size() >= 3) {
    const std::int64_t count = args.size() >= 4 && args[3] != "all" ? std::stoll(args[3]) : -1;
    c.arm(op_of(args[1]), errno_of(args[2]), count, args.size() >= 5 ? args[4] : "");
  } else if (command == "disarm") {
    c.disarm();
  } else if (command == "delay-syncs" && args.size() == 2) {
    c.delay_syncs(static_cast<unsigned>(std::stoul(args[1])));
  } else if (command == "counters") {
    const auto values = c.counters();
    for (std::size_t i = 0; i < counter_count; ++i)
      std::cout << counter_names[i] << " " << values.values[i] << "\n";
  } else if (command == "reset-counters") {
    c.reset_counters();
  } else if (command == "files") {
    for (const auto& name : c.tracked_files()) {
      std::cout << name << (c.size_dirty(name) ? " size-dirty" : "") << " dirty:";
      for (const auto page : c.dirty_pages(name))
        std::cout << " " << page;
      std::cout << "\n";
    }
  } else if (command == "drop-caches") {
    c.drop_caches();
  } else if (command == "cut") {
    c.power_cut();
  } else {
    std::cerr << usage;
    return 2;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run({argv + 1, argv + argc});
  } catch (const std::exception& e) {
    std::cerr << "faultfs-ctl: " << e.what() << "\n";
    return 1;
  }
}
