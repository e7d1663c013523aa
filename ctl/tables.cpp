#include "ctl/tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace deliveryd::ctl {

namespace {

/// Decodes one UTF-8 sequence at `text[i]`; advances `i`. Returns U+FFFD width-1 stand-in for invalid bytes.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || i + length > text.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = length == 1 ? lead : lead & (0x7F >> length);
  for (std::size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(text[i + k]);
    if ((byte & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte & 0x3F);
  }
  i += length;
  return cp;
}

bool is_wide(char32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) || (cp >= 0x3041 && cp <= 0x33FF)
         || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF)
         || (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F)
         || (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F)
         || (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

bool is_zero_width(char32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0xFE00 && cp <= 0xFE0F)
         || (cp >= 0x1160 && cp <= 0x11FF); // Hangul jamo vowels and finals join the leading consonant
}

void pad(std::string& out, std::size_t columns) { out.append(columns, ' '); }

std::string group_thousands(std::string digits) {
  const bool negative = !digits.empty() && digits.front() == '-';
  const std::size_t first = negative ? 1 : 0;
  for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > static_cast<std::ptrdiff_t>(first); i -= 3)
    digits.insert(static_cast<std::size_t>(i), 1, ',');
  return digits;
}

} // namespace

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto cp = next_code_point(text, i);
    width += is_zero_width(cp) ? 0 : is_wide(cp) ? 2 : 1;
  }
  return width;
}

text_table& text_table::column(std::string title, align how) {
  titles_.push_back(std::move(title));
  aligns_.push_back(how);
  return *this;
}

void text_table::row(std::vector<std::string> cells) {
  cells.resize(titles_.size());
  rows_.push_back(std::move(cells));
}

std::string text_table::render() const {
  std::vector<std::size_t> widths(titles_.size(), 0);
  for (std::size_t c = 0; c < titles_.size(); ++c) {
    widths[c] = display_width(titles_[c]);
    for (const auto& r : rows_)
      widths[c] = std::max(widths[c], display_width(r[c]));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::size_t gap = widths[c] - display_width(cells[c]);
      const bool last = c + 1 == cells.size();
      if (c > 0)
        text += "  ";
      if (aligns_[c] == align::right)
        pad(text, gap);
      text += cells[c];
      if (aligns_[c] == align::left && !last)
        pad(text, gap);
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text;
    out += '\n';
  };
  line(titles_);
  for (const auto& r : rows_)
    line(r);
  return out;
}

std::string render_fields(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t width = 0;
  for (const auto& [key, value] : fields)
    if (!value.empty())
      width = std::max(width, display_width(key));
  std::string out;
  for (const auto& [key, value] : fields) {
    if (value.empty())
      continue;
    out += key;
    pad(out, width - display_width(key) + 2);
    out += value;
    out += '\n';
  }
  return out;
}

std::string format_count(std::int64_t value) { return group_thousands(std::to_string(value)); }

std::string format_amount(double value) {
  if (!std::isfinite(value))
    return "-";
  const double rounded = std::round(value * 10000.0) / 10000.0;
  if (rounded == std::trunc(rounded) && std::fabs(rounded) < 9.0e15)
    return format_count(static_cast<std::int64_t>(rounded));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", rounded);
  std::string text{buf};
  text.erase(text.find_last_not_of('0') + 1);
  const auto dot = text.find('.');
  return group_thousands(text.substr(0, dot)) + text.substr(dot);
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024)
    return std::to_string(bytes) + " B";
  constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  return buf;
}

std::string format_progress(std::uint64_t bytes, double seconds) {
  auto text = format_bytes(bytes) + " received";
  if (seconds >= 0.1)
    text += ", " + format_bytes(static_cast<std::uint64_t>(static_cast<double>(bytes) / seconds)) + "/s";
  return text;
}

} // namespace deliveryd::ctl
