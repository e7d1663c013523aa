#include "daemon/export.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace deliveryd::daemon {

namespace {

/// Column widths of the XLSX export, in header order.
const std::vector<double> xlsx_widths{24, 20, 10, 14, 20, 10, 9, 9, 18, 14, 28, 40, 16, 8, 40};

/// Removes a file by name when it goes out of scope.
struct unlink_guard {
  std::string path;
  ~unlink_guard() {
    if (!path.empty())
      ::unlink(path.c_str());
  }
};

/// Closes a descriptor when it goes out of scope, unless released.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

/// Appends a filter's words to a file name, the value reduced to [A-Za-z0-9._-].
void append_filter(std::string& name, std::string_view word, std::string_view value) {
  name += '-';
  name += word;
  name += '-';
  for (char c : value.substr(0, 64)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                       || c == '_' || c == '-';
    name += plain ? c : '_';
  }
}

/// Writes the rows into an open workbook; the number written.
std::variant<std::size_t, db::xlsx_error> write_rows(db::xlsx_writer& book, db::ledger_reader& reader,
                                                     db::month_cursor cursor, const view_context& view) {
  std::size_t count = 0;
  row_text text{view};
  db::prefetching_cursor rows{reader, std::move(cursor)};
  for (;;) {
    auto chunk = rows.next();
    if (!chunk)
      return db::xlsx_error{"the ledger could not be read: " + chunk.error().message};
    if (chunk->empty())
      return count;
    for (const auto& row : *chunk) {
      if (auto err = book.add_row(text.xlsx_cells(row)))
        return *err;
      ++count;
    }
  }
}

} // namespace

jsonl_export::jsonl_export(db::reader_pool::lease reader, db::month_cursor cursor, view_context view)
  : reader_{std::move(reader)}, text_{std::move(view)} {
  chunks_.emplace(**reader_, std::move(cursor));
}

db::result<bool> jsonl_export::next(std::string& out) {
  out.clear();
  if (!chunks_)
    return false;
  auto chunk = chunks_->next();
  if (!chunk)
    return chunk.error();
  const auto& rows = *chunk;
  if (rows.empty()) { // back to the pool as soon as the last row is read, not when the download ends
    chunks_.reset();
    reader_.reset();
    return false;
  }
  for (const auto& row : rows)
    text_.append_jsonl(out, row);
  rows_ += rows.size();
  return true;
}

xlsx_file::xlsx_file(xlsx_file&& other) noexcept
  : fd_{std::exchange(other.fd_, -1)}, size_{other.size_}, rows_{other.rows_}, sheets_{other.sheets_} {}

xlsx_file::~xlsx_file() {
  if (fd_ >= 0)
    ::close(fd_);
}

long xlsx_file::read(std::size_t offset, std::size_t length, char* buffer) const noexcept {
  const auto got = ::pread(fd_, buffer, length, static_cast<off_t>(offset));
  return static_cast<long>(got);
}

std::variant<xlsx_file, db::xlsx_error> write_xlsx(db::ledger_reader& reader, db::month_cursor cursor,
                                                   const view_context& view, const xlsx_target& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = target.dir.empty() ? fs::temp_directory_path(ec) : fs::path{target.dir};
  if (ec)
    return db::xlsx_error{"no temporary folder: " + ec.message()};
  // An unnamed file (O_TMPFILE) where the file system has them, so that a daemon killed while writing leaves
  // nothing behind; libxlsxwriter writes the workbook by name at close, and /proc/self/fd/N names it. Else a
  // named file, removed when this returns.
  fd_guard unnamed{::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)};
  std::string path = "/proc/self/fd/" + std::to_string(unnamed.fd);
  unlink_guard guard;
  if (unnamed.fd < 0 || ::access(path.c_str(), W_OK) != 0) {
    path = (dir / "deliveryd-export-XXXXXX.xlsx").string();
    const int created = ::mkstemps(path.data(), 5);
    if (created < 0)
      return db::xlsx_error{"cannot create a file in " + dir.string() + ": " + std::strerror(errno)};
    ::close(created);
    guard.path = path;
  }
  try {
    auto opened = db::xlsx_writer::open({path, dir.string(), target.sheet_name, xlsx_header(), xlsx_widths,
                                         target.max_rows, target.created});
    if (auto* err = std::get_if<db::xlsx_error>(&opened))
      return *err;
    auto& book = *std::get<std::unique_ptr<db::xlsx_writer>>(opened);
    auto written = write_rows(book, reader, std::move(cursor), view);
    if (auto* err = std::get_if<db::xlsx_error>(&written))
      return *err;
    if (auto err = book.close())
      return *err;
    const int fd = guard.path.empty() ? unnamed.release() : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      const std::string reason = std::strerror(errno);
      if (fd >= 0)
        ::close(fd);
      return db::xlsx_error{"cannot read back " + path + ": " + reason};
    }
    return xlsx_file{fd, static_cast<std::size_t>(st.st_size), std::get<std::size_t>(written), book.sheets()};
  } catch (const std::exception& e) { // no memory, no thread for the reader: this download fails, answered 503
    return db::xlsx_error{std::string{"the workbook could not be written: "} + e.what()};
  }
}

std::string export_filename(const std::string& month, const db::log_filter& filter, std::string_view extension) {
  std::string name = "deliveryd-" + month;
  if (filter.campaign)
    append_filter(name, "campaign", *filter.campaign);
  if (filter.one_time)
    append_filter(name, "one_time", *filter.one_time);
  if (filter.status)
    append_filter(name, "status", core::to_string(*filter.status));
  if (filter.medium)
    append_filter(name, "medium", core::to_string(*filter.medium));
  if (filter.contact)
    name += "-contact";
  name += '.';
  name += extension;
  return name;
}

} // namespace deliveryd::daemon
