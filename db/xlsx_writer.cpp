#include "db/xlsx_writer.hpp"

#include <cstdio>
#include <dlfcn.h>
#include <stdio_ext.h>

#include <xlsxwriter.h>

#include "core/utf8.hpp"

namespace deliveryd::db {

namespace {

/// The stdio buffer of each sheet's temporary file.
constexpr std::size_t tmpfile_buffer_bytes = 256 * 1024;

/// Excel keeps at most this many characters in a cell.
constexpr std::size_t max_text_bytes = 32767;

/// Days from Excel's epoch (1899-12-30 in its 1900 system) to 1970-01-01.
constexpr double excel_unix_epoch = 25569.0;
constexpr double millis_per_day = 86'400'000.0;

const char* error_text(lxw_error e) { return lxw_strerror(e); }

} // namespace

// ---------------------------------------------------------------------------------------------- zip level
// libxlsxwriter packs the workbook with minizip at zlib's default level (6) and has no option to change it. For
// an export that is the larger half of the time: a month of 833k rows is 463 MB of sheet XML, which deflates in
// 5.5 s at level 6 and 1.8 s at level 1, for a file 22 % larger (62 MB instead of 51 MB). The export is read
// once, over a local link, so speed wins. This definition takes the place of minizip's for libxlsxwriter (the
// executable's symbols come first in the dynamic linker's lookup) and hands every call on to minizip with the
// fastest level. Should it ever not be used (a static libxlsxwriter with its own minizip), exports stay correct
// and only get slower; db_tests reads the level back from an export to keep that visible.
extern "C" int zipOpenNewFileInZip4_64(void* file, const char* filename, const void* zipfi, const void* extra_local,
                                       unsigned size_extra_local, const void* extra_global, unsigned size_extra_global,
                                       const char* comment, int method, int level, int raw, int window_bits,
                                       int mem_level, int strategy, const char* password, unsigned long crc,
                                       unsigned long version_made_by, unsigned long flag_base, int zip64) {
  using open_fn = int (*)(void*, const char*, const void*, const void*, unsigned, const void*, unsigned,
                          const char*, int, int, int, int, int, int, const char*, unsigned long, unsigned long,
                          unsigned long, int);
  static const auto next = reinterpret_cast<open_fn>(::dlsym(RTLD_NEXT, "zipOpenNewFileInZip4_64"));
  if (!next)
    return -102; // ZIP_INTERNALERROR: no minizip behind us, so libxlsxwriter reports a zip error
  constexpr int fastest = 1; // Z_BEST_SPEED
  if (method != 0 && level != 0)
    level = fastest;
  return next(file, filename, zipfi, extra_local, size_extra_local, extra_global, size_extra_global, comment, method,
              level, raw, window_bits, mem_level, strategy, password, crc, version_made_by, flag_base, zip64);
}

void clean_text(std::string_view text, std::string& out, std::size_t max_bytes) {
  std::size_t i = 0;
  if (text.size() <= max_bytes) { // the usual case: valid and short enough, copied as it is
    while (i < text.size()) {
      const std::size_t len = core::utf8_sequence(text, i);
      if (len == 0)
        break;
      i += len;
    }
    if (i == text.size()) {
      out.assign(text);
      return;
    }
    i = 0;
  }
  out.clear();
  while (i < text.size()) {
    const std::size_t len = core::utf8_sequence(text, i);
    const std::string_view piece = len ? text.substr(i, len) : std::string_view{"\xEF\xBF\xBD"};
    if (out.size() + piece.size() > max_bytes)
      break;
    out += piece;
    i += len ? len : 1;
  }
}

struct xlsx_writer::impl {
  options opts;
  lxw_workbook* book = nullptr;
  lxw_worksheet* sheet = nullptr;
  lxw_format* bold = nullptr;
  lxw_format* datetime = nullptr;
  lxw_row_t row = 0; ///< the next row of the current sheet
  std::string text;  ///< scratch for a cell's cleaned, NUL-terminated text
  std::vector<std::unique_ptr<char[]>> buffers; ///< stdio buffers of the sheets' temporary files

