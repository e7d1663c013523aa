#pragma once
/// Plain-text tables and number formats for a terminal: pure functions, strings in, strings out.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace deliveryd::ctl {

/// Columns a terminal needs to show UTF-8 `text`: East Asian wide characters (Hangul, CJK, full-width forms)
/// take two, combining marks none, everything else one. Invalid bytes count one each.
std::size_t display_width(std::string_view text);

/// How a column's cells line up.
enum class align {
  left,  ///< text
  right, ///< numbers
};

/// A table with a header row, columns as wide as their widest cell, two spaces between columns, and no
/// trailing blanks (the last column is not padded).
class text_table {
public:
  /// Adds a column titled `title`.
  text_table& column(std::string title, align how = align::left);
  /// Adds a row; missing cells are empty, extra cells are dropped.
  void row(std::vector<std::string> cells);
  /// True when no row was added.
  bool empty() const noexcept { return rows_.empty(); }
  /// The table, one line per row after the header, each ending in '\n'.
  std::string render() const;

private:
  std::vector<std::string> titles_;
  std::vector<align> aligns_;
  std::vector<std::vector<std::string>> rows_;
};

/// `key  value` lines with the keys padded to one width; pairs whose value is empty are left out.
std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields);

/// An integer with thousands separators: 1234567 -> "1,234,567".
std::string format_count(std::int64_t value);

/// An amount: whole amounts with thousands separators ("15,900"), others with up to 4 decimals, trailing zeros
/// dropped ("0.0316", "12.5").
std::string format_amount(double value);

/// A size in bytes for a person: "512 B", "1.5 KiB", "12.3 MiB", "2.0 GiB".
std::string format_bytes(std::uint64_t bytes);

/// The progress line of a download: "12.3 MiB received, 4.1 MiB/s"; the rate is left out before 0.1 s.
std::string format_progress(std::uint64_t bytes, double seconds);

} // namespace deliveryd::ctl
