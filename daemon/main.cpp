// deliveryd: tells, for every message sent through an outside vendor, what really happened to it.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "daemon/app.hpp"

namespace {

constexpr std::string_view usage =
  "usage: deliveryd --config PATH [--check-config]\n"
  "  --config PATH     the TOML configuration (see config/deliveryd.example.toml)\n"
  "  --check-config    validate the configuration and exit (0 when it is valid)\n"
  "  --version         print the version and exit\n";

/// Under systemd (JOURNAL_STREAM set) logs go straight to the journal with their priority, so that
/// `journalctl -p warning` works; elsewhere to stderr with a time stamp.
void setup_logging() {
  std::shared_ptr<spdlog::logger> logger;
  if (std::getenv("JOURNAL_STREAM")) {
    logger = std::make_shared<spdlog::logger>("deliveryd", std::make_shared<spdlog::sinks::systemd_sink_mt>());
    logger->set_pattern("%v");
  } else {
    logger = spdlog::stderr_logger_mt("deliveryd");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  if (const char* level = std::getenv("DELIVERYD_LOG_LEVEL"))
    logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

} // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--version") {
      std::puts("deliveryd " DELIVERYD_VERSION);
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(usage.data(), stdout);
      return 0;
    } else {
      std::fprintf(stderr, "deliveryd: unknown argument '%s'\n%s", argv[i], usage.data());
      return 2;
    }
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "deliveryd: --config PATH is required\n%s", usage.data());
    return 2;
  }
  setup_logging();
  auto loaded = deliveryd::config::load(config_path);
  if (auto* err = std::get_if<deliveryd::config::config_error>(&loaded)) {
    spdlog::critical("config invalid: {}", err->message);
    return 1;
  }
  if (check_only) {
    std::printf("%s: configuration is valid\n", config_path.c_str());
    return 0;
  }
  return deliveryd::daemon::run(std::get<deliveryd::config::daemon_config>(loaded));
}
