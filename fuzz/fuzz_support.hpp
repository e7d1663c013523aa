#pragma once
/// What every fuzz target shares: a check that turns a broken invariant into a libFuzzer finding, the fixed zone
/// and clock the parsers are called with, and small text predicates. Header-only; fuzz targets only.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "core/reconcile.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "core/utf8.hpp"

namespace deliveryd::fuzz {

/// Stops the run with a message when an invariant does not hold: libFuzzer reports the abort as a crash and
/// keeps the input that caused it.
#define FUZZ_CHECK(condition)                                                                                    \
  do {                                                                                                           \
    if (!(condition)) {                                                                                          \
      std::fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #condition);                 \
      std::abort();                                                                                              \
    }                                                                                                            \
  } while (false)

/// The bytes libFuzzer hands over, as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// The zone the daemon's example configuration uses (and SENS writes its times in).
inline const core::zone& seoul() {
  static const auto zone = core::zone::locate("Asia/Seoul");
  FUZZ_CHECK(zone.has_value()); // no tz database: the run would test nothing that matters
  return *zone;
}

/// UTC, to print instants in a zone without offsets.
inline const core::zone& utc() {
  static const auto zone = core::zone::locate("UTC");
  FUZZ_CHECK(zone.has_value());
  return *zone;
}

/// A fixed "now" (2026-11-27T10:00:00+09:00), so that a finding replays exactly.
inline core::timestamp fixed_now() noexcept { return core::from_millis(1'795'741'200'000); }

/// True when `text` is well-formed UTF-8.
inline bool valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const auto length = core::utf8_sequence(text, i);
    if (length == 0)
      return false;
    i += length;
  }
  return true;
}

/// True when `text` is "+" followed by one or more ASCII digits (E.164 as libphonenumber formats it).
inline bool plus_digits(std::string_view text) noexcept {
  if (text.size() < 2 || text[0] != '+')
    return false;
  for (std::size_t i = 1; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9')
      return false;
  return true;
}

/// What the contract says of any vendor's mapped event: pending and sent carry no code and no category; a failure
/// carries the vendor's code after `code_prefix` ("twilio:"), a category and a reason; uncertain is always ME09;
/// no vendor decides an exclusion. Targets add what their vendor narrows further.
inline void check_vendor_outcome(const core::event& e, std::string_view code_prefix) {
  switch (e.outcome) {
    case core::status::pending:
    case core::status::sent:
      FUZZ_CHECK(e.code.empty() && e.cat == core::category::none);
      break;
    case core::status::failed:
      FUZZ_CHECK(e.code.starts_with(code_prefix) && e.code.size() > code_prefix.size());
      FUZZ_CHECK(e.cat != core::category::none && !e.reason.empty());
      break;
    case core::status::uncertain:
      FUZZ_CHECK(e.code == "ME09");
      break;
    case core::status::excluded:
      FUZZ_CHECK(false);
  }
}

/// The content of a file of tests/data (the targets' fixed keys and known-good payloads), without surrounding
/// white space; stops the run when it cannot be read.
inline std::string test_data(const char* relative) {
  std::ifstream in{std::string{DELIVERYD_TEST_DATA} + "/" + relative, std::ios::binary};
  if (!in) {
    std::fprintf(stderr, "cannot read %s/%s\n", DELIVERYD_TEST_DATA, relative);
    std::abort();
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::string{core::trim(text.str())};
}

} // namespace deliveryd::fuzz
