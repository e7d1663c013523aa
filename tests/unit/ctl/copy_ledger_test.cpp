// deliveryctl copy-ledger without a database: its progress line, and the configurations it refuses before it
// connects to anything (the copy itself: tests/unit/db/copy_ledger_test.cpp and the integration tests).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ctl/copy_ledger.hpp"

using namespace deliveryd::ctl;

namespace {

/// Runs copy-ledger of `from` with the configuration text `toml`; the exit status, and what it wrote.
struct ran {
  int status;
  std::string out, err;
};

ran run_with(const std::string& toml, const std::string& from = "/nonexistent/ledger.db") {
  auto pattern = (std::filesystem::temp_directory_path() / "deliveryd-ctl-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  const std::filesystem::path dir{pattern};
  std::ofstream{dir / "deliveryd.toml"} << toml;
  std::ostringstream out, err;
  console io{out, err, false};
  const int status = run_copy_ledger(copy_ledger_command{from}, (dir / "deliveryd.toml").string(), io);
  std::filesystem::remove_all(dir);
  return {status, out.str(), err.str()};
}

} // namespace

TEST_CASE("copy-ledger: the progress line", "[ctl][copy-ledger]") {
  CHECK(copy_progress_line(12000, 50000, 40000, 150000)
        == "copy-ledger: 12,000 of 50,000 sends copied (24 %), 40,000 of 150,000 events");
  CHECK(copy_progress_line(0, 0, 0, 0) == "copy-ledger: 0 of 0 sends copied (100 %), 0 of 0 events");
}

TEST_CASE("copy-ledger: a configuration on SQLite, or one that cannot be read, is exit 78 and connects nowhere",
          "[ctl][copy-ledger]") {
  auto sqlite = run_with("[storage]\npath = \"/var/lib/deliveryd/ledger.db\"\n");
  CHECK(sqlite.status == exit_config);
  CHECK(sqlite.out.empty());
  CHECK_THAT(sqlite.err, Catch::StartsWith("deliveryctl: copy-ledger copies into a PostgreSQL ledger, and the "
                                           "[storage] backend of ")
                           && Catch::EndsWith("deliveryd.toml is \"sqlite\": set backend = \"postgresql\" and url "
                                              "or url_file there first\n"));
  auto bad = run_with("[storage]\nbackend = \"postgresql\"\n");
  CHECK(bad.status == exit_config);
  CHECK_THAT(bad.err, Catch::Contains("[storage] backend is \"postgresql\", which needs url or url_file"));
  std::ostringstream out, err;
  console io{out, err, false};
  CHECK(run_copy_ledger(copy_ledger_command{"ledger.db"}, "/nonexistent/deliveryd.toml", io) == exit_config);
  CHECK_THAT(err.str(), Catch::Contains("/nonexistent/deliveryd.toml: cannot read the configuration file"));
}

TEST_CASE("copy-ledger: a source that cannot be copied is exit 1 with the reason",
          "[ctl][copy-ledger]") {
  auto r = run_with("[storage]\nbackend = \"postgresql\"\nurl = \"postgresql://deliveryd@127.0.0.1:1/ledger\"\n",
                    "/nonexistent/ledger.db");
  CHECK(r.status == exit_failed);
  CHECK(r.out.empty());
  CHECK(r.err == "deliveryctl: /nonexistent/ledger.db: no such SQLite ledger (not a file)\n");
}
