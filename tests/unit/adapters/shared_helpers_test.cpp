// The adapters' shared helpers: form decoding (Twilio callbacks, Jasmin DLRs, query tokens) and the comparisons
// of signatures and secrets.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "adapters/crypto.hpp"
#include "adapters/form.hpp"

namespace ad = deliveryd::adapters;

TEST_CASE("form decoding", "[form]") {
  using params = ad::form_params;
  CHECK(ad::parse_form("") == params{});
  CHECK(ad::parse_form("a=1&b=2") == params{{"a", "1"}, {"b", "2"}});
  CHECK(ad::parse_form("a+b=c+d") == params{{"a b", "c d"}});
  CHECK(ad::parse_form("To=%2B8210%2b") == params{{"To", "+8210+"}});
  CHECK(ad::parse_form("a=%41%6a%6A") == params{{"a", "Ajj"}});
  CHECK(ad::parse_form("flag&b=") == params{{"flag", ""}, {"b", ""}});
  CHECK(ad::parse_form("a=1&&b=2&") == params{{"a", "1"}, {"b", "2"}});
  CHECK(ad::parse_form("=v") == params{{"", "v"}});
  CHECK(ad::parse_form("a=x=y") == params{{"a", "x=y"}});
  CHECK(ad::parse_form("a=1&a=2&a=1") == params{{"a", "1"}, {"a", "2"}, {"a", "1"}});
  CHECK(ad::parse_form("Body=%ED%95%9C%EA%B8%80") == params{{"Body", "\xed\x95\x9c\xea\xb8\x80"}});
  CHECK(ad::parse_form("Body=\xed\x95\x9c") == params{{"Body", "\xed\x95\x9c"}});

  SECTION("malformed escapes are refused") {
    for (const char* body : {"a=%", "a=%4", "a=%4g", "a=%g4", "a%=1", "a=1&b=%%41", "a=%-1"}) {
      INFO(body);
      CHECK_FALSE(ad::parse_form(body));
    }
  }
  SECTION("NUL bytes are refused, escaped or raw") {
    CHECK_FALSE(ad::parse_form("a=%00"));
    CHECK_FALSE(ad::parse_form("a%00=1"));
    CHECK_FALSE(ad::parse_form(std::string_view{"a=b\0c", 5}));
  }
  SECTION("invalid UTF-8 is refused") {
    for (const char* body : {"a=%FF", "a=%C3", "a=%C3%28", "a=%C0%AF", "a=%ED%A0%80", "a=%F4%90%80%80",
                             "a=%E2%82", "a=\xff", "%80=1"}) {
      INFO(body);
      CHECK_FALSE(ad::parse_form(body));
    }
  }
}

TEST_CASE("constant_time_equal compares whole strings", "[crypto][signature]") {
  CHECK(ad::constant_time_equal("", ""));
  CHECK(ad::constant_time_equal("abc", "abc"));
  CHECK_FALSE(ad::constant_time_equal("abc", "abd"));
  CHECK_FALSE(ad::constant_time_equal("xbc", "abc"));
  CHECK_FALSE(ad::constant_time_equal("abc", "abcd"));
  CHECK_FALSE(ad::constant_time_equal("", "a"));
}

TEST_CASE("a secret is compared whole, by digest", "[crypto][token]") {
  CHECK(ad::secret_matches("s3cret-token", "s3cret-token"));
  CHECK_FALSE(ad::secret_matches("s3cret-token", "s3cret-tokem"));
  CHECK_FALSE(ad::secret_matches("s3cret-token", "s3cret-token "));
  CHECK_FALSE(ad::secret_matches("s3cret-token", "s3cret"));
  CHECK_FALSE(ad::secret_matches("s3cret-token", "S3CRET-TOKEN"));
  CHECK_FALSE(ad::secret_matches("s3cret-token", ""));
  CHECK_FALSE(ad::secret_matches("", ""));
  CHECK_FALSE(ad::secret_matches("", "anything"));
  const std::string with_nul{"ab\0cd", 5};
  CHECK(ad::secret_matches(with_nul, with_nul));
  CHECK_FALSE(ad::secret_matches(with_nul, "ab"));
}

TEST_CASE("random tokens are base64url of fresh random bytes", "[crypto][token]") {
  const auto a = ad::random_token(32);
  const auto b = ad::random_token(32);
  CHECK(a.size() == 43); // 256 bits in 6-bit characters, no padding
  CHECK(a != b);
  CHECK(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
  CHECK(ad::random_token(1).size() == 2);
  CHECK(ad::random_token(3).size() == 4);
  CHECK(ad::random_token(0).empty());
}
