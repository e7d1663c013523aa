#include "daemon/body_limits.hpp"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <strings.h>

#include "daemon/http_common.hpp"
#include "daemon/http_server.hpp"

namespace deliveryd::daemon {

namespace {

/// An error answer given before the body is read.
struct refusal {
  int status = 400;
  const char* word = "malformed";
  std::string detail;
};

/// Answers `r` and closes the connection: the body is not read (or not all of it), and its bytes must never be
/// parsed as the next request of a keep-alive connection (a proxy in front would hand that answer to another
/// client).
void refuse(httplib::Response& res, const refusal& r) {
  send_error(res, r.status, r.word, r.detail);
  res.set_header("Connection", "close");
}

/// The answer past the limit.
refusal too_large(std::size_t max_body_bytes) {
  return {413, "body_too_large",
          "the request body is larger than the " + std::to_string(max_body_bytes) + " bytes this listener accepts"};
}

/// Why the framing headers refuse the request before its body is read, or nullopt.
std::optional<refusal> framing_refusal(const httplib::Request& req, std::size_t max_body_bytes) {
  // RFC 9110 §5.5: reject or replace. httplib keeps the NUL, but get_header_value() cuts the value there, so a
  // route would see "tok" for "tok\0…".
  for (const auto& [name, value] : req.headers)
    if (value.find('\0') != std::string::npos)
      return refusal{400, "malformed", "the value of header " + name + " holds a NUL byte"};
  if (req.is_multipart_form_data())
    return refusal{400, "malformed", "multipart bodies are not accepted here"};
  const auto lengths = req.get_header_value_count("Content-Length");
  if (req.has_header("Transfer-Encoding")
      && (strcasecmp(req.get_header_value("Transfer-Encoding").c_str(), "chunked") != 0 || lengths > 0))
    return refusal{400, "malformed", "Transfer-Encoding must be chunked, and not beside a Content-Length"};
  if (lengths == 0)
    return std::nullopt;
  const auto text = req.get_header_value("Content-Length");
  std::uint64_t length = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (lengths > 1 || text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size())
    return refusal{400, "malformed", "Content-Length must be one decimal number of bytes"};
  if (ec == std::errc::result_out_of_range || length > max_body_bytes)
    return too_large(max_body_bytes); // at once: httplib would first read and drop all the declared bytes
  return std::nullopt;
}

/// The refusal of a body whose reading failed, from what httplib left in `res.status`.
refusal read_refusal(int status, std::size_t max_body_bytes) {
  if (status == 413)
    return too_large(max_body_bytes);
  if (status == 415)
    return {415, "unsupported_encoding", "the Content-Encoding is not one this listener can undo"};
  return {400, "malformed", "the request body ended before its declared length, or a chunk was malformed"};
}

} // namespace

httplib::Server::HandlerWithContentReader with_bounded_body(std::size_t max_body_bytes,
                                                           httplib::Server::Handler handler) {
  return [max_body_bytes, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                                       const httplib::ContentReader& content) {
    if (auto bad = framing_refusal(req, max_body_bytes))
      return refuse(res, *bad);
    httplib::Request whole = req; // the handler reads req.body, as a plain route does
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      bool over = false;
      const bool complete = content([&](const char* data, std::size_t size) {
        over = size > max_body_bytes - whole.body.size(); // counts inflated bytes: a small gzip body can be huge
        if (!over)
          whole.body.append(data, size);
        return !over;
      });
      if (!over && !complete && http_server::stopping_here())
        return send_stopping(res); // the stop budget cut the body short: the client may send it again
      if (over || !complete)
        return refuse(res, over ? too_large(max_body_bytes) : read_refusal(res.status, max_body_bytes));
    }
    handler(whole, res);
  };
}

void refuse_unrouted_bodies(httplib::Server& server) {
  const auto not_found = [](const httplib::Request&, httplib::Response& res, const httplib::ContentReader&) {
    refuse(res, {404, "not_found", "there is no such resource here"});
  };
  server.Post(".*", not_found);
  server.Put(".*", not_found);
  server.Patch(".*", not_found);
  server.Delete(".*", not_found);
}

} // namespace deliveryd::daemon
