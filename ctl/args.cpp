#include "ctl/args.hpp"

#include <charconv>
#include <map>
#include <set>

namespace deliveryd::ctl {

namespace {

/// The options of the command line after the global ones were taken out.
struct split_args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values; ///< option name (with dashes) -> value
  std::set<std::string> flags;               ///< options without a value
};

/// Options that take a value, and those that do not.
const std::set<std::string> valued = {"--config", "--token-file", "--campaign", "--one-time", "--status", "--medium",
                                      "--contact", "--limit", "--cursor", "--format", "-o", "--output", "--from"};
const std::set<std::string> flag_names = {"--json", "--all", "--help", "-h"};

std::variant<split_args, usage_error> split(const std::vector<std::string>& args) {
  split_args out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--" ) {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      out.positional.push_back(arg);
      continue;
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (flag_names.count(name) != 0) {
      if (value)
        return usage_error{name + " takes no value"};
      out.flags.insert(name);
      continue;
    }
    if (valued.count(name) == 0)
      return usage_error{"unknown option " + name};
    if (!value) {
      if (i + 1 >= args.size())
        return usage_error{name + " needs a value"};
      value = args[++i];
    }
    if (out.values.count(name) != 0)
      return usage_error{name + " is given twice"};
    out.values[name == "--output" ? "-o" : name] = *value;
  }
  return out;
}

/// Takes an option's value out of `a`; nullopt when absent.
std::optional<std::string> take(split_args& a, const std::string& name) {
  auto it = a.values.find(name);
  if (it == a.values.end())
    return std::nullopt;
  auto value = std::move(it->second);
  a.values.erase(it);
  return value;
}

bool digits_at(const std::string& text, std::initializer_list<std::size_t> positions) {
  for (auto p : positions)
    if (p >= text.size() || text[p] < '0' || text[p] > '9')
      return false;
  return true;
}

bool is_month(const std::string& t) { return t.size() == 7 && t[4] == '-' && digits_at(t, {0, 1, 2, 3, 5, 6}); }

bool is_date(const std::string& t) {
  return t.size() == 10 && t[4] == '-' && t[7] == '-' && digits_at(t, {0, 1, 2, 3, 5, 6, 8, 9});
}

std::optional<usage_error> read_filter(split_args& a, source_filter& out) {
  out.campaign = take(a, "--campaign");
  out.one_time = take(a, "--one-time");
  if (out.campaign && out.one_time)
    return usage_error{"--campaign and --one-time exclude each other"};
  return std::nullopt;
}

/// The single positional argument of a command, checked by `valid`.
std::variant<std::string, usage_error> operand(const split_args& a, const std::string& command, const char* what,
                                               bool (*valid)(const std::string&)) {
  if (a.positional.size() < 2)
    return usage_error{command + " needs " + what};
  if (a.positional.size() > 2)
    return usage_error{"unexpected argument " + a.positional[2]};
  if (valid != nullptr && !valid(a.positional[1]))
    return usage_error{"\"" + a.positional[1] + "\" is not " + what};
  return a.positional[1];
}

std::variant<command, usage_error> read_day(split_args& a) {
  auto date = operand(a, "day", "a date YYYY-MM-DD", is_date);
  if (auto* bad = std::get_if<usage_error>(&date))
    return *bad;
  day_command d;
  d.date = std::get<std::string>(date);
  if (auto bad = read_filter(a, d.filter))
    return *bad;
  d.status = take(a, "--status");
  d.medium = take(a, "--medium");
  d.contact = take(a, "--contact");
  d.cursor = take(a, "--cursor");
  if (auto limit = take(a, "--limit")) {
    int n = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc{} || end != limit->data() + limit->size() || n < 1 || n > 1000)
      return usage_error{"--limit must be a number of 1 to 1000"};
    d.limit = n;
  }
  d.all = a.flags.erase("--all") != 0;
  return command{d};
}

std::variant<command, usage_error> read_export(split_args& a) {
  auto month = operand(a, "export", "a month YYYY-MM", is_month);
  if (auto* bad = std::get_if<usage_error>(&month))
    return *bad;
  export_command e;
  e.month = std::get<std::string>(month);
  auto format = take(a, "--format");
  if (!format || (*format != "jsonl" && *format != "xlsx"))
    return usage_error{"export needs --format jsonl or --format xlsx"};
  e.format = *format;
  e.output = take(a, "-o");
  if (e.output && e.output->empty())
    return usage_error{"-o needs a file name (or - for standard output)"};
  if (auto bad = read_filter(a, e.filter))
    return *bad;
  return command{e};
}

