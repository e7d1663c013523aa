#pragma once
/// Running deliveryctl's commands against the ops listener: build the request, ask, print the answer.

#include <ostream>

#include "ctl/args.hpp"
#include "ctl/endpoint.hpp"

namespace deliveryd::ctl {

/// deliveryctl's exit statuses (64 and 78 as in sysexits.h).
enum exit_status : int {
  exit_ok = 0,          ///< done
  exit_failed = 1,      ///< deliveryd answered with an error, or the output could not be written
  exit_unreachable = 2, ///< deliveryd could not be reached
  exit_usage = 64,      ///< bad command line
  exit_config = 78,     ///< the configuration cannot be read
};

/// Where commands write: answers to `out`, messages and progress to `err`.
struct console {
  std::ostream& out;
  std::ostream& err;
  bool err_is_terminal = false; ///< show a progress display on `err` during exports
};

/// Runs one command (not `help`); returns the exit status.
int run(const invocation& inv, const ops_endpoint& endpoint, console& io);

} // namespace deliveryd::ctl
