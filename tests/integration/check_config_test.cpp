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

TEST_CASE("check-config: the packaged configuration is valid, with no vendor enabled", "[integration][config]") {
  // systemd/deliveryd.toml is /etc/deliveryd/deliveryd.toml in the package; its ops token is where the unit's
  // LoadCredential= puts it, so the test points that path at a token file of its own.
  temp_dir dir;
  auto text = read_file(fs::path{DELIVERYD_SOURCE_DIR} / "systemd" / "deliveryd.toml");
  const std::string credentials = "/run/credentials/deliveryd.service/";
  for (auto at = text.find(credentials); at != std::string::npos; at = text.find(credentials, at))
    text.replace(at, credentials.size(), (dir.path() / "").string());
  write_file(dir.path() / "ops_token", "packaged-config-token\n");
  write_file(dir.path() / "deliveryd.toml", text);
  auto r = run_program({DELIVERYD_BINARY, "--config", (dir.path() / "deliveryd.toml").string(), "--check-config"},
                       10s);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("valid"));
  // No vendor section is left uncommented: a fresh install enables none.
  for (const auto* section : {"\n[twilio]", "\n[email]", "\n[carrier]", "\n[kakao]"})
    CHECK(text.find(section) == std::string::npos);
}

TEST_CASE("start-up: a second deliveryd on the same listen addresses refuses to start and names the address",
          "[integration][config]") {
  // cpp-httplib's default socket options set SO_REUSEPORT: a second daemon (the service and one started by hand
  // with its configuration, say) would share the ports, and the kernel would hand it half of the callbacks.
  daemon_process first;
  auto second = run_program({DELIVERYD_BINARY, "--config", first.config_path().string()}, 20s);
  INFO(second.output);
  CHECK(second.exit_code != 0);
  CHECK_THAT(second.output, Catch::Contains("bind_failed"));
  CHECK_THAT(second.output, Catch::Contains("127.0.0.1:" + std::to_string(first.webhooks_port())));
  // The first one goes on answering.
  auto ops = first.ops_client();
  get_json(*ops, "/healthz");
}
