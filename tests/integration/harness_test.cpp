// The harness's own Twilio signer and form encoder against the vectors of docs/vendors.md#twilio-signature and
// the signed sample bodies in tests/data/twilio: if these fail, every callback test below is meaningless.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace it;

TEST_CASE("harness: the Twilio signer reproduces the documented vectors", "[integration][harness]") {
  SECTION("Twilio's documented vector") {
    const form_params params{{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
                             {"From", "+12349013030"}, {"To", "+18005551212"}};
    CHECK(twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
          == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
  }
  SECTION("the project's fixtures in tests/data/twilio") {
    const std::string url = "https://hooks.example.com/twilio/status?tenant=acme";
    for (const char* name : {"delivered", "failed_no_error_code", "sent", "undelivered_30003"}) {
      INFO(name);
      const auto dir = fs::path{DELIVERYD_TEST_DATA} / "twilio";
      const auto body = read_file(dir / (std::string{name} + ".form"));
      const auto signature = read_file(dir / (std::string{name} + ".sig"));
      REQUIRE_FALSE(body.empty());
      auto params = form_decode(body);
      REQUIRE(params);
      CHECK(twilio_signature("12345", url, *params) == signature);
      // Re-encoding decodes to the same parameters, so the signature still holds for what we send.
      auto again = form_decode(form_encode(*params));
      REQUIRE(again);
      CHECK(*again == *params);
    }
  }
}

TEST_CASE("harness: form encoding escapes every reserved byte", "[integration][harness]") {
  const form_params params{{"A b", "x+y&z=1/é%"}, {"Empty", ""}};
  const auto body = form_encode(params);
  CHECK(body == "A%20b=x%2By%26z%3D1%2F%C3%A9%25&Empty=");
  auto decoded = form_decode(body);
  REQUIRE(decoded);
  CHECK(*decoded == params);
  CHECK_FALSE(form_decode("a=%ZZ"));
  CHECK_FALSE(form_decode("a=%4"));
}

TEST_CASE("harness: sanitizer reports in a child's output are found, and nothing else", "[integration][harness]") {
  // The first lines as the gcc and clang runtimes print them.
  const std::string asan = "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n"
                           "READ of size 4 at 0x602000000010 thread T3\n";
  const std::string lsan = "==4242==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 24 byte(s)\n";
  const std::string ubsan = "../../daemon/views.cpp:42:17: runtime error: signed integer overflow: 2147483647 + 1\n";
  const std::string log = "2026-11-27T10:00:00.000+09:00 info deliveryd ready\n";
  CHECK(sanitizer_report(log + asan)
        == "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010");
  CHECK(sanitizer_report(log + lsan) == "==4242==ERROR: LeakSanitizer: detected memory leaks");
  CHECK(sanitizer_report(ubsan)
        == "../../daemon/views.cpp:42:17: runtime error: signed integer overflow: 2147483647 + 1");
  CHECK(sanitizer_report(log + ubsan + asan) == ubsan.substr(0, ubsan.size() - 1)); // the first report
  CHECK(sanitizer_report(log).empty());
  CHECK(sanitizer_report("").empty());
  // A log line that merely quotes the words (a rejected value, an exception text) is not a report.
  CHECK(sanitizer_report("warn intake: bad contact 'x: runtime error: y'\n").empty());
}
