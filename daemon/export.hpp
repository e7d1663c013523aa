#pragma once
/// Month exports: the day log's rows of a month, oldest first (requested_at, then id), as JSONL lines or as an
/// XLSX workbook. Both carry exactly the day log's fields (row_text renders what row_view gives).

#include <cstddef>
#include <optional>
#include <string>
#include <variant>

#include "db/export.hpp"
#include "db/reader_pool.hpp"
#include "db/xlsx_writer.hpp"
#include "daemon/row_text.hpp"
#include "daemon/views.hpp"

namespace deliveryd::daemon {

/// A month being exported as JSONL, chunk by chunk, the next chunk read ahead on a thread while this one is
/// rendered and sent. It holds its read connection until the last row has been read or until it is destroyed
/// (the client went away).
class jsonl_export {
public:
  /// Starts reading `cursor`'s rows through `reader`, to be rendered with `view`.
  jsonl_export(db::reader_pool::lease reader, db::month_cursor cursor, view_context view);

  /// Replaces `out` with the next chunk's lines (one row_view object and '\n' each); false when every row has
  /// been given, and then the read connection goes back to its pool; an error when the ledger cannot be read.
  db::result<bool> next(std::string& out);

  /// Rows given so far.
  std::size_t rows() const noexcept { return rows_; }

private:
  // Declared in this order so that the reading thread stops before its connection goes back.
  std::optional<db::reader_pool::lease> reader_;
  std::optional<db::prefetching_cursor> chunks_;
  row_text text_;
  std::size_t rows_ = 0;
};

/// An XLSX export written to its file, open for reading. The file is unlinked already: it disappears when this
/// closes it, whether the download finished or not.
class xlsx_file {
public:
  xlsx_file(int fd, std::size_t size, std::size_t rows, std::size_t sheets) noexcept
    : fd_{fd}, size_{size}, rows_{rows}, sheets_{sheets} {}
  xlsx_file(xlsx_file&& other) noexcept;
  xlsx_file& operator=(xlsx_file&&) = delete;
  xlsx_file(const xlsx_file&) = delete;
  xlsx_file& operator=(const xlsx_file&) = delete;
  ~xlsx_file();

  /// Reads up to `length` bytes at `offset` into `buffer`; the number read, or -1 on an error.
  long read(std::size_t offset, std::size_t length, char* buffer) const noexcept;

  /// The file's size in bytes.
  std::size_t size() const noexcept { return size_; }
  /// Sends written, headers not counted.
  std::size_t rows() const noexcept { return rows_; }
  /// Sheets written.
  std::size_t sheets() const noexcept { return sheets_; }

private:
  int fd_ = -1;
  std::size_t size_ = 0, rows_ = 0, sheets_ = 0;
};

/// Where and how to write an XLSX export.
struct xlsx_target {
  std::string dir;                           ///< folder of the temporary files ("" = the system's temp folder)
  std::string sheet_name;                    ///< "2026-11"; more sheets are "2026-11 (2)", …
  std::size_t max_rows = db::xlsx_max_rows;  ///< rows per sheet, header included
  /// The workbook's creation time (unix seconds; 0 = now). The export gives the first instant of its month, so
  /// that exporting the same rows again gives the same bytes.
  std::int64_t created = 0;
};

/// Writes every row of `cursor` as an XLSX workbook into a temporary file of `target.dir`, reading through
/// `reader`; the file is open and already unlinked when this returns, and removed on any error.
std::variant<xlsx_file, db::xlsx_error> write_xlsx(db::ledger_reader& reader, db::month_cursor cursor,
                                                   const view_context& view, const xlsx_target& target);

/// "deliveryd-YYYY-MM[-<filter>-<value>…].<extension>" with only [A-Za-z0-9._-] in the values; a contact
/// filter appears as "-contact" alone, so that a phone number or address never lands in a file name.
std::string export_filename(const std::string& month, const db::log_filter& filter, std::string_view extension);

} // namespace deliveryd::daemon