std::variant<command, usage_error> read_command(split_args& a) {
  const auto& name = a.positional.front();
  if (name == "summary") {
    auto month = operand(a, name, "a month YYYY-MM", is_month);
    if (auto* bad = std::get_if<usage_error>(&month))
      return *bad;
    summary_command s{std::get<std::string>(month), {}};
    if (auto bad = read_filter(a, s.filter))
      return *bad;
    return command{s};
  }
  if (name == "day")
    return read_day(a);
  if (name == "send") {
    auto id = operand(a, name, "a send id", nullptr);
    if (auto* bad = std::get_if<usage_error>(&id))
      return *bad;
    return command{send_command{std::get<std::string>(id)}};
  }
  if (name == "export")
    return read_export(a);
  if (name == "copy-ledger") {
    if (a.positional.size() > 1)
      return usage_error{"unexpected argument " + a.positional[1]};
    auto from = take(a, "--from");
    if (!from || from->empty())
      return usage_error{"copy-ledger needs --from PATH, the SQLite ledger to copy"};
    return command{copy_ledger_command{*from}};
  }
  if (name == "codes" || name == "health" || name == "help") {
    if (a.positional.size() > 1)
      return usage_error{"unexpected argument " + a.positional[1]};
    if (name == "codes")
      return command{codes_command{}};
    if (name == "health")
      return command{health_command{}};
    return command{help_command{}};
  }
  return usage_error{"unknown command \"" + name + "\""};
}

} // namespace

std::variant<invocation, usage_error> parse_args(const std::vector<std::string>& args) {
  auto split_result = split(args);
  if (auto* bad = std::get_if<usage_error>(&split_result))
    return *bad;
  auto& a = std::get<split_args>(split_result);
  invocation inv;
  inv.config_path = take(a, "--config");
  inv.token_file = take(a, "--token-file");
  inv.json = a.flags.erase("--json") != 0;
  if (a.flags.erase("--help") + a.flags.erase("-h") > 0) {
    inv.cmd = help_command{};
    return inv;
  }
  if (a.positional.empty())
    return usage_error{"a command is needed"};
  auto cmd = read_command(a);
  if (auto* bad = std::get_if<usage_error>(&cmd))
    return *bad;
  // Whatever the command did not take does not belong to it.
  if (!a.values.empty())
    return usage_error{a.values.begin()->first + " does not apply to " + a.positional.front()};
  if (!a.flags.empty())
    return usage_error{*a.flags.begin() + " does not apply to " + a.positional.front()};
  // copy-ledger talks to PostgreSQL, not to the ops listener, and prints no answer of deliveryd's.
  if (std::holds_alternative<copy_ledger_command>(std::get<command>(cmd))) {
    if (inv.json)
      return usage_error{"--json does not apply to copy-ledger"};
    if (inv.token_file)
      return usage_error{"--token-file does not apply to copy-ledger"};
  }
  inv.cmd = std::move(std::get<command>(cmd));
  return inv;
}

const char* usage_text() {
  return R"(usage: deliveryctl [--config PATH] [--token-file PATH] [--json] COMMAND

Commands:
  summary MONTH [--campaign ID | --one-time ID]
        the month's sends by status, count and cost per medium, vendor prices, and one row per day
  day DATE [--status S] [--medium M] [--contact C] [--campaign ID | --one-time ID]
           [--limit N] [--cursor C] [--all]
        the day's sends, newest first, with reasons; --all follows every page to the end
  send SEND_ID
        one send with its failover legs and its history
  codes
        the reason code table
  export MONTH --format jsonl|xlsx [-o FILE] [--campaign ID | --one-time ID]
        the month's sends as a file (default: the name deliveryd suggests; - for standard output)
  health
        whether deliveryd is up and its ledger commits
  copy-ledger --from PATH
        copies the SQLite ledger PATH, history included, into the PostgreSQL ledger of
        [storage]; run it with the daemon stopped; run it again to go on after a stop

MONTH is YYYY-MM and DATE is YYYY-MM-DD, in deliveryd's [time] zone.

Options:
  --config PATH       deliveryd's configuration, for [ops] listen and token_file
                      (copy-ledger: [storage] backend, url or url_file, host_id)
                      (default: $DELIVERYD_CONFIG, else /etc/deliveryd/deliveryd.toml)
  --token-file PATH   read the ops token from PATH instead of [ops] token_file
  --json              print deliveryd's JSON answer as it is (day --all: every row in one answer)

Exit status: 0 ok, 1 deliveryd answered with an error (copy-ledger: the copy failed or was
refused), 2 deliveryd cannot be reached, 64 bad usage, 78 the configuration cannot be read
(copy-ledger: or its backend is not "postgresql").
)";
}

} // namespace deliveryd::ctl
