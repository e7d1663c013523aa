#pragma once
/// deliveryctl's command line, read into typed commands. Pure: no I/O.

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace deliveryd::ctl {

/// The campaign / one-time filter of the month and day queries (at most one is set).
struct source_filter {
  std::optional<std::string> campaign; ///< --campaign ID
  std::optional<std::string> one_time; ///< --one-time ID
};

/// `summary MONTH [--campaign ID | --one-time ID]`
struct summary_command {
  std::string month;
  source_filter filter;
};

/// `day DATE [--status S] [--medium M] [--contact C] [--campaign ID | --one-time ID] [--limit N] [--cursor C] [--all]`
struct day_command {
  std::string date;
  source_filter filter;
  std::optional<std::string> status, medium, contact, cursor;
  std::optional<int> limit;
  bool all = false; ///< follow next_cursor to the last page
};

/// `send SEND_ID`
struct send_command {
  std::string send_id;
};

/// `codes`
struct codes_command {};

/// `export MONTH --format jsonl|xlsx [-o FILE] [--campaign ID | --one-time ID]`
struct export_command {
  std::string month;
  std::string format;
  std::optional<std::string> output; ///< "-" is standard output; absent: the name the daemon suggests
  source_filter filter;
};

/// `health`
struct health_command {};

/// `copy-ledger --from PATH`: copies an SQLite ledger into the PostgreSQL ledger of the configuration's
/// [storage]. The one command that needs no daemon and talks to the database itself.
struct copy_ledger_command {
  std::string from; ///< the SQLite ledger's file
};

/// `help`, `--help`, `-h`
struct help_command {};

/// One of the commands.
using command = std::variant<summary_command, day_command, send_command, codes_command, export_command,
                             health_command, copy_ledger_command, help_command>;

/// A whole command line.
struct invocation {
  std::optional<std::string> config_path; ///< --config PATH
  std::optional<std::string> token_file;  ///< --token-file PATH, instead of [ops] token_file
  bool json = false;                      ///< --json: the daemon's JSON as it is
  command cmd;
};

/// A command line that cannot be run; `message` says why in one sentence.
struct usage_error {
  std::string message;
};

/// Reads the arguments after the program name. Global options (--config, --token-file, --json) may stand
/// anywhere; each option takes its value as the next argument or after '='.
std::variant<invocation, usage_error> parse_args(const std::vector<std::string>& args);

/// The usage text.
const char* usage_text();

} // namespace deliveryd::ctl
