// deliveryctl: the ops command line of deliveryd. See `deliveryctl --help` and docs/operations.md.
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#include "ctl/args.hpp"
#include "ctl/commands.hpp"
#include "ctl/copy_ledger.hpp"
#include "ctl/endpoint.hpp"

int main(int argc, char** argv) {
  using namespace deliveryd::ctl;
  auto parsed = parse_args({argv + 1, argv + argc});
  if (auto* bad = std::get_if<usage_error>(&parsed)) {
    std::cerr << "deliveryctl: " << bad->message << "\n\n" << usage_text();
    return exit_usage;
  }
  const auto& inv = std::get<invocation>(parsed);
  if (std::holds_alternative<help_command>(inv.cmd)) {
    std::cout << usage_text();
    return exit_ok;
  }
  if (const auto* copy = std::get_if<copy_ledger_command>(&inv.cmd)) {
    console io{std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1};
    const int status = run_copy_ledger(*copy, config_file(inv.config_path, std::getenv("DELIVERYD_CONFIG")), io);
    std::cout.flush();
    return std::cout.good() ? status : exit_failed;
  }
  auto endpoint = load_endpoint(inv.config_path, std::getenv("DELIVERYD_CONFIG"), inv.token_file);
  if (auto* bad = std::get_if<endpoint_error>(&endpoint)) {
    std::cerr << "deliveryctl: " << bad->message << '\n';
    return exit_config;
  }
  console io{std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1};
  const int status = run(inv, std::get<ops_endpoint>(endpoint), io);
  std::cout.flush();
  return std::cout.good() ? status : exit_failed;
}
