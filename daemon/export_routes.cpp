#include "daemon/export_routes.hpp"

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include <malloc.h>

#include <spdlog/spdlog.h>

#include "daemon/body_limits.hpp"
#include "daemon/export.hpp"
#include "daemon/http_common.hpp"
#include "daemon/query_params.hpp"

namespace deliveryd::daemon {

namespace {

constexpr const char* xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Bytes per write of an XLSX download.
constexpr std::size_t xlsx_piece = 256 * 1024;

using steady = std::chrono::steady_clock;

long long millis_since(steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count();
}

/// Gives the memory an export freed back to the system when it goes out of scope. An export's chunks are
/// allocated on the reading thread and on whichever listener thread serves it, and glibc keeps what each
/// thread's arena freed: without this, every listener thread would keep a few MB of its last export.
struct heap_trim {
  heap_trim() = default;
  heap_trim(const heap_trim&) = delete;
  heap_trim& operator=(const heap_trim&) = delete;
  ~heap_trim() { ::malloc_trim(0); }
};

/// A JSONL download in progress; its read connection goes back to the pool after the last row, or when the
/// response is dropped (the client went away, or the listener stops).
struct jsonl_download {
  jsonl_download(db::reader_pool::lease reader, const export_query& q, const view_context& view)
    : rows{std::move(reader), db::month_cursor{q.from, q.to, q.filter}, view}, month{core::format_month(q.month)} {}
  jsonl_download(const jsonl_download&) = delete;
  jsonl_download& operator=(const jsonl_download&) = delete;

  heap_trim trim; ///< first: runs after the members below have freed their memory
  jsonl_export rows;
  std::string month;
  std::string lines; ///< the chunk being written
  bool ahead = false; ///< `lines` holds a chunk read before the answer started, not written yet
  bool ended = false; ///< every row has been read
  steady::time_point started = steady::now();
  bool finished = false;

  ~jsonl_download() {
    if (!finished)
      spdlog::info("export abandoned: {} jsonl after {} rows", month, rows.rows());
  }

  /// Reads the next chunk into `lines`: true when there was one, false at the end, or why it could not (the
  /// ledger could not be read, or the rows could not be written out: an exception here would escape the
  /// response's content provider, outside the server's handling, and end the daemon instead of this download).
  std::variant<bool, std::string> read_chunk() {
    try {
      auto more = rows.next(lines);
      if (!more)
        return more.error().message;
      return *more;
    } catch (const std::exception& e) {
      return std::string{e.what()};
    }
  }

  /// Reads the first chunk before the answer starts, so that a ledger that cannot be read is answered 503
  /// rather than 200 cut short; the reason when it cannot be read.
  std::optional<std::string> read_ahead() {
    auto more = read_chunk();
    if (auto* why = std::get_if<std::string>(&more)) {
      spdlog::error("export read_failed: {} jsonl before the first row: {}", month, *why);
      return *why;
    }
    ahead = std::get<bool>(more);
    ended = !ahead;
    return std::nullopt;
  }

