#include "ctl/copy_ledger.hpp"

#include <chrono>
#include <optional>

#include "config/config.hpp"
#include "core/redact.hpp"
#include "ctl/tables.hpp"
#include "db/copy_ledger.hpp"

namespace deliveryd::ctl {

namespace {

using steady = std::chrono::steady_clock;

/// The options of the copy from the configuration's [storage]; nullopt (after saying why) when it names no
/// PostgreSQL ledger.
std::optional<db::copy_options> options_of(const copy_ledger_command& c, const std::string& config_path,
                                           console& io) {
  auto loaded = config::load_storage(config_path);
  if (auto* bad = std::get_if<config::config_error>(&loaded)) {
    io.err << "deliveryctl: " << bad->message << '\n';
    return std::nullopt;
  }
  const auto& storage = std::get<config::storage_config>(loaded);
  if (storage.backend != config::storage_backend::postgresql) {
    io.err << "deliveryctl: copy-ledger copies into a PostgreSQL ledger, and the [storage] backend of " << config_path
           << " is \"sqlite\": set backend = \"postgresql\" and url or url_file there first\n";
    return std::nullopt;
  }
  db::copy_options options;
  options.from = c.from;
  options.target.kind = db::backend::postgresql;
  options.target.sync = db::durability::on_commit;
  options.target.postgresql.url = storage.url;
  options.target.postgresql.host_id = storage.host_id;
  return options;
}

std::string counts(const db::copy_outcome& out) {
  return format_count(out.sends) + " sends, " + format_count(out.events) + " events (" + format_count(out.held)
         + " held for sends never registered)";
}

} // namespace

std::string copy_progress_line(std::int64_t sends, std::int64_t sends_total, std::int64_t events,
                               std::int64_t events_total) {
  const auto percent = sends_total > 0 ? sends * 100 / sends_total : 100;
  return "copy-ledger: " + format_count(sends) + " of " + format_count(sends_total) + " sends copied ("
         + std::to_string(percent) + " %), " + format_count(events) + " of " + format_count(events_total) + " events";
}

int run_copy_ledger(const copy_ledger_command& c, const std::string& config_path, console& io) {
  auto options = options_of(c, config_path, io);
  if (!options)
    return exit_config;
  const auto where = "PostgreSQL (" + core::redact_conninfo(options->target.postgresql.url) + ")";
  std::optional<steady::time_point> told;
  options->on_progress = [&](const db::copy_progress& p) {
    const auto now = steady::now();
    if (!told)
      io.err << "copy-ledger: copying " << c.from << " into " << where << ": " << format_count(p.sends_total)
             << " sends, " << format_count(p.events_total) << " events\n";
    else if (now - *told < std::chrono::seconds{copy_progress_seconds})
      return;
    else
      io.err << copy_progress_line(p.sends, p.sends_total, p.events, p.events_total) << '\n';
    io.err.flush();
    told = now;
  };
  auto copied = db::copy_ledger(*options);
  if (!copied) {
    io.err << "deliveryctl: " << copied.error().message << '\n';
    return exit_failed;
  }
  if (copied->already_done)
    io.out << "copy-ledger: nothing to do: " << where << " already holds the finished copy of " << c.from << ": "
           << counts(*copied) << '\n';
  else
    io.out << "copied " << c.from << " into " << where << ": " << counts(*copied) << "; days counted in "
           << copied->zone << (copied->resumed ? "; went on where the last run stopped" : "") << '\n';
  return exit_ok;
}

} // namespace deliveryd::ctl
