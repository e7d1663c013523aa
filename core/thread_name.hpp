#pragma once
/// Names the calling thread, so that `top -H`, `ps -T`, perf and /proc/<pid>/task/*/comm tell the daemon's
/// threads apart (the ledger, its sync, the checkpointer, each listener's workers) instead of showing the
/// process's name, or the name of the thread that started them, for all of them.

#include <pthread.h>

#include <string>
#include <string_view>

namespace deliveryd::core {

/// Linux keeps 15 bytes of a thread's name; longer names are cut there.
inline void name_this_thread(std::string_view name) {
  const std::string cut{name.substr(0, 15)};
  ::pthread_setname_np(::pthread_self(), cut.c_str());
}

} // namespace deliveryd::core