  /// One chunk to the client; false to abort the response.
  bool write_next(httplib::DataSink& sink) {
    if (!ahead && !ended) {
      auto more = read_chunk();
      if (auto* why = std::get_if<std::string>(&more)) { // the download ends cut short, as it must
        spdlog::error("export read_failed: {} jsonl after {} rows: {}", month, rows.rows(), *why);
        return false;
      }
      ended = !std::get<bool>(more);
    }
    ahead = false;
    if (ended) {
      finished = true;
      spdlog::info("export done: {} jsonl, {} rows in {} ms", month, rows.rows(), millis_since(started));
      sink.done();
      return true;
    }
    return sink.write(lines.data(), lines.size());
  }
};

std::string attachment(const std::string& filename) { return "attachment; filename=\"" + filename + "\""; }

void stream_jsonl(const ops_deps& deps, const export_query& q, db::reader_pool::lease lease, httplib::Response& res) {
  auto download = std::make_shared<jsonl_download>(std::move(lease), q, deps.view);
  if (auto failure = download->read_ahead()) {
    download->finished = true; // nothing was promised to the client
    send_error(res, 503, "unavailable", "the ledger could not be read: " + *failure);
    return;
  }
  res.set_header("Content-Disposition", attachment(export_filename(download->month, q.filter, "jsonl")));
  res.set_chunked_content_provider("application/x-ndjson", [download](std::size_t, httplib::DataSink& sink) {
    return download->write_next(sink);
  });
}

void send_xlsx(const ops_deps& deps, const export_query& q, db::reader_pool::lease lease, httplib::Response& res) {
  const auto month = core::format_month(q.month);
  const auto started = steady::now();
  // Written whole before the answer starts: a zip is only complete at its end. The read connection is held
  // while writing, and returned before the download.
  auto written = [&] {
    heap_trim trim;
    const xlsx_target target{.dir = "", .sheet_name = month, .created = core::to_millis(q.from) / 1000};
    return write_xlsx(*lease, db::month_cursor{q.from, q.to, q.filter}, deps.view, target);
  }();
  { auto done = std::move(lease); }
  if (auto* err = std::get_if<db::xlsx_error>(&written)) {
    spdlog::error("export write_failed: {} xlsx: {}", month, err->message);
    send_error(res, 503, "unavailable", "the export could not be written: " + err->message);
    return;
  }
  auto file = std::make_shared<xlsx_file>(std::move(std::get<xlsx_file>(written)));
  spdlog::info("export written: {} xlsx, {} rows, {} sheets, {} bytes in {} ms", month, file->rows(),
               file->sheets(), file->size(), millis_since(started));
  res.set_header("Content-Disposition", attachment(export_filename(month, q.filter, "xlsx")));
  res.set_content_provider(file->size(), xlsx_type,
                           [file](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             std::array<char, xlsx_piece> buffer; // on the listener thread's stack
                             const auto got = file->read(offset, std::min(length, buffer.size()), buffer.data());
                             if (got <= 0)
                               return false;
                             return sink.write(buffer.data(), static_cast<std::size_t>(got));
                           });
}

/// The export of a request's query (checked here: 400, 410): streamed JSONL, or an XLSX workbook written first.
void export_answer(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  auto query = read_export_query(req, deps);
  if (auto* bad = std::get_if<query_error>(&query)) {
    send_error(res, bad->status, bad->error, bad->detail);
    return;
  }
  auto& q = std::get<export_query>(query);
  auto lease = acquire_reader(deps, res);
  if (!lease)
    return;
  if (q.format == export_format::jsonl)
    stream_jsonl(deps, q, std::move(*lease), res);
  else
    send_xlsx(deps, q, std::move(*lease), res);
}

/// A download by ticket: the export of the query the ticket was issued for. A ticket stands alone: other
/// parameters beside it are refused, so that nobody can take one for another query.
void ticket_export_route(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  if (req.method != "GET") { // cpp-httplib routes HEAD here too: it must not spend the ticket
    send_error(res, 405, "method_not_allowed", "a download ticket is used by a GET, once; a HEAD would spend it");
    res.set_header("Allow", "GET");
    return;
  }
  if (req.params.size() != 1) {
    send_error(res, 400, "invalid_query", "a download ticket carries its own query: give ticket= alone");
    return;
  }
  auto query = deps.tickets->redeem(req.get_param_value("ticket"), deps.clock());
  if (!query) {
    send_error(res, 401, "unauthorized", "this download ticket is unknown, used or expired: ask for a new one (POST "
                                         + std::string{export_tickets_path} + ")");
    return;
  }
  httplib::Request ticketed;
  ticketed.method = "GET";
  ticketed.path = req.path;
  ticketed.params = std::move(*query);
  export_answer(deps, ticketed, res);
}

void export_route(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  if (req.has_param("ticket"))
    ticket_export_route(deps, req, res);
  else
    export_answer(deps, req, res);
}

/// POST /v1/log/export/tickets?<the export's query>: checks the query as the export would (400, 410), then
/// issues a ticket for it.
void ticket_route(const ops_deps& deps, const httplib::Request& req, httplib::Response& res) {
  auto query = read_export_query(req, deps);
  if (auto* bad = std::get_if<query_error>(&query)) {
    send_error(res, bad->status, bad->error, bad->detail);
    return;
  }
  const auto now = deps.clock();
  httplib::Params params;
  for (const auto& [name, value] : req.params)
    if (name != "ticket")
      params.emplace(name, value);
  auto ticket = deps.tickets->issue(std::move(params), now);
  if (!ticket) {
    send_error(res, 503, "overloaded", "too many downloads wait for their tickets to be used; retry in a minute",
               static_cast<int>(download_tickets::lifetime.count()));
    return;
  }
  nlohmann::json body{
    {"url", "/v1/log/export?ticket=" + *ticket},
    {"expires_at", deps.view.zone.format(now + download_tickets::lifetime)},
  };
  send_json(res, 201, dump(body));
}

} // namespace

void install_export_routes(httplib::Server& server, std::shared_ptr<const ops_deps> deps) {
  server.Get("/v1/log/export", [deps](const auto& req, auto& res) { export_route(*deps, req, res); });
  // The query is in the URL; a body, if any, is read (to keep the connection in step) and ignored.
  server.Post(export_tickets_path, with_bounded_body(4096, [deps](const auto& req, auto& res) {
    ticket_route(*deps, req, res);
  }));
}

} // namespace deliveryd::daemon
