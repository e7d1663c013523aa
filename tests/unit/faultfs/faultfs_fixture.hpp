#pragma once
/// The fault layer's self-tests' fixture: a fresh root, state and outside folder per test, the control, and the
/// helper program (faultfs_child) run under the layer until it says "paused", then SIGKILLed.

#include <filesystem>
#include <string>
#include <vector>

#include "faultfs_control.hpp"

namespace faultfs_test {

namespace fs = std::filesystem;
using namespace deliveryd::testing::faultfs;

/// `count` bytes `c`.
inline std::string bytes(char c, std::size_t count) { return std::string(count, c); }

/// Every byte of a file ("" when it does not exist).
std::string read_file(const fs::path& file);
/// Writes a file directly (not under the layer): what it holds counts as on the disk at the layer's first open.
void write_file(const fs::path& file, const std::string& content);

/// One test's folders and control.
class layer_fixture {
  fs::path base_; // first: the control's folders lie in it

public:
  layer_fixture();
  ~layer_fixture();
  layer_fixture(const layer_fixture&) = delete;
  layer_fixture& operator=(const layer_fixture&) = delete;

  /// Runs faultfs_child with `commands` under the layer (`with_layer` false: LD_PRELOAD alone, without the
  /// variables) until it prints "paused" or exits; SIGKILLs it and waits for it. Its output lines, "paused" left
  /// out.
  std::vector<std::string> run(const std::vector<std::string>& commands, bool with_layer = true);

  /// A path under the root.
  fs::path at(const std::string& relative) const { return layer.root() / relative; }
  /// A path outside the root (not tracked).
  fs::path outside(const std::string& name) const { return base_ / "outside" / name; }

  control layer;
};

} // namespace faultfs_test