  ~impl() {
    if (book)
      lxw_workbook_free(book);
  }
};

xlsx_writer::xlsx_writer(std::unique_ptr<impl> self) : self_{std::move(self)} {}
xlsx_writer::~xlsx_writer() = default;

std::variant<std::unique_ptr<xlsx_writer>, xlsx_error> xlsx_writer::open(options o) {
  if (o.max_rows < 2)
    return xlsx_error{"a sheet needs room for its header and one row"};
  auto self = std::make_unique<impl>();
  self->opts = std::move(o);
  lxw_workbook_options lxw{};
  lxw.constant_memory = LXW_TRUE;
  lxw.tmpdir = self->opts.tmpdir.empty() ? nullptr : self->opts.tmpdir.data();
  self->book = workbook_new_opt(self->opts.path.c_str(), &lxw);
  if (!self->book)
    return xlsx_error{"libxlsxwriter could not start a workbook"};
  if (self->opts.created != 0) {
    lxw_doc_properties properties{};
    properties.created = static_cast<time_t>(self->opts.created);
    if (workbook_set_properties(self->book, &properties) != LXW_NO_ERROR) // self frees the book
      return xlsx_error{"libxlsxwriter could not set the workbook's creation time"};
  }
  self->bold = workbook_add_format(self->book);
  format_set_bold(self->bold);
  self->datetime = workbook_add_format(self->book);
  format_set_num_format(self->datetime, "yyyy-mm-dd hh:mm:ss");
  std::unique_ptr<xlsx_writer> out{new xlsx_writer{std::move(self)}};
  if (auto err = out->start_sheet())
    return *err;
  return out;
}

std::optional<xlsx_error> xlsx_writer::start_sheet() {
  auto& s = *self_;
  ++sheets_;
  std::string name = s.opts.sheet_name;
  if (sheets_ > 1)
    name += " (" + std::to_string(sheets_) + ")";
  s.sheet = workbook_add_worksheet(s.book, name.c_str());
  if (!s.sheet)
    return xlsx_error{"libxlsxwriter could not add the sheet \"" + name + "\""};
  // The sheet's rows go to a temporary file a few dozen bytes at a time: a larger buffer than stdio's 4 KiB
  // saves most of the write calls. It must live until workbook_close closes that file.
  if (s.sheet->optimize_tmpfile) {
    auto& buffer = s.buffers.emplace_back(std::make_unique<char[]>(tmpfile_buffer_bytes));
    std::setvbuf(s.sheet->optimize_tmpfile, buffer.get(), _IOFBF, tmpfile_buffer_bytes);
    // Only this thread writes the file: stdio's per-call lock is pure cost (several per cell).
    __fsetlocking(s.sheet->optimize_tmpfile, FSETLOCKING_BYCALLER);
  }
  // Column options go before the first row in constant-memory mode.
  for (std::size_t c = 0; c < s.opts.widths.size() && c < s.opts.header.size(); ++c)
    worksheet_set_column(s.sheet, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c), s.opts.widths[c], nullptr);
  worksheet_freeze_panes(s.sheet, 1, 0);
  s.row = 0;
  for (std::size_t c = 0; c < s.opts.header.size(); ++c)
    if (auto e = worksheet_write_string(s.sheet, 0, static_cast<lxw_col_t>(c), s.opts.header[c].c_str(), s.bold))
      return xlsx_error{std::string{"header: "} + error_text(e)};
  s.row = 1;
  return std::nullopt;
}

std::optional<xlsx_error> xlsx_writer::add_row(std::span<const xlsx_cell> cells) {
  auto& s = *self_;
  if (!s.book)
    return xlsx_error{"the workbook is closed"};
  if (s.row >= s.opts.max_rows)
    if (auto err = start_sheet())
      return err;
  const auto width = std::min(cells.size(), s.opts.header.size());
  for (std::size_t c = 0; c < width; ++c) {
    const auto col = static_cast<lxw_col_t>(c);
    lxw_error e = LXW_NO_ERROR;
    if (const auto* text = std::get_if<std::string_view>(&cells[c])) {
      // An absent value is a blank cell, not an empty string: less XML to write and to compress (about a third
      // of the cells of a sent or pending row), and what a spreadsheet user expects for "none".
      if (text->empty())
        continue;
      clean_text(*text, s.text, max_text_bytes);
      e = worksheet_write_string(s.sheet, s.row, col, s.text.c_str(), nullptr);
    } else if (const auto* number = std::get_if<double>(&cells[c])) {
      e = worksheet_write_number(s.sheet, s.row, col, *number, nullptr);
    } else if (const auto* when = std::get_if<xlsx_datetime>(&cells[c])) {
      const double serial = static_cast<double>(when->local_millis) / millis_per_day + excel_unix_epoch;
      e = worksheet_write_number(s.sheet, s.row, col, serial, s.datetime);
    }
    if (e != LXW_NO_ERROR)
      return xlsx_error{"row " + std::to_string(s.row) + ": " + error_text(e)};
  }
  ++s.row;
  return std::nullopt;
}

std::optional<xlsx_error> xlsx_writer::close() {
  auto& s = *self_;
  if (!s.book)
    return xlsx_error{"the workbook is closed"};
  auto* book = s.book;
  s.book = nullptr; // workbook_close frees it, whatever it answers
  if (auto e = workbook_close(book); e != LXW_NO_ERROR)
    return xlsx_error{std::string{"writing "} + s.opts.path + ": " + error_text(e)};
  return std::nullopt;
}

} // namespace deliveryd::db
