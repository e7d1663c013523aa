#include <catch2/catch.hpp>

#include <set>

#include "daemon/console_assets.hpp"
#include "daemon/console_routes.hpp"
#include "daemon/http_common.hpp"

namespace dd = deliveryd::daemon;

TEST_CASE("console: Accept-Encoding takes gzip when named with q above 0, or by a star", "[console]") {
  CHECK(dd::accepts_gzip("gzip"));
  CHECK(dd::accepts_gzip("gzip, deflate, br, zstd")); // Chromium
  CHECK(dd::accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  CHECK(dd::accepts_gzip("x-gzip"));
  CHECK(dd::accepts_gzip("*"));
  CHECK(dd::accepts_gzip(" deflate , * ;q=0.1"));
  CHECK_FALSE(dd::accepts_gzip(""));
  CHECK_FALSE(dd::accepts_gzip("identity"));
  CHECK_FALSE(dd::accepts_gzip("br, deflate"));
  CHECK_FALSE(dd::accepts_gzip("gzip;q=0"));
  CHECK_FALSE(dd::accepts_gzip("gzip;q=0.000, *"));   // named and refused: the star does not bring it back
  CHECK_FALSE(dd::accepts_gzip("*;q=0"));
  CHECK_FALSE(dd::accepts_gzip("gzipped, xgzip"));    // whole tokens only
}

TEST_CASE("console: If-None-Match names a tag, weakly, in a list, or is a star", "[console]") {
  CHECK(dd::etag_matches("\"abc\"", "\"abc\""));
  CHECK(dd::etag_matches("W/\"abc\"", "\"abc\""));
  CHECK(dd::etag_matches("\"x\", \"abc\"", "\"abc\""));
  CHECK(dd::etag_matches("*", "\"abc\""));
  CHECK_FALSE(dd::etag_matches("", "\"abc\""));
  CHECK_FALSE(dd::etag_matches("\"abcd\"", "\"abc\""));
  CHECK_FALSE(dd::etag_matches("abc", "\"abc\""));
}

TEST_CASE("console: the embedded files have names, types, tags and their gzip form", "[console]") {
  std::set<std::string> names;
  for (const auto& asset : dd::console_assets()) {
    INFO(asset.name);
    names.emplace(asset.name);
    CHECK(asset.size > 0);
    CHECK(asset.content().size() == asset.size);
    CHECK(asset.gzip().substr(0, 2) == "\x1f\x8b"); // the gzip magic
    CHECK(asset.etag.size() == 20);
    CHECK_FALSE(asset.content_type.empty());
  }
  for (const char* expected : {"index.html", "console.js", "console.css", "icon.svg"})
    CHECK(names.count(expected) == 1);
  CHECK(dd::is_console_path("/"));
  CHECK(dd::is_console_path("/console/console.js"));
  CHECK_FALSE(dd::is_console_path("/console"));
  CHECK_FALSE(dd::is_console_path("/v1/codes"));
  CHECK_FALSE(dd::is_console_path("/index.html"));
}

TEST_CASE("http: brotli is taken out of Accept-Encoding, the rest kept", "[http]") {
  CHECK(dd::without_brotli("gzip, deflate, br, zstd") == "gzip, deflate, zstd");
  CHECK(dd::without_brotli("br;q=1.0, gzip;q=0.8") == "gzip;q=0.8");
  CHECK(dd::without_brotli("br") == "");
  CHECK(dd::without_brotli("gzip") == "gzip");
  CHECK(dd::without_brotli(" gzip ,br,  *;q=0.1") == "gzip, *;q=0.1");
  CHECK(dd::accepts_gzip(dd::without_brotli("gzip, deflate, br, zstd")));
}
