// deliveryctl's command line.
#include <catch2/catch.hpp>

#include "ctl/args.hpp"

using namespace deliveryd::ctl;

namespace {

invocation ok(std::vector<std::string> args) {
  auto parsed = parse_args(args);
  if (auto* bad = std::get_if<usage_error>(&parsed))
    FAIL("usage error: " << bad->message);
  return std::get<invocation>(parsed);
}

std::string refused(std::vector<std::string> args) {
  auto parsed = parse_args(args);
  REQUIRE(std::holds_alternative<usage_error>(parsed));
  return std::get<usage_error>(parsed).message;
}

} // namespace

TEST_CASE("args: global options anywhere, values after a space or '='", "[ctl][args]") {
  auto inv = ok({"--config", "/tmp/d.toml", "day", "2026-11-27", "--json", "--status=failed", "--limit", "50"});
  CHECK(inv.config_path == "/tmp/d.toml");
  CHECK(inv.json);
  const auto& d = std::get<day_command>(inv.cmd);
  CHECK(d.date == "2026-11-27");
  CHECK(d.status == "failed");
  CHECK(d.limit == 50);
  CHECK_FALSE(d.all);
  CHECK_FALSE(d.cursor);
}

TEST_CASE("args: every command", "[ctl][args]") {
  CHECK(std::get<summary_command>(ok({"summary", "2026-11", "--campaign", "cmp 42"}).cmd).filter.campaign
        == "cmp 42");
  auto day = std::get<day_command>(ok({"day", "2026-11-27", "--all", "--one-time", "ot-7", "--medium", "sms",
                                       "--contact", "010-1234-5678", "--cursor", "abc.1"}).cmd);
  CHECK(day.all);
  CHECK(day.filter.one_time == "ot-7");
  CHECK(day.medium == "sms");
  CHECK(day.contact == "010-1234-5678");
  CHECK(day.cursor == "abc.1");
  CHECK(std::get<send_command>(ok({"send", "--", "-odd-id"}).cmd).send_id == "-odd-id");
  CHECK(std::holds_alternative<codes_command>(ok({"codes"}).cmd));
  CHECK(std::holds_alternative<health_command>(ok({"health", "--token-file", "/t"}).cmd));
  CHECK(ok({"health", "--token-file", "/t"}).token_file == "/t");
  auto e = std::get<export_command>(ok({"export", "2026-11", "--format", "xlsx", "-o", "out.xlsx"}).cmd);
  CHECK(e.format == "xlsx");
  CHECK(e.output == "out.xlsx");
  CHECK(std::holds_alternative<help_command>(ok({"--help"}).cmd));
  CHECK(std::holds_alternative<help_command>(ok({"summary", "-h"}).cmd));
}

TEST_CASE("args: bad command lines say what is wrong", "[ctl][args]") {
  CHECK(refused({}) == "a command is needed");
  CHECK(refused({"frobnicate"}) == "unknown command \"frobnicate\"");
  CHECK(refused({"summary"}) == "summary needs a month YYYY-MM");
  CHECK(refused({"summary", "2026-1"}) == "\"2026-1\" is not a month YYYY-MM");
  CHECK(refused({"day", "2026-11-27", "--campaign", "a", "--one-time", "b"})
        == "--campaign and --one-time exclude each other");
  CHECK(refused({"day", "2026-11-27", "--limit", "0"}) == "--limit must be a number of 1 to 1000");
  CHECK(refused({"day", "2026-11-27", "--limit", "1001"}) == "--limit must be a number of 1 to 1000");
  CHECK(refused({"codes", "--status", "failed"}) == "--status does not apply to codes");
  CHECK(refused({"summary", "2026-11", "--all"}) == "--all does not apply to summary");
  CHECK(refused({"export", "2026-11"}) == "export needs --format jsonl or --format xlsx");
  CHECK(refused({"export", "2026-11", "--format", "csv"}) == "export needs --format jsonl or --format xlsx");
  CHECK(refused({"send", "a", "b"}) == "unexpected argument b");
  CHECK(refused({"codes", "--bogus"}) == "unknown option --bogus");
  CHECK(refused({"day", "2026-11-27", "--status"}) == "--status needs a value");
  CHECK(refused({"day", "2026-11-27", "--all=yes"}) == "--all takes no value");
  CHECK(refused({"day", "2026-11-27", "--medium", "sms", "--medium", "lms"}) == "--medium is given twice");
}

TEST_CASE("args: copy-ledger needs --from, and takes none of the ops listener's options", "[ctl][args]") {
  auto inv = ok({"--config", "/etc/deliveryd/pg.toml", "copy-ledger", "--from", "/var/lib/deliveryd/ledger.db"});
  CHECK(inv.config_path == "/etc/deliveryd/pg.toml");
  CHECK(std::get<copy_ledger_command>(inv.cmd).from == "/var/lib/deliveryd/ledger.db");
  CHECK(std::get<copy_ledger_command>(ok({"copy-ledger", "--from=ledger.db"}).cmd).from == "ledger.db");
  CHECK(refused({"copy-ledger"}) == "copy-ledger needs --from PATH, the SQLite ledger to copy");
  CHECK(refused({"copy-ledger", "--from="}) == "copy-ledger needs --from PATH, the SQLite ledger to copy");
  CHECK(refused({"copy-ledger", "ledger.db"}) == "unexpected argument ledger.db");
  CHECK(refused({"copy-ledger", "--from", "a.db", "--json"}) == "--json does not apply to copy-ledger");
  CHECK(refused({"copy-ledger", "--from", "a.db", "--token-file", "/t"}) == "--token-file does not apply to copy-ledger");
  CHECK(refused({"copy-ledger", "--from", "a.db", "--limit", "3"}) == "--limit does not apply to copy-ledger");
  CHECK(refused({"summary", "2026-11", "--from", "a.db"}) == "--from does not apply to summary");
  CHECK(std::holds_alternative<help_command>(ok({"copy-ledger", "--help"}).cmd));
  CHECK_THAT(usage_text(), Catch::Contains("copy-ledger --from PATH"));
}
