// The console (contract, "Console"): GET / and GET /console/<file> serve the page's files, compiled into the
// binary, without a token (they hold no data), with an ETag and gzip where the client accepts it; and the security
// headers of every answer of the ops listener.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "daemon/console_assets.hpp"
#include "daemon/console_routes.hpp"
#include "daemon/http_common.hpp"

namespace deliveryd::daemon {

namespace {

/// Nothing but the listener itself may run scripts, style the page, be fetched or framed (no inline script or
/// style at all): a value that reached a page some other way cannot become code.
constexpr const char* content_security_policy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const console_asset* find_asset(std::string_view name) {
  const auto assets = console_assets();
  auto it = std::find_if(assets.begin(), assets.end(), [&](const console_asset& a) { return a.name == name; });
  return it == assets.end() ? nullptr : &*it;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

} // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  // gzip (or x-gzip) named with a q above 0 takes it; named with q=0 refuses it; else "*" decides (RFC 9110, 12.5.3).
  std::optional<bool> named, any;
  for_each_item(accept_encoding, [&](std::string_view item) {
    const auto semi = item.find(';');
    const auto coding = trim_blanks(item.substr(0, semi));
    bool refused = false;
    if (semi != std::string_view::npos) {
      auto params = trim_blanks(item.substr(semi + 1));
      if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
        const auto q = trim_blanks(params.substr(2));
        refused = !q.empty() && q.find_first_not_of("0.") == std::string_view::npos; // 0, 0.0, 0.000
      }
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip"))
      named = !refused;
    else if (coding == "*")
      any = !refused;
  });
  return named ? *named : any.value_or(false);
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  bool match = false;
  for_each_item(if_none_match, [&](std::string_view item) {
    if (item.starts_with("W/")) // If-None-Match compares weakly (RFC 9110, 13.1.2)
      item.remove_prefix(2);
    match = match || item == "*" || item == etag;
  });
  return match;
}

void add_security_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy", content_security_policy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY"); // frame-ancestors for browsers that predate it
  res.set_header("Cross-Origin-Resource-Policy", "same-origin");
}

bool is_console_path(std::string_view path) { return path == "/" || path.starts_with("/console/"); }

void serve_console_file(std::string_view name, const httplib::Request& req, httplib::Response& res) {
  const auto* asset = find_asset(name);
  if (asset == nullptr) {
    send_error(res, 404, "not_found", "the console has no file of that name");
    return;
  }
  const bool gzip = accepts_gzip(header(req, "Accept-Encoding"));
  // One ETag per representation: the gzip bytes are another entity than the plain ones.
  const std::string etag = "\"" + std::string{asset->etag} + (gzip ? "-gz\"" : "\"");
  res.set_header("ETag", etag);
  res.set_header("Cache-Control", "no-cache"); // revalidate every time: an upgrade brings new files
  res.set_header("Vary", "Accept-Encoding");
  if (etag_matches(header(req, "If-None-Match"), etag)) {
    res.status = 304;
    return;
  }
  const auto body = gzip ? asset->gzip() : asset->content();
  if (gzip)
    res.set_header("Content-Encoding", "gzip");
  res.status = 200;
  // A provider of known length: cpp-httplib compresses a body set with set_content itself (and with brotli at its
  // slowest setting), but leaves a provider's bytes as they are.
  res.set_content_provider(body.size(), std::string{asset->content_type},
                           [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             return sink.write(body.data() + offset, std::min(length, body.size() - offset));
                           });
}

void install_console_routes(httplib::Server& server) {
  server.Get("/", [](const auto& req, auto& res) { serve_console_file("index.html", req, res); });
  server.Get(R"(/console/([^/]+))", [](const auto& req, auto& res) {
    serve_console_file(req.matches[1].str(), req, res);
  });
}

} // namespace deliveryd::daemon
