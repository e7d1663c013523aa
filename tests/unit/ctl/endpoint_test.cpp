// Where deliveryctl finds the ops listener: [ops] of the daemon's TOML, the token file, the defaults.
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "ctl/download.hpp"
#include "ctl/endpoint.hpp"
#include "ctl/http.hpp"

using namespace deliveryd::ctl;
namespace fs = std::filesystem;

namespace {

/// A fresh folder under the system's temporary folder, removed at the end.
struct scratch {
  fs::path dir = fs::temp_directory_path() / ("ctl-endpoint-" + std::to_string(::getpid()));
  scratch() { fs::create_directories(dir); }
  ~scratch() { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream{dir / name} << text;
    return (dir / name).string();
  }
};

ops_endpoint ok(const std::variant<ops_endpoint, endpoint_error>& result) {
  if (auto* bad = std::get_if<endpoint_error>(&result))
    FAIL(bad->message);
  return std::get<ops_endpoint>(result);
}

} // namespace

TEST_CASE("endpoint: [ops] listen and the trimmed token; other sections are not read", "[ctl][endpoint]") {
  scratch s;
  const auto token = s.write("token", "  s3cret\n");
  auto e = ok(endpoint_from_toml("[ops]\nlisten = \"127.0.0.1:9191\"\ntoken_file = \"" + token
                                   + "\"\n[twilio]\nauth_token_file = \"/nonexistent/secret\"\n",
                                 "d.toml", std::nullopt));
  CHECK(e.host == "127.0.0.1");
  CHECK(e.port == 9191);
  CHECK(e.token == "s3cret");
  CHECK_FALSE(e.token_problem);
  CHECK(e.display() == "127.0.0.1:9191");
}

TEST_CASE("endpoint: wildcard addresses become loopback; IPv6 is shown in brackets", "[ctl][endpoint]") {
  CHECK(ok(endpoint_from_toml("[ops]\nlisten = \"0.0.0.0:8081\"\n", "d", std::nullopt)).host == "127.0.0.1");
  auto v6 = ok(endpoint_from_toml("[ops]\nlisten = \"[::]:8081\"\n", "d", std::nullopt));
  CHECK(v6.host == "::1");
  CHECK(v6.display() == "[::1]:8081");
  auto defaults = ok(endpoint_from_toml("[storage]\npath = \"x\"\n", "d", std::nullopt));
  CHECK(defaults.display() == "127.0.0.1:8081");
  CHECK_FALSE(defaults.token);
}

TEST_CASE("endpoint: an unreadable token file is remembered, not fatal; --token-file wins", "[ctl][endpoint]") {
  scratch s;
  auto e = ok(endpoint_from_toml("[ops]\ntoken_file = \"/nonexistent/ops_token\"\n", "d", std::nullopt));
  CHECK_FALSE(e.token);
  REQUIRE(e.token_problem);
  CHECK(e.token_problem->find("/nonexistent/ops_token cannot be read") != std::string::npos);
  const auto other = s.write("other", "from-flag");
  CHECK(ok(endpoint_from_toml("[ops]\ntoken_file = \"/nonexistent\"\n", "d", other)).token == "from-flag");
  const auto empty = s.write("empty", " \n");
  CHECK(ok(endpoint_from_toml("", "d", empty)).token_problem.value_or("").find("is empty") != std::string::npos);
}

TEST_CASE("endpoint: configuration errors name the file", "[ctl][endpoint]") {
  auto bad = [](const std::string& text) {
    auto r = endpoint_from_toml(text, "d.toml", std::nullopt);
    REQUIRE(std::holds_alternative<endpoint_error>(r));
    return std::get<endpoint_error>(r).message;
  };
  CHECK(bad("[ops]\nlisten = \"nope\"\n") == "d.toml: [ops] listen must be \"host:port\"");
  CHECK(bad("[ops]\nlisten = 8081\n") == "d.toml: [ops] listen must be \"host:port\"");
  CHECK(bad("[ops\n").rfind("d.toml: invalid TOML at line 1", 0) == 0);
}

TEST_CASE("endpoint: the file to read: --config, DELIVERYD_CONFIG, else the default if it exists",
          "[ctl][endpoint]") {
  scratch s;
  const auto file = s.write("d.toml", "[ops]\nlisten = \"127.0.0.1:7000\"\n");
  CHECK(ok(load_endpoint(file, nullptr, std::nullopt)).port == 7000);
  CHECK(ok(load_endpoint(std::nullopt, file.c_str(), std::nullopt)).port == 7000);
  auto missing = load_endpoint((s.dir / "absent.toml").string(), nullptr, std::nullopt);
  REQUIRE(std::holds_alternative<endpoint_error>(missing));
  CHECK(std::get<endpoint_error>(missing).message.find("absent.toml: cannot read deliveryd's configuration")
        != std::string::npos);
}

TEST_CASE("endpoint: query encoding and the export's file name", "[ctl][endpoint]") {
  CHECK(url_encode("cmp 42/겨울&x=1") == "cmp%2042%2F%EA%B2%A8%EC%9A%B8%26x%3D1");
  CHECK(url_encode("a-b_c.d~e") == "a-b_c.d~e");
  CHECK(attachment_name("attachment; filename=\"deliveryd-2026-11.xlsx\"") == "deliveryd-2026-11.xlsx");
  CHECK(attachment_name("attachment; filename=log.jsonl; size=3") == "log.jsonl");
  CHECK(attachment_name("attachment; filename=\"../../etc/passwd\"") == "passwd");
  CHECK_FALSE(attachment_name("attachment; filename=\"..\""));
  CHECK_FALSE(attachment_name("attachment"));
}
