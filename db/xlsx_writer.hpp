#pragma once
/// An XLSX workbook written row by row through libxlsxwriter in constant-memory mode: each row goes to the
/// current sheet's temporary file at once, so memory stays the same whatever the number of rows; the workbook
/// (a zip) is assembled at close. A new sheet starts when one reaches Excel's row limit.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace deliveryd::db {

/// Rows of an Excel sheet, its header row included.
inline constexpr std::size_t xlsx_max_rows = 1'048'576;

/// A date-time cell: a local wall-clock time as milliseconds since 1970-01-01T00:00 (core::zone::local_millis).
struct xlsx_datetime {
  std::int64_t local_millis = 0;
};

/// One cell: blank (nothing written), text, number, or date-time.
using xlsx_cell = std::variant<std::monostate, std::string_view, double, xlsx_datetime>;

/// Why a workbook could not be written.
struct xlsx_error {
  std::string message;
};

/// A workbook being written. Not thread-safe; one per export.
class xlsx_writer {
public:
  /// What the workbook looks like and where it goes.
  struct options {
    std::string path;                     ///< the .xlsx file, created (or replaced) at close
    std::string tmpdir;                   ///< where each sheet's rows wait until close ("" = the system's)
    std::string sheet_name;               ///< the first sheet; later ones "<name> (2)", "<name> (3)", …
    std::vector<std::string> header;      ///< the first row of every sheet, in bold
    std::vector<double> widths;           ///< column widths in characters (optional, per header column)
    std::size_t max_rows = xlsx_max_rows; ///< rows per sheet, header included (tests use a small one)
    /// The workbook's creation time (unix seconds), which libxlsxwriter also gives every file of the zip: with
    /// one, the same rows make the same bytes. 0 takes the time of writing.
    std::int64_t created = 0;
  };

  /// Starts a workbook with its first sheet and header.
  static std::variant<std::unique_ptr<xlsx_writer>, xlsx_error> open(options o);

  /// Frees an unclosed workbook without writing it (and its temporary files, which are unlinked already).
  ~xlsx_writer();
  xlsx_writer(const xlsx_writer&) = delete;
  xlsx_writer& operator=(const xlsx_writer&) = delete;

  /// Appends one row (cells beyond the header's width are ignored). Text is written as valid XML text:
  /// invalid UTF-8 is replaced and a text longer than Excel's 32,767 characters cut.
  std::optional<xlsx_error> add_row(std::span<const xlsx_cell> cells);

  /// Writes the workbook to `path`. Nothing may be added afterwards.
  std::optional<xlsx_error> close();

  /// Sheets so far.
  std::size_t sheets() const noexcept { return sheets_; }

private:
  struct impl;
  explicit xlsx_writer(std::unique_ptr<impl> self);
  std::optional<xlsx_error> start_sheet();
  std::unique_ptr<impl> self_;
  std::size_t sheets_ = 0;
};

/// Copies `text` into `out` as valid UTF-8 (invalid sequences replaced by U+FFFD), cut at a character boundary
/// to at most `max_bytes`.
void clean_text(std::string_view text, std::string& out, std::size_t max_bytes);

} // namespace deliveryd::db
