// deliveryd --check-config: the example configuration is valid; an unknown key is an error that names the key.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;
using namespace std::chrono_literals;

TEST_CASE("check-config: the example configuration is valid", "[integration][config]") {
  const auto example = fs::path{DELIVERYD_SOURCE_DIR} / "config" / "deliveryd.example.toml";
  auto r = run_program({DELIVERYD_BINARY, "--config", example.string(), "--check-config"}, 10s);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("valid"));
}

TEST_CASE("check-config: an unknown key fails and is named", "[integration][config]") {
  temp_dir dir;
  const auto config = dir.path() / "deliveryd.toml";
  const std::string valid = "[storage]\npath = \"" + (dir.path() / "ledger.db").string() + "\"\n\n"
                            "[webhooks]\nlisten = \"127.0.0.1:18080\"\npublic_url = \"http://127.0.0.1:18080\"\n\n"
                            "[twilio]\naccount_sid = \"AC00000000000000000000000000000000\"\n"
                            "auth_token = \"test-auth-token\"\n";
  write_file(config, valid);
  auto ok = run_program({DELIVERYD_BINARY, "--config", config.string(), "--check-config"}, 10s);
  INFO(ok.output);
  REQUIRE(ok.exit_code == 0);

  SECTION("in a section") {
    write_file(config, valid + "max_retries_typo = 3\n");
    auto r = run_program({DELIVERYD_BINARY, "--config", config.string(), "--check-config"}, 10s);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.output, Catch::Contains("max_retries_typo"));
  }
  SECTION("an unknown section") {
    write_file(config, valid + "\n[twillio]\naccount_sid = \"x\"\n");
    auto r = run_program({DELIVERYD_BINARY, "--config", config.string(), "--check-config"}, 10s);
    INFO(r.output);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.output, Catch::Contains("twillio"));
  }
  // Nothing was started: no ledger was created by a check.
  CHECK_FALSE(fs::exists(dir.path() / "ledger.db"));
}
