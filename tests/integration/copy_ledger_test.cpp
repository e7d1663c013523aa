// deliveryctl copy-ledger as docs/operations.md ("Several hosts") has the operator run it: a daemon on SQLite takes
// a month of sends and callbacks and stops; copy-ledger copies its ledger into the PostgreSQL ledger of another
// config; a daemon started on that answers every query as the SQLite one did, export bytes included. Tagged
// [.][postgresql]: they run in ctest's "integration on postgresql" entry, or by their tag.
#include <map>

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "month_support.hpp"

using namespace it;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// What a daemon answers about the month that starts at `start`.
struct answers {
  std::map<std::string, json> summaries;   ///< by query
  json sources;
  std::vector<json> pages;                 ///< every page of every day, three rows each, as answered
  std::map<std::string, json> sends;       ///< every send and failover leg, with its history
  std::string jsonl, xlsx;                 ///< the month's exports, byte for byte
};

std::string body_of_get(httplib::Client& ops, const std::string& path) {
  auto res = ops.Get(path.c_str());
  INFO("GET " << path << " -> " << describe(res));
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return res->body;
}

answers answers_of(const daemon_process& d, seconds_point start) {
  auto ops = d.ops_client();
  const auto month = seoul_month(start);
  answers out;
  for (const std::string filter : {"", "&campaign=cmp-A", "&one_time=ot-1"})
    out.summaries[filter] = get_json(*ops, "/v1/log/summary?month=" + month + filter);
  out.summaries["before"] = get_json(*ops, "/v1/log/summary?month=" + seoul_month(start - 1s));
  out.sources = get_json(*ops, "/v1/log/sources?month=" + month);
  for (const auto& date : days_of(start))
    for (const std::string filter : {"", "&status=failed"}) {
      std::string cursor;
      do {
        auto page = get_json(*ops, "/v1/log/day/" + date + "?limit=3" + filter
                                     + (cursor.empty() ? "" : "&cursor=" + cursor));
        cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
        for (const auto& row : page["rows"]) {
          out.sends[row["send_id"].get<std::string>()] = json{};
          for (const auto& leg : row.value("legs", json::array()))
            out.sends[leg["send_id"].get<std::string>()] = json{};
        }
        out.pages.push_back(std::move(page));
      } while (!cursor.empty());
    }
  out.sends["before"] = json{};
  for (auto& [id, detail] : out.sends)
    detail = get_json(*ops, "/v1/sends/" + id);
  out.jsonl = body_of_get(*ops, "/v1/log/export?month=" + month + "&format=jsonl");
  out.xlsx = body_of_get(*ops, "/v1/log/export?month=" + month + "&format=xlsx");
  return out;
}

/// A copy of `d`'s configuration whose [storage] url comes from a file that holds a password as well, as an
/// operator's would (the test cluster trusts local connections and ignores it).
fs::path config_with_password(const daemon_process& d, const fs::path& dir) {
  auto text = read_file(d.config_path());
  const auto at = text.find("url = \"");
  REQUIRE(at != std::string::npos);
  const auto end = text.find('\n', at);
  const auto url = text.substr(at + 7, end - at - 8);
  write_file(dir / "ledger-url", url + " password=s3cret-pw\n");
  text.replace(at, end - at, "url_file = \"" + (dir / "ledger-url").string() + "\"");
  write_file(dir / "deliveryd.toml", text);
  return dir / "deliveryd.toml";
}

run_result copy_ledger(const fs::path& config, const fs::path& from) {
  return run_program({DELIVERYCTL_BINARY, "--config", config.string(), "copy-ledger", "--from", from.string()}, 120s);
}

} // namespace

TEST_CASE("copy-ledger: a daemon on the copy answers every query as the SQLite daemon did",
          "[.][postgresql][copy-ledger]") {
  auto sqlite_options = month_options();
  sqlite_options.postgresql = false;
  daemon_process sqlite{sqlite_options};
  const auto start = month_start(now_seconds() - std::chrono::days{4});
  {
    auto ops = sqlite.ops_client();
    auto hooks = sqlite.webhooks_client();
    fill_month(sqlite, *ops, *hooks, start);
    // A callback for a message no send ever had: held, and copied as such.
    auto held = post_twilio(*hooks, sqlite.public_url(), twilio_callback("SMnever-registered", "delivered"));
    REQUIRE(held);
    REQUIRE(held->status == 200);
  }
  const auto before = answers_of(sqlite, start);
  REQUIRE(before.sends.size() >= 20);
  REQUIRE(sqlite.terminate() == 0);

  auto postgresql_options = month_options();
  postgresql_options.postgresql = true;
  daemon_process postgresql{postgresql_options};
  REQUIRE(postgresql.terminate() == 0); // its ledger exists, empty: the group's daemons are stopped for the copy

  temp_dir dir;
  const auto config = config_with_password(postgresql, dir.path());
  auto copied = copy_ledger(config, sqlite.ledger_path());
  INFO(copied.output);
  CHECK(copied.exit_code == 0);
  CHECK(contains(copied.output, "copy-ledger: copying " + sqlite.ledger_path().string() + " into PostgreSQL ("));
  CHECK(contains(copied.output, "copied " + sqlite.ledger_path().string() + " into PostgreSQL ("));
  CHECK(contains(copied.output, "password=***"));
  CHECK_FALSE(contains(copied.output, "s3cret-pw"));
  CHECK(contains(copied.output, " sends, "));
  CHECK(contains(copied.output, " events (1 held for sends never registered); days counted in Asia/Seoul\n"));

  auto again = copy_ledger(config, sqlite.ledger_path());
  INFO(again.output);
  CHECK(again.exit_code == 0);
  CHECK(contains(again.output, "copy-ledger: nothing to do: PostgreSQL ("));
  CHECK(contains(again.output, "already holds the finished copy of " + sqlite.ledger_path().string()));

  postgresql.start();
  const auto after = answers_of(postgresql, start);
  CHECK(after.summaries == before.summaries);
  CHECK(after.sources == before.sources);
  CHECK(after.pages == before.pages);
  for (const auto& [id, detail] : before.sends) {
    INFO(id);
    CHECK(after.sends.at(id) == detail);
  }
  CHECK(after.sends.size() == before.sends.size());
  CHECK(after.jsonl == before.jsonl);
  CHECK(after.xlsx.size() == before.xlsx.size());
  CHECK(after.xlsx == before.xlsx);
}

TEST_CASE("copy-ledger: a configuration on SQLite is refused with exit 78; a source it cannot copy is exit 1",
          "[.][postgresql][copy-ledger]") {
  daemon_options options;
  options.postgresql = false;
  daemon_process sqlite{options};
  auto refused = copy_ledger(sqlite.config_path(), sqlite.ledger_path());
  CHECK(refused.exit_code == 78);
  CHECK(refused.output == "deliveryctl: copy-ledger copies into a PostgreSQL ledger, and the [storage] backend of "
                            + sqlite.config_path().string()
                            + " is \"sqlite\": set backend = \"postgresql\" and url or url_file there first\n");
  // A file that is not a ledger: exit 1 with the reason, nothing copied.
  options.postgresql = true;
  daemon_process postgresql{options};
  temp_dir dir;
  write_file(dir.path() / "empty.db", "");
  auto empty = copy_ledger(postgresql.config_path(), dir.path() / "empty.db");
  CHECK(empty.exit_code == 1);
  CHECK(contains(empty.output, "empty.db is not a deliveryd ledger"));
}
