#include <catch2/catch.hpp>

#include "core/money.hpp"

using deliveryd::core::abs_micros;

TEST_CASE("vendor prices are summed exactly in millionths of their absolute value", "[money]") {
  CHECK(abs_micros("-0.00790") == 7900);
  CHECK(abs_micros("0.0079") == 7900);
  CHECK(abs_micros("12") == 12'000'000);
  CHECK(abs_micros("+1.5") == 1'500'000);
  CHECK(abs_micros(".5") == 500'000);
  CHECK(abs_micros("0.0000005") == 1);
  CHECK(abs_micros("0.0000004") == 0);
  CHECK_FALSE(abs_micros(""));
  CHECK_FALSE(abs_micros("-"));
  CHECK_FALSE(abs_micros("1."));
  CHECK_FALSE(abs_micros("1e5"));
  CHECK_FALSE(abs_micros("1,5"));
  CHECK_FALSE(abs_micros("99999999999999999999"));
  // The largest whole part taken (room left for six decimals and rounding) and larger ones ("...859" overflowed).
  CHECK(abs_micros("9223372036853.9999995") == 9'223'372'036'854'000'000);
  CHECK_FALSE(abs_micros("9223372036854"));
  CHECK_FALSE(abs_micros("9223372036859"));
}
